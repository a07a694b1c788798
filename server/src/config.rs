//! `gemmscope.toml` / `[tool.gemmscope]` in `pyproject.toml`: found by
//! walking up from each checked file (the nearest one applies, as with
//! ruff; there is no inheritance between them), then merged with the
//! command-line flags, a flag replacing the key's value. Unknown keys are
//! an error naming the key and the file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gemmscope_analyzers::detectors::all_rules;
use serde::Deserialize;

use crate::advice::BenchMode;

/// A finding's level (SARIF's `level`; GitHub's annotation kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "note" => Some(Level::Note),
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

/// The keys of a configuration file (kebab-case, as in TOML).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Rule codes or prefixes to report (`["GS1", "GS201"]`); default all.
    pub select: Option<Vec<String>>,
    /// Rule codes or prefixes not to report.
    pub ignore: Option<Vec<String>>,
    /// Level per code or prefix (`GS6 = "error"`); the longest prefix wins.
    pub severity: Option<HashMap<String, Level>>,
    /// The lowest level that fails the run (default `warning`).
    pub fail_on: Option<Level>,
    /// Fail only on findings where some candidate is at least this many
    /// times faster.
    pub fail_on_speedup: Option<f64>,
    /// A finding whose best option is less than this many times faster
    /// than the code as written (by its estimate) is a note, not a
    /// warning: no advice to act on (default 1.5).
    pub min_speedup: Option<f64>,
    /// `off`, `cached` or `on`.
    pub bench: Option<BenchMode>,
    /// A baseline file, relative to the configuration file.
    pub baseline: Option<PathBuf>,
    /// A `compile_commands.json` (or its folder), relative to the
    /// configuration file.
    pub compile_commands: Option<PathBuf>,
    /// Gitignore-style patterns, relative to the configuration file, of
    /// files not to check (applied to named files too).
    pub exclude: Option<Vec<String>>,
    /// Sizes by function: `[sizes.matmul] n = 4096` gives `n` in `matmul`
    /// that value (docs/sizes.md); the user's word, over what the code says.
    pub sizes: Option<BTreeMap<String, BTreeMap<String, u64>>>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyTool>,
}

#[derive(Deserialize)]
struct PyTool {
    gemmscope: Option<FileConfig>,
}

/// One configuration file, loaded and checked.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: FileConfig,
    exclude: Option<ignore::gitignore::Gitignore>,
}

impl Loaded {
    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// Command-line values; `None` leaves the configuration's value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub fail_on: Option<Level>,
    pub fail_on_speedup: Option<f64>,
    pub min_speedup: Option<f64>,
    pub bench: Option<BenchMode>,
    pub baseline: Option<PathBuf>,
    pub compile_commands: Option<PathBuf>,
    /// `--no-config`: use no configuration file.
    pub no_config: bool,
    /// `--config FILE`: use this file for every checked file.
    pub config: Option<PathBuf>,
    /// `--no-prefilter`: parse and analyse every file.
    pub no_prefilter: bool,
}

/// [`Settings::min_speedup`] where nothing sets it.
pub const DEFAULT_MIN_SPEEDUP: f64 = 1.5;

/// The settings that apply to one file.
#[derive(Clone, Debug)]
pub struct Settings {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    /// (prefix, level), longest prefix first.
    pub severity: Vec<(String, Level)>,
    pub fail_on: Level,
    pub fail_on_speedup: Option<f64>,
    /// Below this best speed-up a finding is a note ([`FileConfig::min_speedup`]).
    pub min_speedup: f64,
    pub bench: BenchMode,
    pub baseline: Option<PathBuf>,
    pub compile_commands: Option<PathBuf>,
    /// The configuration file these came from, if any.
    pub config_path: Option<PathBuf>,
    /// Skip files that the prefilter shows cannot hold a finding
    /// (`gemmscope_analyzers::prefilter`; `--no-prefilter` turns it off).
    pub prefilter: bool,
    /// `[sizes.FUNCTION] NAME = VALUE` (handed to the analysis).
    pub sizes: BTreeMap<String, BTreeMap<String, u64>>,
}

