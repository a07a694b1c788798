//! Helpers shared by the differential tests of the rewrites
//! (`tests/tests/fixes*.rs`): analysing a fixture with its fixes, applying
//! exact fixes until the text converges, finding the toolchains (gcc +
//! OpenBLAS, Python + NumPy, Python + PyTorch) and comparing outputs.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

use gemmscope_analyzers::fixes::{
    analyze_with_fixes, apply_edits, overlaps, Applicability, Fix, FixedFinding,
};
use gemmscope_analyzers::{BuildContext, Lang, NoIncludes};

/// The tests crate's folder (fixtures are under `corpus/` and `fixes/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Findings of `text` (as the file at `path`) with their fixes.
pub fn analyse(path: &Path, text: &str) -> Vec<FixedFinding> {
    let p = path.to_string_lossy();
    let lang = Lang::of_file(&p, text).unwrap();
    analyze_with_fixes(lang, &p, text, &NoIncludes, &BuildContext::default())
}

/// Applies every exact fix, re-analysing until the text stops changing
/// (at most `rounds` rounds), as `check --fix` does. Returns the text and
/// the number of rounds that changed it.
pub fn fix_until_stable(path: &Path, text: &str, rounds: usize) -> (String, usize) {
    let mut text = text.to_string();
    for n in 0..rounds {
        let mut edits = Vec::new();
        let mut taken: Vec<Fix> = Vec::new();
        for f in analyse(path, &text) {
            let Ok(fixes) = f.fixes else { continue };
            let Some(fix) = fixes
                .into_iter()
                .find(|x| x.applicability == Applicability::Exact)
            else {
                continue;
            };
            if taken.iter().any(|t| overlaps(t, &fix)) {
                continue;
            }
            edits.extend(fix.edits.iter().cloned());
            taken.push(fix);
        }
        let next = apply_edits(&text, &edits).unwrap();
        if next == text {
            return (text, n);
        }
        text = next;
    }
    (text, rounds)
}

/// True if `cmd args...` runs and succeeds.
pub fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// gcc that compiles, links and runs a CBLAS call against OpenBLAS (a
/// probe in `dir`), or why not.
pub fn c_toolchain(dir: &Path) -> Result<(), String> {
    if !have("gcc", &["--version"]) {
        return Err("gcc not found".into());
    }
    let probe = dir.join("probe.c");
    std::fs::write(
        &probe,
        "#include <cblas.h>\nint main(void){float a=1,b=2,c=0;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1.0f,&a,1,&b,1,0.0f,&c,1);return c==2.0f?0:1;}\n",
    )
    .unwrap();
    let exe = dir.join("probe");
    let ok = Command::new("gcc")
        .arg(&probe)
        .arg("-o")
        .arg(&exe)
        .arg("-lopenblas")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new(&exe).status().is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("OpenBLAS (cblas.h, -lopenblas) not usable".into())
    }
}

/// A Python with NumPy (GEMMSCOPE_PYTHON, else `python3`), or why not.
pub fn numpy_python() -> Result<String, String> {
    let py = std::env::var("GEMMSCOPE_PYTHON").unwrap_or_else(|_| "python3".into());
    if have(&py, &["-c", "import numpy"]) {
        Ok(py)
    } else {
        Err(format!("{py} with NumPy not found"))
    }
}

/// A Python with PyTorch and NumPy: GEMMSCOPE_TEST_TORCH_PYTHON (.ci/run
/// sets it to its venv), else `python3` if it imports torch; or why not.
pub fn torch_python() -> Result<String, String> {
    let code = "import torch, numpy";
    if let Ok(py) = std::env::var("GEMMSCOPE_TEST_TORCH_PYTHON") {
        return if have(&py, &["-c", code]) {
            Ok(py)
        } else {
            Err(format!(
                "GEMMSCOPE_TEST_TORCH_PYTHON={py} cannot import torch and numpy"
            ))
        };
    }
    if have("python3", &["-c", code]) {
        Ok("python3".into())
    } else {
        Err(
            "no Python with PyTorch: set GEMMSCOPE_TEST_TORCH_PYTHON (python3 cannot \
             import torch)"
                .into(),
        )
    }
}

/// A fresh folder for one test's programs (per process and `name`).
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gemmscope-fixes-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `a` and `b` agree element by element within `rel` relative to
/// 1 + the larger magnitude.
pub fn agree(a: &[f64], b: &[f64], rel: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} values vs {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if (x - y).abs() > rel * (1.0 + x.abs().max(y.abs())) {
            return Err(format!("value {i}: {x} vs {y}"));
        }
    }
    Ok(())
}

/// A Python driver for one function of an original and a rewritten module:
/// `driver.py ORIG NEW FUNC MAKE SIZES` builds the arguments with `MAKE`
/// (Python code over `rng`, a seeded NumPy Generator, `s`, the size tuple,
/// and `mod`, the module) for each size in `SIZES` (a Python list of
/// tuples), calls `FUNC` in both modules and compares the results and the
/// arguments after the call: values (1e-4 where float32 arithmetic is
/// involved, else 1e-10), dtypes, shapes, list/array/int/float types.
/// Prints the number of sizes that agree.
pub const PY_DRIVER: &str = r#"
import ast, importlib.util, sys
import numpy as np

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

