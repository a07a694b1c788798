//! Candidates compiled from generated C: the naive triple loop at three
//! optimisation levels, a cache-blocked kernel (one thread and all cores),
//! and OpenBLAS's `cblas_?gemm`. Each is one standalone program, written,
//! compiled and run in the job's private work dir; it prints one JSON line
//! that becomes the [`Measurement`].

pub mod gen;

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::candidates::{Backend, Candidate};
use crate::job::{Job, Measurement, Reply};
use crate::problem::{DType, Operation, Problem};
use crate::toolchain::Toolchain;

pub use gen::Kernel;

/// What a generated program prints (its last stdout line).
#[derive(Debug, Deserialize)]
pub struct ProgramOutput {
    pub samples: Vec<f64>,
    pub rows_computed: u64,
    pub checked_rows: u64,
    pub threads: u32,
    /// `null` when the error is NaN or infinite.
    pub rel_error: Option<f64>,
}

/// Threads this process may use (affinity and cgroup quotas respected).
pub fn cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// The arithmetic a C kernel does for `d`.
fn c_precision(d: DType) -> String {
    match d {
        DType::F16 => "f16 in, f32 accumulate".into(),
        DType::Bf16 => "bf16 in, f32 accumulate".into(),
        other => other.as_str().into(),
    }
}

fn gemm_only(p: &Problem) -> Result<(), String> {
    match p.op {
        Operation::Gemm | Operation::GemmBatched => Ok(()),
        Operation::Gemv | Operation::Attention => Err("this candidate measures GEMM only".into()),
    }
}

/// GEMM, batched GEMM and GEMV (a single `y = A x`, `n = 1`, no batch).
fn gemm_or_gemv(p: &Problem) -> Result<(), String> {
    match p.op {
        Operation::Gemv if p.n != 1 || p.batch != 1 => {
            Err("a GEMV problem has n = 1 and no batch".into())
        }
        Operation::Attention => Err("this candidate measures GEMM and GEMV only".into()),
        _ => Ok(()),
    }
}

/// `i-k` / `k-i` for a GEMV's naive loop, the loop order otherwise.
fn order_text(p: &Problem) -> String {
    if p.op != Operation::Gemv {
        return p.loop_order.as_str().to_string();
    }
    if gen::gemv_axpy(p) {
        "k-i GEMV".into()
    } else {
        "i-k GEMV".into()
    }
}

fn need_cc(tc: &Toolchain) -> Result<&crate::toolchain::Tool, String> {
    tc.cc
        .as_ref()
        .ok_or_else(|| "no C compiler found ($CC, cc, gcc or clang)".to_string())
}

/// The first line of compiler output that says `error` (else the first
/// non-empty line), without the work dir's path.
pub fn first_error_line(stderr: &str, workdir: &Path) -> String {
    let line = stderr
        .lines()
        .find(|l| l.contains("error"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output")
        .trim();
    let dir = format!("{}/", workdir.display());
    line.replace(&dir, "")
}

/// How to build and run one program.
pub struct Build<'a> {
    pub source: String,
    /// Flags before the source file (`-O3 -march=native`).
    pub flags: Vec<String>,
    /// Flags after it (libraries).
    pub libs: Vec<String>,
    pub cc: &'a str,
}

/// Writes `kernel.c` into `workdir`, compiles it there, and runs it with the
/// job's sizes. `Err` is the reply (compile error, crash, bad output).
pub fn compile_and_run(
    b: &Build<'_>,
    job: &Job,
    rows: u64,
    threads: u32,
) -> Result<ProgramOutput, Reply> {
    let dir = &job.workdir;
    let failed = |reason: String| Reply::Failed { reason };
    std::fs::write(dir.join("kernel.c"), &b.source).map_err(|e| {
        failed(format!(
            "cannot write the kernel source in the work dir: {e}"
        ))
    })?;
    let out = Command::new(b.cc)
        .args(&b.flags)
        .args(["-o", "kernel", "kernel.c"])
        .args(&b.libs)
        .arg("-lm")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(format!("cannot run the C compiler {}: {e}", b.cc)))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(failed(format!(
            "compile error: {}",
            first_error_line(&err, dir)
        )));
    }
    let p = &job.problem;
    let args = [
        p.m.to_string(),
        p.n.to_string(),
        p.k.to_string(),
        p.batch.to_string(),
        job.seed.to_string(),
        format!("{}", job.budget_s.max(0.0)),
        rows.to_string(),
        threads.to_string(),
    ];
    let run = Command::new(dir.join("kernel"))
        .args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(format!("cannot run the compiled kernel: {e}")))?;
    if !run.status.success() {
        use std::os::unix::process::ExitStatusExt;
        let err = String::from_utf8_lossy(&run.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let how = match (run.status.code(), run.status.signal()) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "ended abnormally".into(),
        };
        return Err(failed(
            format!("the compiled kernel {how}: {}", last.trim())
                .trim_end_matches([':', ' '])
                .to_string(),
        ));
    }
    let text = String::from_utf8_lossy(&run.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last).map_err(|e| {
        failed(format!(
            "the compiled kernel printed something unreadable: {e}"
        ))
    })
}

