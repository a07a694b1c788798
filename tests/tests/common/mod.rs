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
    let lang = Lang::from_path(&p).unwrap();
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