def same(a, b, path="result"):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), f"{path}: {type(a)} vs {type(b)}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        # float32 arithmetic anywhere (output or inputs) sets the tolerance.
        tol = 1e-4 if a.dtype == np.float32 or F32_INPUTS else 1e-10
        assert np.allclose(a, b, rtol=tol, atol=tol), f"{path}: max diff {np.max(np.abs(a - b))}"
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-10 * (1 + abs(a)), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"

orig, new, func, make = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
sizes = ast.literal_eval(sys.argv[5])
F32_INPUTS = False
runs = 0
for s in sizes:
    outs = []
    for path, name in [(orig, "gs_orig"), (new, "gs_new")]:
        mod = load(path, name)
        rng = np.random.default_rng(7)
        args = eval(make)
        F32_INPUTS = any(isinstance(x, np.ndarray) and x.dtype == np.float32 for x in args)
        res = getattr(mod, func)(*args)
        outs.append((res, args))
    same(outs[0][0], outs[1][0])
    same(outs[0][1], outs[1][1], "arguments after the call")
    runs += 1
print(runs)
"#;

/// Runs [`PY_DRIVER`] (written to `driver`) on `orig` and the rewritten
/// text (written to `new`) for `call` = (function, MAKE code) at `sizes`:
/// the number of sizes that agree, or the driver's error with the
/// rewritten text.
pub fn run_py_driver(
    py: &str,
    driver: &Path,
    orig: &Path,
    (new, fixed): (&Path, &str),
    (func, make): (&str, &str),
    sizes: &str,
) -> Result<usize, String> {
    std::fs::write(new, fixed).unwrap();
    let out = Command::new(py)
        .arg(driver)
        .arg(orig)
        .arg(new)
        .arg(func)
        .arg(make)
        .arg(sizes)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{}\n--- rewritten:\n{fixed}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Modules may print at import; the driver's count is the last line.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<usize>().ok())
        .unwrap_or(0))
}

/// How a generated C program drives one fixture: it reads the sizes from
/// its arguments into `dims` (`gs_m`, ...), fills the `heap` arrays
/// (name, element count in terms of `dims`) and the `globals` with
/// xorshift values in [-1, 1], makes `call`, and prints every element of
/// `outputs`.
pub struct CDriver<'a> {
    pub ty: &'a str,
    pub dims: &'a [&'a str],
    pub heap: Vec<(String, String)>,
    pub globals: Vec<String>,
    pub call: &'a str,
    pub outputs: Vec<String>,
}

/// `text` with each `#define NAME ...` of `names` set to the matching size.
pub fn set_defines<S: AsRef<str>>(text: &str, names: &[S], size: &[u32]) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let hit = names.iter().enumerate().find(|(_, n)| {
            let n = n.as_ref();
            t.strip_prefix("#define ")
                .is_some_and(|r| r.starts_with(n) && r[n.len()..].starts_with([' ', '\t']))
        });
        match hit {
            Some((i, n)) => out.push_str(&format!("#define {} {}\n", n.as_ref(), size[i])),
            None => out.push_str(line),
        }
    }
    out
}

/// The driver program around `source` (which it `#include`s, its own
/// `main` renamed away).
pub fn c_harness(d: &CDriver<'_>, source: &Path) -> String {
    let t = d.ty;
    let reads: Vec<String> = d
        .dims
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{v} = atoi(argv[{}])", i + 1))
        .collect();
    let voids: String = d.dims.iter().map(|v| format!(" (void){v};")).collect();
    let mut s = format!(
        "#define main gs_fixture_main\n#include \"{}\"\n#undef main\n#include <stdio.h>\n#include <stdlib.h>\n\
         static unsigned long long gs_s = 88172645463325252ULL;\n\
         static double gs_rand(void) {{ gs_s ^= gs_s << 13; gs_s ^= gs_s >> 7; gs_s ^= gs_s << 17; return (double)(gs_s % 2001) / 1000.0 - 1.0; }}\n\
         int main(int argc, char **argv) {{\n  int {};\n {voids}\n",
        source.display(),
        reads.join(", ")
    );
    for (name, count) in &d.heap {
        s.push_str(&format!(
            "  long gs_c_{name} = {count};\n  {t} *{name} = ({t} *)malloc(sizeof({t}) * (size_t)gs_c_{name});\n  for (long t = 0; t < gs_c_{name}; t++) {name}[t] = ({t})gs_rand();\n"
        ));
    }
    for g in &d.globals {
        s.push_str(&format!(
            "  long gs_c_{g} = (long)(sizeof({g}) / sizeof({t}));\n  {{ {t} *p = ({t} *)(void *){g}; for (long t = 0; t < gs_c_{g}; t++) p[t] = ({t})gs_rand(); }}\n"
        ));
    }
    s.push_str(&format!("  {}\n", d.call));
    for o in &d.outputs {
        s.push_str(&format!(
            "  {{ {t} *p = ({t} *)(void *){o}; for (long t = 0; t < gs_c_{o}; t++) printf(\"%.17g\\n\", (double)p[t]); }}\n"
        ));
    }
    s.push_str("  return 0;\n}\n");
    s
}