fn measurement(o: ProgramOutput, what: String) -> Measurement {
    Measurement {
        samples: o.samples,
        rows_computed: o.rows_computed,
        rel_error: o.rel_error.unwrap_or(f64::NAN),
        checked_rows: o.checked_rows,
        what,
        threads: o.threads,
        transfer_s: None,
        notes: Vec::new(),
    }
}

/// Rows of C a job computes.
fn job_rows(job: &Job) -> u64 {
    job.sample_rows
        .unwrap_or(job.problem.m)
        .clamp(1, job.problem.m)
}

/// The naive triple loop, compiled at one optimisation level.
pub struct Naive {
    pub id: &'static str,
    pub flags: &'static [&'static str],
    pub prior: f64,
}

pub static NAIVE_O1: Naive = Naive {
    id: "c-naive-O1",
    flags: &["-O1"],
    prior: 1.0e9,
};
pub static NAIVE_O3: Naive = Naive {
    id: "c-naive-O3",
    flags: &["-O3"],
    prior: 1.5e9,
};
pub static NAIVE_O3_NATIVE: Naive = Naive {
    id: "c-naive-O3-native",
    flags: &["-O3", "-march=native"],
    prior: 1.5e9,
};

impl Candidate for Naive {
    fn id(&self) -> &'static str {
        self.id
    }
    fn label(&self, p: &Problem) -> String {
        format!("naive C {} ({})", self.flags.join(" "), order_text(p))
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn precision(&self, p: &Problem) -> String {
        c_precision(p.dtype)
    }
    fn check(&self, p: &Problem, tc: &Toolchain) -> Result<(), String> {
        gemm_or_gemv(p)?;
        need_cc(tc).map(|_| ())
    }
    fn prior_flops(&self) -> f64 {
        self.prior
    }
    fn samplable(&self) -> bool {
        true
    }
    fn run(&self, job: &Job) -> Reply {
        let p = &job.problem;
        if let Err(reason) = gemm_or_gemv(p) {
            return Reply::Skipped { reason };
        }
        let cc = match need_cc(&job.toolchain) {
            Ok(cc) => cc,
            Err(reason) => return Reply::Skipped { reason },
        };
        let b = Build {
            source: gen::program(p, Kernel::Naive),
            flags: self.flags.iter().map(|s| s.to_string()).collect(),
            libs: Vec::new(),
            cc: &cc.path,
        };
        match compile_and_run(&b, job, job_rows(job), 1) {
            Ok(o) => {
                let what = format!(
                    "{} {}; naive {} loop, {}",
                    cc.version,
                    self.flags.join(" "),
                    order_text(p),
                    p.layout.as_str()
                );
                Reply::Ok(measurement(o, what))
            }
            Err(r) => r,
        }
    }
}

/// The cache-blocked kernel, on one thread or split over all cores.
pub struct Blocked {
    pub threaded: bool,
}

pub static BLOCKED: Blocked = Blocked { threaded: false };
pub static BLOCKED_THREADS: Blocked = Blocked { threaded: true };

const BLOCKED_FLAGS: &[&str] = &["-O3", "-march=native"];