fn matches(prefix: &str, code: &str) -> bool {
    code.len() >= prefix.len() && code[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl Settings {
    /// Whether `code` is reported: some `select` prefix matches and no
    /// `ignore` prefix at least as long as the longest matching one does
    /// (`select = ["GS1"]`, `ignore = ["GS101"]`: all GS1xx but GS101;
    /// `select = ["GS101"]`, `ignore = ["GS1"]`: GS101 only).
    pub fn selected(&self, code: &str) -> bool {
        let sel = self
            .select
            .iter()
            .filter(|p| matches(p, code))
            .map(|p| p.len())
            .max();
        let Some(sel) = sel else { return false };
        !self
            .ignore
            .iter()
            .any(|p| matches(p, code) && p.len() >= sel)
    }

    /// The level of `code` (default `warning`).
    pub fn level(&self, code: &str) -> Level {
        self.severity
            .iter()
            .find(|(p, _)| matches(p, code))
            .map(|(_, l)| *l)
            .unwrap_or(Level::Warning)
    }
}

/// Checks that every selector is a prefix of some rule code.
fn check_codes(key: &str, codes: &[String]) -> Result<(), String> {
    let rules = all_rules();
    for c in codes {
        if c.is_empty() || !rules.iter().any(|r| matches(c, r.meta().code)) {
            let known: Vec<&str> = rules.iter().map(|r| r.meta().code).collect();
            return Err(format!(
                "`{key}`: `{c}` is not a rule code or a prefix of one (known: {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

fn validate(c: &FileConfig) -> Result<(), String> {
    if let Some(s) = &c.select {
        check_codes("select", s)?;
    }
    if let Some(s) = &c.ignore {
        check_codes("ignore", s)?;
    }
    if let Some(s) = &c.severity {
        let keys: Vec<String> = s.keys().cloned().collect();
        check_codes("severity", &keys)?;
    }
    if let Some(x) = c.min_speedup {
        if !(x.is_finite() && x >= 1.0) {
            return Err(format!(
                "`min-speedup`: {x} is not a number of times faster of at least 1"
            ));
        }
    }
    if let Some(x) = c.fail_on_speedup {
        if !(x.is_finite() && x > 0.0) {
            return Err(format!(
                "`fail-on-speedup`: {x} is not a positive number of times faster"
            ));
        }
    }
    Ok(())
}

/// Reads one configuration file. `Ok(None)`: a `pyproject.toml` without a
/// `[tool.gemmscope]` table.
pub fn load(path: &Path) -> Result<Option<Loaded>, String> {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .filter(|_| path.is_absolute())
        .unwrap_or(path);
    let shown = rel.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let config = if is_pyproject {
        match toml::from_str::<Pyproject>(&text) {
            Ok(p) => match p.tool.and_then(|t| t.gemmscope) {
                Some(c) => c,
                None => return Ok(None),
            },
            // A broken pyproject.toml is someone else's problem unless it
            // has our table.
            Err(_) if !text.contains("tool.gemmscope") => return Ok(None),
            Err(e) => return Err(format!("{shown}: {}", one_line(&e.to_string()))),
        }
    } else {
        toml::from_str::<FileConfig>(&text)
            .map_err(|e| format!("{shown}: {}", one_line(&e.to_string())))?
    };
    validate(&config).map_err(|e| format!("{shown}: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let exclude = match &config.exclude {
        None => None,
        Some(pats) => {
            let mut b = ignore::gitignore::GitignoreBuilder::new(dir);
            for p in pats {
                b.add_line(None, p)
                    .map_err(|e| format!("{shown}: `exclude`: {e}"))?;
            }
            Some(b.build().map_err(|e| format!("{shown}: `exclude`: {e}"))?)
        }
    };
    Ok(Some(Loaded {
        path: path.to_path_buf(),
        config,
        exclude,
    }))
}

/// toml's messages span several lines (with a source excerpt); keep the
/// location and the message on one line.
fn one_line(s: &str) -> String {
    let mut lines = s.lines().filter(|l| !l.trim().is_empty());
    let head = lines.next().unwrap_or("").trim().trim_end_matches(':');
    let last = s
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if last == head || last.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {last}")
    }
}

/// Finds and caches configuration files per folder.
pub struct Configs {
    overrides: Overrides,
    /// The `--config` file, loaded once.
    forced: Option<Arc<Loaded>>,
    by_dir: HashMap<PathBuf, Option<Arc<Loaded>>>,
}

impl Configs {
    pub fn new(overrides: Overrides) -> Result<Configs, String> {
        let forced = match &overrides.config {
            Some(p) => match load(p)? {
                Some(l) => Some(Arc::new(l)),
                None => return Err(format!("{}: has no [tool.gemmscope] table", p.display())),
            },
            None => None,
        };
        Ok(Configs {
            overrides,
            forced,
            by_dir: HashMap::new(),
        })
    }

    /// The configuration file nearest to `dir` (walking up).
    fn nearest(&mut self, dir: &Path) -> Result<Option<Arc<Loaded>>, String> {
        if let Some(c) = self.by_dir.get(dir) {
            return Ok(c.clone());
        }
        let mut found = None;
        for name in ["gemmscope.toml", "pyproject.toml"] {
            let p = dir.join(name);
            if p.is_file() {
                if let Some(l) = load(&p)? {
                    found = Some(Arc::new(l));
                    break;
                }
            }
        }
        if found.is_none() {
            if let Some(parent) = dir.parent() {
                found = self.nearest(parent)?;
            }
        }
        self.by_dir.insert(dir.to_path_buf(), found.clone());
        Ok(found)
    }

    /// The configuration file that applies to `file`.
    pub fn for_file(&mut self, file: &Path) -> Result<Option<Arc<Loaded>>, String> {
        if self.overrides.no_config {
            return Ok(None);
        }
        if let Some(f) = &self.forced {
            return Ok(Some(f.clone()));
        }
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
        self.nearest(&dir)
    }

    /// Whether the configuration's `exclude` patterns exclude `file`.
    pub fn excluded(loaded: &Loaded, file: &Path) -> bool {
        let Some(gi) = &loaded.exclude else {
            return false;
        };
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        gi.matched_path_or_any_parents(&abs, false).is_ignore()
    }

    /// The configuration merged with the flags.
    pub fn settings(&self, loaded: Option<&Loaded>) -> Settings {
        let o = &self.overrides;
        let c = loaded.map(|l| &l.config);
        let rel = |p: &PathBuf| match loaded {
            Some(l) if p.is_relative() => l.dir().join(p),
            _ => p.clone(),
        };
        let mut severity: Vec<(String, Level)> = c
            .and_then(|c| c.severity.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
        severity.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Settings {
            select: o
                .select
                .clone()
                .or_else(|| c.and_then(|c| c.select.clone()))
                .unwrap_or_else(|| vec!["GS".into()]),
            ignore: o
                .ignore
                .clone()
                .or_else(|| c.and_then(|c| c.ignore.clone()))
                .unwrap_or_default(),
            severity,
            fail_on: o
                .fail_on
                .or_else(|| c.and_then(|c| c.fail_on))
                .unwrap_or(Level::Warning),
            fail_on_speedup: o
                .fail_on_speedup
                .or_else(|| c.and_then(|c| c.fail_on_speedup)),
            min_speedup: o
                .min_speedup
                .or_else(|| c.and_then(|c| c.min_speedup))
                .unwrap_or(DEFAULT_MIN_SPEEDUP),
            bench: o
                .bench
                .or_else(|| c.and_then(|c| c.bench))
                .unwrap_or_default(),
            baseline: o
                .baseline
                .clone()
                .or_else(|| c.and_then(|c| c.baseline.as_ref()).map(rel)),
            compile_commands: o
                .compile_commands
                .clone()
                .or_else(|| c.and_then(|c| c.compile_commands.as_ref()).map(rel)),
            config_path: loaded.map(|l| l.path.clone()),
            prefilter: !o.no_prefilter,
            sizes: c.and_then(|c| c.sizes.clone()).unwrap_or_default(),
        }
    }
}

/// Validates `--select`/`--ignore` values from the command line.
pub fn check_flag_codes(flag: &str, codes: &[String]) -> Result<(), String> {
    check_codes(flag, codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml_text: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gemmscope.toml");
        std::fs::write(&p, toml_text).unwrap();
        let l = load(&p).unwrap().unwrap();
        Configs::new(Overrides::default())
            .unwrap()
            .settings(Some(&l))
    }

    #[test]
    fn select_and_ignore_by_prefix_most_specific_wins() {
        let s = settings("select = [\"GS1\"]\nignore = [\"GS101\"]\n");
        assert!(s.selected("GS102"));
        assert!(!s.selected("GS101"));
        assert!(!s.selected("GS201"));
        let s = settings("select = [\"GS101\"]\nignore = [\"GS1\"]\n");
        assert!(s.selected("GS101"));
        assert!(!s.selected("GS102"));
        let s = settings("");
        assert!(s.selected("GS601"));
    }

    #[test]
    fn severity_longest_prefix_wins() {
        let s = settings("[severity]\nGS = \"note\"\nGS6 = \"error\"\nGS601 = \"warning\"\n");
        assert_eq!(s.level("GS101"), Level::Note);
        assert_eq!(s.level("GS602"), Level::Error);
        assert_eq!(s.level("GS601"), Level::Warning);
    }

    #[test]
    fn unknown_keys_and_codes_are_errors_naming_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gemmscope.toml");
        std::fs::write(&p, "select = [\"GS1\"]\nfail-on-speed = 3\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("gemmscope.toml"), "{e}");
        assert!(e.contains("fail-on-speed"), "{e}");
        std::fs::write(&p, "select = [\"GS9\"]\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("`GS9`"), "{e}");
        let py = dir.path().join("pyproject.toml");
        std::fs::write(&py, "[tool.gemmscope]\nbench = \"sometimes\"\n").unwrap();
        let e = load(&py).unwrap_err();
        assert!(
            e.contains("pyproject.toml") && e.contains("sometimes"),
            "{e}"
        );
        std::fs::write(&py, "[tool.black]\nline-length = 1\n").unwrap();
        assert!(load(&py).unwrap().is_none());
    }
}
