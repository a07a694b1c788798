//! `gemmscope check`: walks paths (honouring .gitignore), reads files, runs
//! the analyzers on both cores, and collects results in path order. All file
//! I/O of the CLI happens here; the analyzers only see text.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gemmscope_analyzers::{analyze, Finding, IncludeResolver, Lang, SyntaxProblem};

/// Files larger than this are skipped with a warning (generated code, data).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Headers larger than this are not read for macros.
const MAX_INCLUDE_BYTES: u64 = 4 * 1024 * 1024;

/// The analysis of one file.
pub struct FileResult {
    /// The path as given or found by the walk (relative if the input was).
    pub path: String,
    pub text: String,
    pub findings: Vec<Finding>,
    pub syntax_problems: Vec<SyntaxProblem>,
}

/// A problem with one input path.
pub struct PathMessage {
    pub path: String,
    pub message: String,
}

/// Everything `check` found, in path order.
pub struct Outcome {
    pub files: Vec<FileResult>,
    pub errors: Vec<PathMessage>,
    pub warnings: Vec<PathMessage>,
}

/// Reads `#include "x.h"` relative to the including file's folder.
pub struct FsIncludes;

impl IncludeResolver for FsIncludes {
    fn resolve(&self, from_path: &str, include: &str) -> Option<String> {
        let dir = Path::new(from_path).parent()?;
        let p = dir.join(include);
        let meta = std::fs::metadata(&p).ok()?;
        if !meta.is_file() || meta.len() > MAX_INCLUDE_BYTES {
            return None;
        }
        std::fs::read(&p)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// Expands the command-line paths into the files to analyse.
fn collect(
    paths: &[PathBuf],
    errors: &mut Vec<PathMessage>,
    warnings: &mut Vec<PathMessage>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        let shown = p.display().to_string();
        match std::fs::metadata(p) {
            Err(e) => errors.push(PathMessage {
                path: shown,
                message: format!("cannot read: {e}"),
            }),
            Ok(m) if m.is_file() => {
                if Lang::from_path(&shown).is_some() {
                    files.push(p.clone());
                } else {
                    warnings.push(PathMessage {
                        path: shown,
                        message: "skipped: not a C, CUDA/C++ or Python file".into(),
                    });
                }
            }
            Ok(_) => {
                let walk = ignore::WalkBuilder::new(p)
                    .require_git(false)
                    .hidden(true)
                    .build();
                for entry in walk {
                    match entry {
                        Ok(e) => {
                            let is_file = e.file_type().is_some_and(|t| t.is_file());
                            if is_file && Lang::from_path(&e.path().to_string_lossy()).is_some() {
                                files.push(e.into_path());
                            }
                        }
                        Err(e) => errors.push(PathMessage {
                            path: shown.clone(),
                            message: format!("walking: {e}"),
                        }),
                    }
                }
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

enum One {
    Done(FileResult),
    Error(PathMessage),
    Skipped(PathMessage),
}

fn check_one(path: &Path) -> One {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return One::Skipped(PathMessage {
                path: shown,
                message: format!(
                    "skipped: {} bytes is over the {} MiB limit",
                    m.len(),
                    MAX_FILE_BYTES >> 20
                ),
            })
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return One::Error(PathMessage {
                path: shown,
                message: format!("cannot read: {e}"),
            })
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // A bug in a detector must not take the whole run down: report it for
    // this file and go on with the others.
    let result = std::panic::catch_unwind(|| analyze(&shown, &text, &FsIncludes));
    match result {
        Ok(Ok(a)) => One::Done(FileResult {
            path: shown,
            findings: a.findings,
            syntax_problems: a.syntax_problems,
            text,
        }),
        Ok(Err(e)) => One::Skipped(PathMessage {
            path: shown,
            message: e.to_string(),
        }),
        Err(_) => One::Error(PathMessage {
            path: shown,
            message: "internal error while analysing this file (a bug in gemmscope; please report it with the file)".into(),
        }),
    }
}

/// Checks every file under `paths`, using all available cores.
pub fn check_paths(paths: &[PathBuf]) -> Outcome {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let files = collect(paths, &mut errors, &mut warnings);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, One)>> = Mutex::new(Vec::with_capacity(files.len()));
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    // Quiet the default panic message for panics we catch per file.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = files.get(i) else { break };
                let one = check_one(p);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, one));
            });
        }
    });
    std::panic::set_hook(hook);
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, r) in results {
        match r {
            One::Done(f) => out.push(f),
            One::Error(e) => errors.push(e),
            One::Skipped(w) => warnings.push(w),
        }
    }
    Outcome {
        files: out,
        errors,
        warnings,
    }
}
