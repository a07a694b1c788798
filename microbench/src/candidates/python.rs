//! The Python candidates: NumPy's `A @ B`, `torch.matmul` on the CPU, and
//! the naive triple loop over Python lists; for attention, the hand-written
//! form in NumPy and in PyTorch (`softmax(Q Kᵀ / √d) V`, the score matrix
//! stored) and PyTorch's fused `scaled_dot_product_attention`, on the CPU.
//!
//! All of them run one generated script (`py/bench.py`, written to the job's
//! work dir) under the toolchain's Python, with the run's parameters as JSON
//! on its stdin; it prints one JSON line that becomes the [`Reply`]. The
//! script builds its inputs from the seed and its kernels from the
//! [`Problem`] only (sizes, dtype, layout, loop order), never from user code.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{Backend, Candidate};
use crate::job::{Job, Measurement, Reply};
use crate::problem::{DType, Operation, Problem};
use crate::toolchain::{Python, Toolchain};

/// The benchmark script, written to the work dir as [`SCRIPT_NAME`].
pub const SCRIPT: &str = include_str!("py/bench.py");
/// Its file name (chosen not to shadow any module: the script's directory
/// is first on `sys.path`).
pub const SCRIPT_NAME: &str = "gemmscope_py_bench.py";

/// Flags for every Python process gemmscope starts — the toolchain probe
/// must use the same ones (through [`python_command`]) so that what the
/// probe finds importable is what the benchmark can import.
///
/// - `-E` ignores `PYTHON*` environment variables, above all `PYTHONPATH`
///   and `PYTHONSTARTUP`: an editor or `.env` file may point `PYTHONPATH` at
///   the user's project, and a project folder named `numpy` or a stray
///   `json.py` there would then be imported and run — opening a file must
///   never run its code. Virtual environments and conda keep working (they
///   are found from the interpreter's path, not from the environment).
///   The cost: an install reachable only through `PYTHONPATH` (some HPC
///   module systems) is not seen, and the probe says so consistently.
/// - No `-s`, no `-I`: the user site-packages (`pip install --user numpy`)
///   stays visible; it is the user's installed libraries, not their code.
///   (`-I` would imply `-s`.) No `-S`: that would hide site-packages.
/// - `-B`: do not write `__pycache__` next to imported modules; the
///   benchmark writes nothing outside its private work dir.
///
/// The script's own directory (the private work dir, holding only the
/// script) is first on `sys.path`; the current directory is not added.
pub const PYTHON_FLAGS: &[&str] = &["-E", "-B"];

/// A `Command` for `python` with [`PYTHON_FLAGS`]; append the script or
/// `-c CODE`.
pub fn python_command(python: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(PYTHON_FLAGS);
    cmd
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Numpy,
    TorchCpu,
    Loop,
    /// Attention written out in NumPy.
    NumpyAttention,
    /// Attention written out in PyTorch (CPU).
    TorchAttention,
    /// `torch.nn.functional.scaled_dot_product_attention` (CPU).
    TorchSdpa,
}

impl Kind {
    fn attention(self) -> bool {
        matches!(
            self,
            Kind::NumpyAttention | Kind::TorchAttention | Kind::TorchSdpa
        )
    }

    fn torch(self) -> bool {
        matches!(
            self,
            Kind::TorchCpu | Kind::TorchAttention | Kind::TorchSdpa
        )
    }
}

/// One Python candidate.
pub struct PyCandidate {
    kind: Kind,
}

/// NumPy `A @ B` (its BLAS for f32/f64, its own loop for f16).
pub static NUMPY: PyCandidate = PyCandidate { kind: Kind::Numpy };
/// `torch.matmul` on the CPU.
pub static TORCH_CPU: PyCandidate = PyCandidate {
    kind: Kind::TorchCpu,
};
/// The naive triple loop over Python lists.
pub static PYTHON_LOOP: PyCandidate = PyCandidate { kind: Kind::Loop };
/// Attention written out in NumPy: `S = Q @ Kᵀ / √d`, a max-subtracted
/// exp / sum softmax, `S @ V`.
pub static NUMPY_ATTENTION: PyCandidate = PyCandidate {
    kind: Kind::NumpyAttention,
};
/// The same written out in PyTorch on the CPU (`torch.softmax`).
pub static TORCH_ATTENTION: PyCandidate = PyCandidate {
    kind: Kind::TorchAttention,
};
/// PyTorch's fused `scaled_dot_product_attention` on the CPU.
pub static TORCH_SDPA: PyCandidate = PyCandidate {
    kind: Kind::TorchSdpa,
};