impl Candidate for Blocked {
    fn id(&self) -> &'static str {
        if self.threaded {
            "c-blocked-threads"
        } else {
            "c-blocked"
        }
    }
    fn label(&self, _p: &Problem) -> String {
        if self.threaded {
            "blocked C, pthreads on all cores".into()
        } else {
            "blocked C, 1 thread".into()
        }
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn precision(&self, p: &Problem) -> String {
        c_precision(p.dtype)
    }
    fn check(&self, p: &Problem, tc: &Toolchain) -> Result<(), String> {
        gemm_only(p)?;
        need_cc(tc).map(|_| ())
    }
    fn prior_flops(&self) -> f64 {
        let t = if self.threaded { cores() as f64 } else { 1.0 };
        8.0e9 * t
    }
    fn run(&self, job: &Job) -> Reply {
        let p = &job.problem;
        if let Err(reason) = gemm_only(p) {
            return Reply::Skipped { reason };
        }
        let cc = match need_cc(&job.toolchain) {
            Ok(cc) => cc,
            Err(reason) => return Reply::Skipped { reason },
        };
        let mut flags: Vec<String> = BLOCKED_FLAGS.iter().map(|s| s.to_string()).collect();
        let (kernel, threads) = if self.threaded {
            flags.push("-pthread".into());
            (Kernel::BlockedThreads, cores())
        } else {
            (Kernel::Blocked, 1)
        };
        let b = Build {
            source: gen::program(p, kernel),
            flags: flags.clone(),
            libs: Vec::new(),
            cc: &cc.path,
        };
        match compile_and_run(&b, job, job_rows(job), threads) {
            Ok(o) => {
                let what = format!(
                    "{} {}; blocked {}×{}×{} (packed, i-k-j), {}",
                    cc.version,
                    flags.join(" "),
                    gen::MB,
                    gen::NB,
                    gen::KB,
                    if self.threaded {
                        format!("pthreads, {threads} threads")
                    } else {
                        "1 thread".into()
                    }
                );
                Reply::Ok(measurement(o, what))
            }
            Err(r) => r,
        }
    }
}

/// `cblas_sgemm` / `cblas_dgemm` from the system OpenBLAS, all cores.
pub struct OpenBlas;

pub static OPENBLAS: OpenBlas = OpenBlas;

impl OpenBlas {
    fn usable(p: &Problem, tc: &Toolchain) -> Result<(), String> {
        gemm_or_gemv(p)?;
        need_cc(tc)?;
        if tc.openblas.is_none() {
            return Err(
                "OpenBLAS not found (no cblas.h that compiles with -lopenblas; \
                 on Debian: apt-get install libopenblas-dev)"
                    .into(),
            );
        }
        match p.dtype {
            DType::F32 | DType::F64 => Ok(()),
            d => Err(format!(
                "OpenBLAS's CBLAS has no {} GEMM or GEMV in this build",
                d.as_str()
            )),
        }
    }
}

impl Candidate for OpenBlas {
    fn id(&self) -> &'static str {
        "openblas"
    }
    fn label(&self, p: &Problem) -> String {
        let routine = if p.op == Operation::Gemv {
            "gemv"
        } else {
            "gemm"
        };
        match p.dtype {
            DType::F64 => format!("OpenBLAS d{routine}"),
            _ => format!("OpenBLAS s{routine}"),
        }
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn precision(&self, p: &Problem) -> String {
        p.dtype.as_str().into()
    }
    fn check(&self, p: &Problem, tc: &Toolchain) -> Result<(), String> {
        Self::usable(p, tc)
    }
    fn prior_flops(&self) -> f64 {
        3.0e10 * cores() as f64
    }
    fn run(&self, job: &Job) -> Reply {
        let p = &job.problem;
        if let Err(reason) = Self::usable(p, &job.toolchain) {
            return Reply::Skipped { reason };
        }
        let tc = &job.toolchain;
        let cc = need_cc(tc).expect("checked");
        let config = tc.openblas.clone().unwrap_or_default();
        let b = Build {
            source: gen::program(p, Kernel::OpenBlas),
            flags: vec!["-O2".into()],
            libs: tc.openblas_flags.clone(),
            cc: &cc.path,
        };
        match compile_and_run(&b, job, job_rows(job), cores()) {
            Ok(o) => {
                let f = match (p.dtype, p.op) {
                    (DType::F64, Operation::Gemv) => "cblas_dgemv",
                    (_, Operation::Gemv) => "cblas_sgemv",
                    (DType::F64, _) => "cblas_dgemm",
                    _ => "cblas_sgemm",
                };
                let trans = match (p.op, p.layout.trans_a) {
                    (Operation::Gemv, true) => " (CblasTrans: A stored K×M)",
                    _ => "",
                };
                let what = format!("{config}; {f}{trans}, {} threads", o.threads);
                Reply::Ok(measurement(o, what))
            }
            Err(r) => r,
        }
    }
}

#[cfg(test)]
mod tests;