/// Writes `text` (the fixture, original or rewritten) as `tag.ext` in
/// `dir`, compiles it inside its driver with gcc (g++ for `cpp`) against
/// OpenBLAS, headers also from `include`, runs it at `size` (one thread)
/// and returns the printed values.
pub fn compile_run_c(
    dir: &Path,
    tag: &str,
    d: &CDriver<'_>,
    text: &str,
    ext: &str,
    include: Option<&Path>,
    size: &[u32],
) -> Result<Vec<f64>, String> {
    let src = dir.join(format!("{tag}.{ext}"));
    std::fs::write(&src, text).unwrap();
    let h = dir.join(format!("{tag}_main.{ext}"));
    std::fs::write(&h, c_harness(d, &src)).unwrap();
    let exe = dir.join(tag);
    let mut cc = Command::new(if ext == "cpp" { "g++" } else { "gcc" });
    cc.arg("-O1").arg("-w");
    if let Some(inc) = include {
        cc.arg("-I").arg(inc);
    }
    let out = cc
        .arg(&h)
        .arg("-o")
        .arg(&exe)
        .arg("-lopenblas")
        .arg("-lm")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{tag}: compile failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let run = Command::new(&exe)
        .args(size.iter().map(|x| x.to_string()))
        .env("OPENBLAS_NUM_THREADS", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !run.status.success() {
        return Err(format!("{tag}: run failed: {:?}", run.status));
    }
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| {
            l.trim()
                .parse::<f64>()
                .map_err(|_| format!("{tag}: unexpected output line {l:?}"))
        })
        .collect()
}

/// The outputs of one size run, original (`a`) and rewritten (`b`), agree
/// within `tol`, and the original printed something other than zeros (a
/// driver that prints nothing proves nothing). `what` names the run in the
/// error; `fixed` is shown with a disagreement.
pub fn check_run(
    a: Result<Vec<f64>, String>,
    b: Result<Vec<f64>, String>,
    tol: f64,
    what: &str,
    fixed: &str,
) -> Result<(), String> {
    let (a, b) = (a?, b?);
    if a.is_empty() || a.iter().all(|x| *x == 0.0) {
        return Err(format!("{what}: the original printed nothing useful"));
    }
    agree(&a, &b, tol).map_err(|e| format!("{what}: {e}\n--- rewritten:\n{fixed}"))
}

/// Compiles and runs the original (`text`) and the rewritten (`fixed`)
/// fixture `file` at each size (`run(tag, text, size)` does one) and checks
/// each pair with [`check_run`] within `tol`: the number of sizes that
/// agree; what does not is added to `failures`.
pub fn compare_sizes<S: Copy + std::fmt::Debug>(
    file: &str,
    sizes: &[S],
    tol: f64,
    (text, fixed): (&str, &str),
    run: impl Fn(&str, &str, S) -> Result<Vec<f64>, String>,
    failures: &mut Vec<String>,
) -> usize {
    let mut runs = 0;
    for (n, size) in sizes.iter().enumerate() {
        let tag = format!("{}_{n}", file.replace(['/', '.'], "_"));
        let a = run(&format!("{tag}_orig"), text, *size);
        let b = run(&format!("{tag}_fixed"), fixed, *size);
        match check_run(a, b, tol, &format!("{file} {size:?}"), fixed) {
            Ok(()) => runs += 1,
            Err(e) => failures.push(e),
        }
    }
    runs
}

/// One Python function driven by [`PY_DRIVER`]: the fixture (relative to
/// tests/), the function, and the code that builds its arguments.
pub struct PyCase {
    pub file: &'static str,
    pub func: &'static str,
    /// Python code building the argument list from `rng` (a NumPy
    /// Generator), `s` (the size tuple) and `mod` (the module).
    pub make: &'static str,
}

/// Fixes each case's file until stable, lets `accept(case, fixed, rounds)`
/// check the rewrite, and runs [`PY_DRIVER`] on the original and the
/// rewritten module at `sizes` (a Python list of tuples): the number of
/// size runs that agree, and the failures.
pub fn py_differential(
    py: &str,
    tag: &str,
    cases: &[PyCase],
    sizes: &str,
    accept: impl Fn(&PyCase, &str, usize) -> Result<(), String>,
) -> (usize, Vec<String>) {
    let dir = tempdir(tag);
    let driver = dir.join("driver.py");
    std::fs::write(&driver, PY_DRIVER).unwrap();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (n, case) in cases.iter().enumerate() {
        let path = root().join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 8);
        if let Err(e) = accept(case, &fixed, rounds) {
            failures.push(e);
            continue;
        }
        let new = dir.join(format!("fixed_{n}.py"));
        let call = (case.func, case.make);
        match run_py_driver(py, &driver, &path, (&new, &fixed), call, sizes) {
            Ok(n) => runs += n,
            Err(e) => failures.push(format!("{} {}: {e}", case.file, case.func)),
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    (runs, failures)
}