/// A PyTorch version's (major, minor).
fn torch_version(version: &str) -> (u32, u32) {
    let mut it = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Whether `torch.matmul` on the CPU has an f16 kernel in this version
/// (PyTorch 2.1 and later; older versions raise "not implemented for 'Half'").
fn torch_has_cpu_f16(version: &str) -> bool {
    torch_version(version) >= (2, 1)
}

/// Whether `torch.nn.functional.scaled_dot_product_attention` exists
/// (PyTorch 2.0 and later).
fn torch_has_sdpa(version: &str) -> bool {
    torch_version(version) >= (2, 0)
}

impl PyCandidate {
    fn python<'a>(&self, tc: &'a Toolchain) -> Result<&'a Python, String> {
        tc.python
            .as_ref()
            .ok_or_else(|| "no Python 3 interpreter found (python3 on PATH)".to_string())
    }
}

impl Candidate for PyCandidate {
    fn id(&self) -> &'static str {
        match self.kind {
            Kind::Numpy => "numpy",
            Kind::TorchCpu => "torch-cpu",
            Kind::Loop => "python-loop",
            Kind::NumpyAttention => "numpy-attention",
            Kind::TorchAttention => "torch-attention",
            Kind::TorchSdpa => "torch-sdpa",
        }
    }

    fn label(&self, p: &Problem) -> String {
        match self.kind {
            Kind::Numpy if p.op == Operation::Gemv => "NumPy A @ x".into(),
            Kind::Numpy => "NumPy A @ B".into(),
            Kind::TorchCpu => "torch.matmul (CPU)".into(),
            Kind::Loop => format!("Python loop over lists ({})", p.loop_order.as_str()),
            Kind::NumpyAttention => "attention written in NumPy (scores stored)".into(),
            Kind::TorchAttention => "attention written in PyTorch, CPU (scores stored)".into(),
            Kind::TorchSdpa => "torch scaled_dot_product_attention (CPU, fused)".into(),
        }
    }

    fn backend(&self) -> Backend {
        Backend::Python
    }

    fn precision(&self, p: &Problem) -> String {
        match (self.kind, p.dtype) {
            (Kind::Loop, DType::F64) => "f64 (Python float)".into(),
            (Kind::Loop, d) => format!(
                "f64 (Python float), for the {} problem: inputs rounded to {}",
                d.as_str(),
                d.as_str()
            ),
            (Kind::Numpy, DType::F16) => "f16 (NumPy's own loop, no f16 BLAS)".into(),
            (_, d) => d.as_str().into(),
        }
    }

    fn check(&self, p: &Problem, tc: &Toolchain) -> Result<(), String> {
        match (p.op, self.kind) {
            (Operation::Attention, k) if k.attention() => {}
            (Operation::Attention, _) => {
                return Err("this candidate measures GEMM and GEMV, not attention".into())
            }
            (_, k) if k.attention() => return Err("this candidate measures attention only".into()),
            (Operation::Gemm | Operation::GemmBatched, _) => {}
            // `A @ x` with a 1-D x: NumPy's GEMV path.
            (Operation::Gemv, Kind::Numpy) if p.n == 1 && p.batch == 1 => {}
            (Operation::Gemv, Kind::Numpy) => {
                return Err("a GEMV problem has n = 1 and no batch".into())
            }
            (Operation::Gemv, _) => {
                return Err("this Python candidate measures GEMM only (NumPy has a GEMV)".into())
            }
        }
        let py = self.python(tc)?;
        let no_numpy = || {
            format!(
                "NumPy is not importable by {} (pip install numpy; PYTHONPATH is ignored)",
                py.tool.path
            )
        };
        match self.kind {
            Kind::Loop => Ok(()),
            Kind::Numpy | Kind::NumpyAttention => {
                if py.numpy.is_none() {
                    return Err(no_numpy());
                }
                if p.dtype == DType::Bf16 {
                    return Err("NumPy has no bfloat16 type".into());
                }
                Ok(())
            }
            k if k.torch() => {
                let Some(v) = &py.torch else {
                    return Err(format!(
                        "PyTorch is not importable by {} (PYTHONPATH is ignored)",
                        py.tool.path
                    ));
                };
                if py.numpy.is_none() {
                    return Err(format!("{} (it generates the inputs)", no_numpy()));
                }
                if p.dtype == DType::F16 && !torch_has_cpu_f16(v) {
                    return Err(format!(
                        "PyTorch {v} has no f16 matmul on the CPU (2.1 and later do)"
                    ));
                }
                if self.kind == Kind::TorchSdpa && !torch_has_sdpa(v) {
                    return Err(format!(
                        "PyTorch {v} has no scaled_dot_product_attention (2.0 and later do)"
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn measures(&self, op: Operation) -> bool {
        self.kind.attention() == (op == Operation::Attention)
    }

    fn prior_flops(&self) -> f64 {
        match self.kind {
            Kind::Loop => 2e7,
            Kind::NumpyAttention | Kind::TorchAttention => 2e10,
            _ => 5e10,
        }
    }

    fn tolerance(&self, p: &Problem) -> f64 {
        match self.kind {
            // The reference is on the same (rounded) inputs, and the loop
            // computes in float64 whatever the problem's dtype.
            Kind::Loop => DType::F64.tolerance(),
            _ => p.dtype.tolerance(),
        }
    }

    fn samplable(&self) -> bool {
        self.kind == Kind::Loop
    }

    fn run(&self, job: &Job) -> Reply {
        let py = match self.python(&job.toolchain) {
            Ok(py) => py,
            Err(reason) => return Reply::Skipped { reason },
        };
        if let Err(reason) = self.check(&job.problem, &job.toolchain) {
            return Reply::Skipped { reason };
        }
        let cfg = Config::new(self.id(), job);
        run_config(&py.tool.path, &cfg, &job.workdir)
    }
}

/// What the script reads on stdin.
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    pub candidate: String,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub batch: u64,
    /// 3-D operands (`GemmBatched`, or a batch above 1).
    pub batched: bool,
    /// `f16`, `bf16`, `f32`, `f64` (a string, so a bad one can be tested).
    pub dtype: String,
    pub trans_a: bool,
    pub trans_b: bool,
    pub loop_order: String,
    pub seed: u64,
    pub budget_s: f64,
    /// Rows of C computed per call (every batch).
    pub rows: u64,
    /// A GEMV: B is the vector x (K×1), given to NumPy as a 1-D array.
    pub gemv: bool,
    /// Attention: `batch` heads, `m` queries, `n` keys, head dim `k`.
    pub attention: bool,
}

impl Config {
    pub fn new(candidate: &str, job: &Job) -> Config {
        let p = &job.problem;
        Config {
            candidate: candidate.to_string(),
            m: p.m,
            n: p.n,
            k: p.k,
            batch: p.batch,
            batched: p.op == Operation::GemmBatched || p.batch > 1,
            gemv: p.op == Operation::Gemv,
            attention: p.op == Operation::Attention,
            dtype: p.dtype.as_str().to_string(),
            trans_a: p.layout.trans_a,
            trans_b: p.layout.trans_b,
            loop_order: p.loop_order.as_str().to_string(),
            seed: job.seed,
            budget_s: job.budget_s,
            rows: job.sample_rows.unwrap_or(p.m).clamp(1, p.m),
        }
    }
}

/// What the script prints (its last stdout line).
#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ScriptReply {
    Ok {
        samples: Vec<f64>,
        rows_computed: u64,
        /// `null` when the error is NaN or infinite.
        rel_error: Option<f64>,
        checked_rows: u64,
        what: String,
        threads: u32,
        #[serde(default)]
        notes: Vec<String>,
    },
    Skipped {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// The last non-empty line of `text`, trimmed.
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// Writes the script into `workdir`, runs it under `python` with `cfg` on
/// stdin, and turns its answer into a [`Reply`].
pub fn run_config(python: &str, cfg: &Config, workdir: &Path) -> Reply {
    let failed = |reason: String| Reply::Failed { reason };
    let script = workdir.join(SCRIPT_NAME);
    if let Err(e) = std::fs::write(&script, SCRIPT) {
        return failed(format!("cannot write {}: {e}", script.display()));
    }
    let input = match serde_json::to_vec(cfg) {
        Ok(v) => v,
        Err(e) => return failed(format!("cannot encode the script's config: {e}")),
    };
    let child = python_command(python)
        .arg(&script)
        .current_dir(workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start {python}: {e}")),
    };
    if let Some(mut sin) = child.stdin.take() {
        // The config is far smaller than a pipe buffer; a write error means
        // Python died early, which its exit status and stderr will tell.
        let _ = sin.write_all(&input);
    }
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => return failed(format!("lost the Python process: {e}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let parsed = serde_json::from_str::<ScriptReply>(last_line(&stdout));
    let reply = match (out.status.success(), parsed) {
        (true, Ok(r)) => r,
        (ok, parsed) => {
            let how = if ok {
                format!(
                    "the Python script answered something unreadable ({})",
                    parsed.err().map(|e| e.to_string()).unwrap_or_default()
                )
            } else {
                describe_status(python, out.status)
            };
            let last = last_line(&stderr);
            return failed(if last.is_empty() {
                how
            } else {
                format!("{how}: {last}")
            });
        }
    };
    match reply {
        ScriptReply::Skipped { reason } => Reply::Skipped { reason },
        ScriptReply::Failed { reason } => failed(format!("Python raised {reason}")),
        ScriptReply::Ok {
            samples,
            rows_computed,
            rel_error,
            checked_rows,
            what,
            threads,
            notes,
        } => match rel_error {
            // NaN does not survive JSON (serde writes it as null), so a
            // non-finite error fails here with the engine's wording.
            None => failed("wrong result: NaN or infinity in the output".into()),
            Some(rel_error) => Reply::Ok(Measurement {
                samples,
                rows_computed,
                rel_error,
                checked_rows,
                what,
                threads,
                transfer_s: None,
                notes,
            }),
        },
    }
}

fn describe_status(python: &str, st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("{python} exited with status {c}"),
        (None, Some(s)) => format!("{python} was killed by signal {s}"),
        _ => format!("{python} ended abnormally"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Layout, LoopOrder};
    use crate::toolchain::Tool;

    /// `python3` from PATH with the same flags as the benchmark, and the
    /// versions of NumPy and PyTorch it can import. Fails the test when
    /// there is no python3 or no NumPy (the test machine installs NumPy).
    fn python_toolchain() -> Toolchain {
        let code = "import sys, json\n\
            def v(name):\n\
            \x20   try:\n\
            \x20       return __import__(name).__version__\n\
            \x20   except Exception:\n\
            \x20       return None\n\
            print(json.dumps([sys.executable, sys.version.split()[0], v('numpy'), v('torch')]))";
        let out = python_command("python3")
            .args(["-c", code])
            .output()
            .expect("python3 on PATH");
        assert!(out.status.success(), "{:?}", out);
        let (path, version, numpy, torch): (String, String, Option<String>, Option<String>) =
            serde_json::from_slice(&out.stdout).unwrap();
        assert!(numpy.is_some(), "NumPy must be installed for these tests");
        Toolchain {
            python: Some(Python {
                tool: Tool {
                    path,
                    version: format!("Python {version}"),
                },
                numpy,
                torch,
            }),
            ..Toolchain::default()
        }
    }

    fn job(c: &dyn Candidate, p: Problem, tc: &Toolchain, dir: &Path) -> Job {
        Job {
            candidate: c.id().into(),
            problem: p,
            budget_s: 0.05,
            seed: 0x5eed_1234_abcd,
            sample_rows: None,
            workdir: dir.to_path_buf(),
            toolchain: tc.clone(),
        }
    }

    fn assert_ok(c: &dyn Candidate, j: &Job) -> Measurement {
        let reply = c.run(j);
        let Reply::Ok(m) = reply else {
            panic!("{} on {}: {reply:?}", c.id(), j.problem.describe());
        };
        let tol = c.tolerance(&j.problem);
        assert!(
            m.rel_error <= tol,
            "{}: error {} > {tol}",
            j.problem.describe(),
            m.rel_error
        );
        assert!(!m.samples.is_empty() && m.samples.len() <= 100);
        assert!(m.samples.iter().all(|s| s.is_finite() && *s > 0.0));
        assert!(m.checked_rows >= 1 && m.checked_rows <= 16.min(m.rows_computed));
        assert!(m.what.contains("Python"), "{}", m.what);
        assert!(m.threads >= 1);
        m
    }

    fn problem(m: u64, n: u64, k: u64, dtype: DType, layout: &str) -> Problem {
        Problem {
            layout: Layout::parse(layout).unwrap(),
            ..Problem::gemm(m, n, k, dtype)
        }
    }

    #[test]
    fn numpy_in_all_four_layouts_and_dtypes() {
        let tc = python_toolchain();
        let dir = tempfile::tempdir().unwrap();
        for layout in ["nn", "nt", "tn", "tt"] {
            let p = problem(48, 40, 56, DType::F32, layout);
            let m = assert_ok(&NUMPY, &job(&NUMPY, p, &tc, dir.path()));
            assert_eq!(m.rows_computed, 48);
            assert_eq!(m.checked_rows, 16);
            assert!(m.what.contains("NumPy"), "{}", m.what);
        }
        for dtype in [DType::F64, DType::F16] {
            let p = problem(48, 40, 56, dtype, "tn");
            let m = assert_ok(&NUMPY, &job(&NUMPY, p, &tc, dir.path()));
            if dtype == DType::F16 {
                assert!(m.what.contains("no f16 BLAS"), "{}", m.what);
            }
        }
        let p = problem(8, 8, 8, DType::Bf16, "nn");
        assert!(NUMPY.check(&p, &tc).unwrap_err().contains("bfloat16"));
    }

    /// A toolchain whose Python imports PyTorch too, from
    /// `GEMMSCOPE_TEST_TORCH_PYTHON` (.ci/run sets it to its venv).
    fn torch_toolchain() -> Option<Toolchain> {
        let py = std::env::var("GEMMSCOPE_TEST_TORCH_PYTHON").ok()?;
        let out = python_command(&py)
            .args([
                "-c",
                "import sys, json, numpy, torch; print(json.dumps([sys.executable, sys.version.split()[0], numpy.__version__, torch.__version__]))",
            ])
            .output()
            .ok()?;
        let (path, version, numpy, torch): (String, String, String, String) =
            serde_json::from_slice(&out.stdout).ok()?;
        Some(Toolchain {
            python: Some(Python {
                tool: Tool {
                    path,
                    version: format!("Python {version}"),
                },
                numpy: Some(numpy),
                torch: Some(torch),
            }),
            ..Toolchain::default()
        })
    }

    #[test]
    fn attention_candidates_measure_attention_only_and_match_the_reference() {
        let att = Problem::attention(3, 40, 24, DType::F32);
        let gemm = problem(8, 8, 8, DType::F32, "nn");
        for c in [&NUMPY_ATTENTION, &TORCH_ATTENTION, &TORCH_SDPA] {
            assert!(c.measures(Operation::Attention) && !c.measures(Operation::Gemm));
        }
        for c in [&NUMPY, &TORCH_CPU, &PYTHON_LOOP] {
            assert!(!c.measures(Operation::Attention) && c.measures(Operation::Gemm));
        }
        let tc = python_toolchain();
        assert!(NUMPY_ATTENTION.check(&gemm, &tc).is_err());
        assert!(NUMPY.check(&att, &tc).is_err());
        let dir = tempfile::tempdir().unwrap();
        // NumPy's softmax(Q Kᵀ / √d) V against the float64 one, every head.
        let m = assert_ok(
            &NUMPY_ATTENTION,
            &job(&NUMPY_ATTENTION, att.clone(), &tc, dir.path()),
        );
        assert_eq!((m.rows_computed, m.checked_rows), (40, 16));
        assert!(m.what.contains("softmax"), "{}", m.what);
        let mut f64_att = att.clone();
        f64_att.dtype = DType::F64;
        assert_ok(
            &NUMPY_ATTENTION,
            &job(&NUMPY_ATTENTION, f64_att, &tc, dir.path()),
        );
        let Some(ttc) = torch_toolchain() else {
            crate::testing::skip(
                "attention_candidates_measure_attention_only_and_match_the_reference",
                "no Python with PyTorch (GEMMSCOPE_TEST_TORCH_PYTHON unset or cannot import torch)",
            );
            return;
        };
        for c in [&TORCH_ATTENTION, &TORCH_SDPA] {
            let m = assert_ok(c, &job(c, att.clone(), &ttc, dir.path()));
            assert!(m.what.contains("PyTorch"), "{}", m.what);
        }
        // Keys apart from queries.
        let mut cross = att.clone();
        cross.n = 56;
        assert_ok(&TORCH_SDPA, &job(&TORCH_SDPA, cross, &ttc, dir.path()));
    }

    #[test]
    fn numpy_gemv_as_a_at_x_in_both_layouts() {
        let tc = python_toolchain();
        let dir = tempfile::tempdir().unwrap();
        for (layout, dtype) in [("nn", DType::F32), ("tn", DType::F64)] {
            let p = Problem {
                op: Operation::Gemv,
                ..problem(45, 1, 37, dtype, layout)
            };
            assert_eq!(NUMPY.label(&p), "NumPy A @ x");
            let m = assert_ok(&NUMPY, &job(&NUMPY, p, &tc, dir.path()));
            assert_eq!((m.rows_computed, m.checked_rows), (45, 16));
        }
        let batched = Problem {
            op: Operation::Gemv,
            batch: 2,
            ..problem(8, 1, 8, DType::F32, "nn")
        };
        assert!(NUMPY.check(&batched, &tc).is_err());
    }

    #[test]
    fn numpy_batched() {
        let tc = python_toolchain();
        let dir = tempfile::tempdir().unwrap();
        let p = Problem {
            op: Operation::GemmBatched,
            batch: 3,
            ..problem(24, 40, 56, DType::F32, "nt")
        };
        let m = assert_ok(&NUMPY, &job(&NUMPY, p, &tc, dir.path()));
        assert!(
            m.notes.iter().any(|n| n.contains("batched")),
            "{:?}",
            m.notes
        );
    }

    #[test]
    fn python_loop_two_orders_sampled() {
        let tc = python_toolchain();
        let dir = tempfile::tempdir().unwrap();
        for (order, layout, dtype) in [("ijk", "nn", DType::F32), ("kji", "tt", DType::F64)] {
            let p = Problem {
                loop_order: LoopOrder::parse(order).unwrap(),
                ..problem(48, 40, 56, dtype, layout)
            };
            let mut j = job(&PYTHON_LOOP, p, &tc, dir.path());
            j.sample_rows = Some(5);
            let m = assert_ok(&PYTHON_LOOP, &j);
            assert_eq!(m.rows_computed, 5);
            assert_eq!(m.checked_rows, 5);
            assert_eq!(m.threads, 1);
            assert!(m.what.contains(order), "{}", m.what);
        }
        // Batched, sampled: the first rows of every batch.
        let p = Problem {
            op: Operation::GemmBatched,
            batch: 2,
            ..problem(20, 12, 9, DType::Bf16, "tn")
        };
        let mut j = job(&PYTHON_LOOP, p, &tc, dir.path());
        j.sample_rows = Some(3);
        assert_eq!(assert_ok(&PYTHON_LOOP, &j).rows_computed, 3);
        assert!(PYTHON_LOOP.samplable() && !NUMPY.samplable());
        assert!(PYTHON_LOOP
            .precision(&problem(1, 1, 1, DType::F32, "nn"))
            .contains("f32 problem"));
    }

    #[test]
    fn python_loop_without_numpy_uses_pure_python() {
        // A bare virtual environment: python3 without NumPy.
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let st = Command::new("python3")
            .args(["-m", "venv", "--without-pip"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(st.success());
        let bare = venv.join("bin/python3").to_string_lossy().into_owned();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let mut tc = python_toolchain();
        tc.python.as_mut().unwrap().tool.path = bare.clone();
        let p = problem(10, 7, 9, DType::F32, "nt");
        let mut j = job(&PYTHON_LOOP, p.clone(), &tc, &work);
        j.sample_rows = Some(4);
        let m = assert_ok(&PYTHON_LOOP, &j);
        assert!(m.what.contains("random.Random"), "{}", m.what);
        // The toolchain claims NumPy, the interpreter has none: skipped at
        // run time with the reason.
        match NUMPY.run(&job(&NUMPY, p, &tc, &work)) {
            Reply::Skipped { reason } => assert!(reason.contains("NumPy"), "{reason}"),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn skipped_without_python_numpy_or_torch() {
        let p = problem(8, 8, 8, DType::F32, "nn");
        let dir = tempfile::tempdir().unwrap();
        let none = Toolchain::default();
        for c in [&NUMPY, &TORCH_CPU, &PYTHON_LOOP] {
            match c.run(&job(c, p.clone(), &none, dir.path())) {
                Reply::Skipped { reason } => assert!(reason.contains("Python"), "{reason}"),
                r => panic!("{r:?}"),
            }
        }
        let mut tc = python_toolchain();
        let py = tc.python.as_mut().unwrap();
        py.numpy = None;
        py.torch = None;
        for c in [&NUMPY, &TORCH_CPU] {
            match c.run(&job(c, p.clone(), &tc, dir.path())) {
                Reply::Skipped { reason } => {
                    assert!(reason.contains("not importable"), "{reason}")
                }
                r => panic!("{r:?}"),
            }
        }
        assert!(PYTHON_LOOP.check(&p, &tc).is_ok());
        let gemv = Problem {
            op: Operation::Gemv,
            ..p
        };
        assert!(PYTHON_LOOP.check(&gemv, &tc).is_err());
        assert!(torch_has_cpu_f16("2.3.1+cpu") && !torch_has_cpu_f16("1.13.0"));
    }

    #[test]
    fn torch_cpu_when_installed() {
        let tc = python_toolchain();
        let dir = tempfile::tempdir().unwrap();
        let p = problem(48, 40, 56, DType::F32, "tn");
        let j = job(&TORCH_CPU, p, &tc, dir.path());
        if tc.python.as_ref().unwrap().torch.is_none() {
            assert!(matches!(TORCH_CPU.run(&j), Reply::Skipped { .. }));
            return;
        }
        assert!(assert_ok(&TORCH_CPU, &j).what.contains("PyTorch"));
    }

    #[test]
    fn script_errors_fail_with_a_readable_reason() {
        let tc = python_toolchain();
        let python = tc.python.as_ref().unwrap().tool.path.clone();
        let dir = tempfile::tempdir().unwrap();
        let p = problem(8, 8, 8, DType::F32, "nn");
        // A crafted config with a dtype the Problem type cannot hold.
        let mut cfg = Config::new("numpy", &job(&NUMPY, p, &tc, dir.path()));
        cfg.dtype = "q7".into();
        match run_config(&python, &cfg, dir.path()) {
            Reply::Failed { reason } => {
                assert!(
                    reason.contains("ValueError: unknown dtype 'q7'"),
                    "{reason}"
                )
            }
            r => panic!("{r:?}"),
        }
        // A crafted job (JSON, as the child receives it) with a loop order
        // that is not a permutation of ijk.
        let mut v = serde_json::to_value(job(
            &PYTHON_LOOP,
            problem(8, 8, 8, DType::F32, "nn"),
            &tc,
            dir.path(),
        ))
        .unwrap();
        v["problem"]["loop_order"] = "iij".into();
        let j: Job = serde_json::from_value(v).unwrap();
        match PYTHON_LOOP.run(&j) {
            Reply::Failed { reason } => assert!(reason.contains("'iij'"), "{reason}"),
            r => panic!("{r:?}"),
        }
        // An interpreter that dies: its exit status and last stderr line.
        match run_config("/bin/false", &cfg, dir.path()) {
            Reply::Failed { reason } => assert!(reason.contains("status 1"), "{reason}"),
            r => panic!("{r:?}"),
        }
    }
}
