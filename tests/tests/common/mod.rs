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
