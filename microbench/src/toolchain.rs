//! What this machine has for running candidates: C compiler, OpenBLAS,
//! Python with NumPy/PyTorch. Probed once by the parent (it runs small
//! processes) and handed to each child in its job.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sandbox::{self, Exit, Limits};

/// A program found on this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub path: String,
    /// The version line it printed (`gcc (Debian 12.2.0-14) 12.2.0`).
    pub version: String,
}

/// A Python interpreter and the array libraries it can import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Python {
    pub tool: Tool,
    pub numpy: Option<String>,
    pub torch: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// The system C compiler (`$CC`, else `cc`, `gcc`, `clang`).
    pub cc: Option<Tool>,
    /// OpenBLAS usable from C (`cblas.h` compiles and `-lopenblas` links):
    /// its `openblas_get_config()` string.
    pub openblas: Option<String>,
    /// Compiler flags that made `cblas.h` and `-lopenblas` work (an `-I` for
    /// Debian's `openblas-pthread` include dir, then `-lopenblas`); the
    /// kernel's source file goes before them.
    #[serde(default)]
    pub openblas_flags: Vec<String>,
    pub python: Option<Python>,
}

/// How long one probing process may take (importing PyTorch is slow).
const PROBE_WALL: Duration = Duration::from_secs(30);

impl Toolchain {
    /// Looks at this machine: the C compiler, OpenBLAS (by compiling and
    /// running a tiny program in a private temp dir), and Python with NumPy
    /// and PyTorch (one `python3 -c` run). Every process runs under the
    /// sandbox's limits with a wall-clock deadline; anything that fails or
    /// hangs is simply reported as absent.
    pub fn probe() -> Toolchain {
        let cc = probe_cc();
        let (openblas, openblas_flags) = match &cc {
            Some(cc) => match probe_openblas(&cc.path) {
                Some((config, flags)) => (Some(config), flags),
                None => (None, Vec::new()),
            },
            None => (None, Vec::new()),
        };
        Toolchain {
            cc,
            openblas,
            openblas_flags,
            python: probe_python(),
        }
    }
}

/// Runs `argv` in `cwd` under small limits; its stdout when it exits 0.
fn run_probe(argv: &[&str], cwd: &Path) -> Option<String> {
    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let limits = Limits {
        cpu_seconds: 60,
        // PyTorch maps a lot of address space; the wall clock is the guard.
        address_space: None,
        wall: PROBE_WALL,
        nice: 0,
    };
    let out = sandbox::run(&argv, b"", cwd, &limits, &[]).ok()?;
    (out.exit == Exit::Code(0)).then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The full path of `prog` (as given when it contains a `/`), searched in
/// `$PATH`.
fn which(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// `$CC`, else `cc`, `gcc`, `clang`: the first that prints a version.
fn probe_cc() -> Option<Tool> {
    let mut names: Vec<String> = Vec::new();
    if let Ok(cc) = std::env::var("CC") {
        if !cc.trim().is_empty() {
            names.push(cc.trim().to_string());
        }
    }
    names.extend(["cc", "gcc", "clang"].map(String::from));
    let cwd = std::env::temp_dir();
    names.iter().find_map(|name| {
        let path = which(name)?;
        let path = path.to_string_lossy().into_owned();
        let out = run_probe(&[&path, "--version"], &cwd)?;
        let version = first_line(&out);
        (!version.is_empty()).then_some(Tool { path, version })
    })
}

const OPENBLAS_PROBE: &str = r#"#include <stdio.h>
#include <cblas.h>
char *openblas_get_config(void);
int main(void) {
    float a = 1.0f, b = 2.0f, c = 0.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
    if (c != 2.0f) return 1;
    printf("%s\n", openblas_get_config());
    return 0;
}
"#;

/// Include dirs to try for `cblas.h`, plain first (Debian puts OpenBLAS's
/// own under the multiarch dir).
fn openblas_include_candidates() -> Vec<Vec<String>> {
    let mut v = vec![Vec::new()];
    let mut dirs = vec![
        "/usr/include/openblas".to_string(),
        "/usr/local/include/openblas".to_string(),
        "/opt/OpenBLAS/include".to_string(),
    ];
    if let Ok(rd) = std::fs::read_dir("/usr/include") {
        let mut multi: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with("-linux-gnu"))
            .flat_map(|e| {
                ["openblas-pthread", "openblas-openmp", "openblas-serial"]
                    .map(|s| e.path().join(s).to_string_lossy().into_owned())
            })
            .collect();
        multi.sort();
        dirs.splice(0..0, multi);
    }
    for d in dirs {
        if Path::new(&d).join("cblas.h").is_file() {
            v.push(vec![format!("-I{d}")]);
        }
    }
    v
}

/// Compiles and runs a tiny `cblas_sgemm` program; the config string and
/// the flags that worked.
fn probe_openblas(cc: &str) -> Option<(String, Vec<String>)> {
    let dir = crate::sandbox::private_dir("gemmscope-probe-", &std::env::temp_dir()).ok()?;
    std::fs::write(dir.path().join("probe.c"), OPENBLAS_PROBE).ok()?;
    for inc in openblas_include_candidates() {
        let mut argv: Vec<&str> = vec![cc, "-O1", "-o", "probe", "probe.c"];
        let mut flags = inc.clone();
        flags.push("-lopenblas".into());
        argv.extend(flags.iter().map(String::as_str));
        if run_probe(&argv, dir.path()).is_none() {
            continue;
        }
        let exe = dir.path().join("probe");
        if let Some(out) = run_probe(&[&exe.to_string_lossy()], dir.path()) {
            let config = first_line(&out);
            if !config.is_empty() {
                return Some((config, flags));
            }
        }
    }
    None
}

const PYTHON_PROBE: &str = r#"
import json, sys
r = {"exe": sys.executable, "version": sys.version.split()[0], "numpy": None, "torch": None}
try:
    import numpy
    r["numpy"] = numpy.__version__
except Exception:
    pass
try:
    import torch
    r["torch"] = torch.__version__
except Exception:
    pass
print(json.dumps(r))
"#;

/// `$GEMMSCOPE_PYTHON`, else `python3`: its version and what it imports.
fn probe_python() -> Option<Python> {
    let name = std::env::var("GEMMSCOPE_PYTHON")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "python3".into());
    let path = which(name.trim())?;
    let path = path.to_string_lossy().into_owned();
    // Run it from an empty dir so that no `numpy.py` nearby shadows the real one.
    let dir = crate::sandbox::private_dir("gemmscope-probe-", &std::env::temp_dir()).ok()?;
    // The same interpreter flags as the Python candidates, so that the probe
    // sees exactly the packages a run will import.
    let mut argv: Vec<&str> = vec![&path];
    argv.extend_from_slice(crate::candidates::python::PYTHON_FLAGS);
    argv.extend_from_slice(&["-c", PYTHON_PROBE]);
    let out = run_probe(&argv, dir.path())?;
    parse_python_probe(&out, &path)
}

fn parse_python_probe(out: &str, path: &str) -> Option<Python> {
    let line = out.lines().rev().find(|l| !l.trim().is_empty())?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    let exe = s("exe").filter(|e| !e.is_empty());
    Some(Python {
        tool: Tool {
            path: exe.unwrap_or_else(|| path.to_string()),
            version: format!("Python {}", s("version")?),
        },
        numpy: s("numpy"),
        torch: s("torch"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_probe_output_is_parsed() {
        let p = parse_python_probe(
            "noise\n{\"exe\": \"/usr/bin/python3\", \"version\": \"3.11.7\", \"numpy\": \"2.4.6\", \"torch\": null}\n",
            "python3",
        )
        .unwrap();
        assert_eq!(p.tool.path, "/usr/bin/python3");
        assert_eq!(p.tool.version, "Python 3.11.7");
        assert_eq!(p.numpy.as_deref(), Some("2.4.6"));
        assert_eq!(p.torch, None);
        assert!(parse_python_probe("garbage", "python3").is_none());
    }

    #[test]
    fn probe_finds_what_is_here() {
        let tc = Toolchain::probe();
        // Whatever this machine has, a found tool has a version line, and
        // OpenBLAS comes with the flags that linked it.
        if let Some(cc) = &tc.cc {
            assert!(!cc.version.is_empty() && Path::new(&cc.path).is_file());
        }
        if tc.openblas.is_some() {
            assert!(tc.openblas_flags.iter().any(|f| f == "-lopenblas"));
        }
        if let Some(py) = &tc.python {
            assert!(py.tool.version.starts_with("Python "));
        }
        // A Toolchain from an older store entry (no flags field) still reads.
        let old = r#"{"cc":null,"openblas":null,"python":null}"#;
        let t: Toolchain = serde_json::from_str(old).unwrap();
        assert!(t.openblas_flags.is_empty());
    }
}
