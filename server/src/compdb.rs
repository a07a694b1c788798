//! `compile_commands.json`: the `-D`/`-U` macros and include directories a
//! C or CUDA file is compiled with, so that sizes defined on the command
//! line (`-DN=4096`) or in a project header found through `-I` resolve.
//!
//! Found as clangd finds it: in the file's folder or its `build/`
//! subfolder, then in each parent folder the same way; or named with
//! `--compile-commands PATH` (the file or its folder).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gemmscope_analyzers::{BuildContext, IncludeResolver};
use serde::Deserialize;

/// Databases larger than this are not read.
const MAX_DB_BYTES: u64 = 512 * 1024 * 1024;
/// Headers larger than this are not read for macros.
const MAX_INCLUDE_BYTES: u64 = 4 * 1024 * 1024;

/// What the build says about one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub build: BuildContext,
    /// `-iquote` folders (quoted includes only).
    pub quote_dirs: Vec<PathBuf>,
    /// `-I` folders, in order.
    pub include_dirs: Vec<PathBuf>,
    /// The last optimisation flag (`-O2`, `-O3`, `-Ofast`, `-Os`); `None`
    /// is the compiler's default, `-O0`.
    pub opt: Option<String>,
    /// `-march=native` (or `-mcpu=native`, `-mtune=native` alone not).
    pub native: bool,
}

#[derive(Deserialize)]
struct RawEntry {
    directory: String,
    file: String,
    #[serde(default)]
    arguments: Option<Vec<String>>,
    #[serde(default)]
    command: Option<String>,
}

/// Splits a shell command line into words (quotes and backslashes as a
/// POSIX shell reads them; no expansion).
pub fn split_command(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => cur.push('\\'),
                        },
                        d => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Reads `-D`, `-U`, `-I`, `-iquote`, `-isystem` (ignored: system headers
/// are not read), `-O...` and `-march=native` from compiler arguments; relative folders are relative to
/// `dir`.
pub fn parse_flags(args: &[String], dir: &Path) -> Flags {
    let mut f = Flags::default();
    let mut i = 0;
    let take = |i: &mut usize, flag: &str, arg: &str| -> Option<String> {
        if arg == flag {
            *i += 1;
            args.get(*i).cloned()
        } else {
            arg.strip_prefix(flag)
                .map(|v| v.trim_start_matches('=').to_string())
        }
    };
    let join = |p: String| -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    };
    while i < args.len() {
        let a = args[i].as_str();
        if let Some(v) = take(&mut i, "-D", a).or_else(|| take(&mut i, "--define-macro", a)) {
            match v.split_once('=') {
                Some((n, val)) => f.build.defines.push((n.to_string(), Some(val.to_string()))),
                None if !v.is_empty() => f.build.defines.push((v, None)),
                None => {}
            }
        } else if let Some(v) = take(&mut i, "-U", a) {
            f.build.defines.retain(|(n, _)| *n != v);
            f.build.undefines.push(v);
        } else if a.starts_with("-O") && a.len() <= 6 {
            f.opt = Some(a.to_string());
        } else if a == "-march=native" || a == "-mcpu=native" {
            f.native = true;
        } else if let Some(v) = take(&mut i, "-iquote", a) {
            f.quote_dirs.push(join(v));
        } else if let Some(v) = take(&mut i, "-isystem", a) {
            let _ = v;
        } else if let Some(v) =
            take(&mut i, "--include-directory", a).or_else(|| take(&mut i, "-I", a))
        {
            if !v.is_empty() {
                f.include_dirs.push(join(v));
            }
        }
        i += 1;
    }
    f
}

fn normalize(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// One loaded `compile_commands.json`.
#[derive(Debug)]
pub struct Database {
    pub path: PathBuf,
    by_file: HashMap<PathBuf, Arc<Flags>>,
    /// Per folder, the entries' (stem, flags), for files with no entry of
    /// their own (headers).
    by_dir: HashMap<PathBuf, Vec<(String, Arc<Flags>)>>,
}

impl Database {
    pub fn load(path: &Path) -> Result<Database, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        if meta.len() > MAX_DB_BYTES {
            return Err(format!(
                "{shown}: {} bytes is too large to read",
                meta.len()
            ));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let raw: Vec<RawEntry> = serde_json::from_str(&text)
            .map_err(|e| format!("{shown}: not a compilation database: {e}"))?;
        let mut by_file = HashMap::new();
        let mut by_dir: HashMap<PathBuf, Vec<(String, Arc<Flags>)>> = HashMap::new();
        for e in raw {
            let dir = PathBuf::from(&e.directory);
            let args = match (e.arguments, e.command) {
                (Some(a), _) => a,
                (None, Some(c)) => split_command(&c),
                (None, None) => continue,
            };
            let flags = Arc::new(parse_flags(&args, &dir));
            let file = normalize(&dir.join(&e.file));
            if let (Some(parent), Some(stem)) = (file.parent(), file.file_stem()) {
                by_dir
                    .entry(parent.to_path_buf())
                    .or_default()
                    .push((stem.to_string_lossy().into_owned(), flags.clone()));
            }
            by_file.entry(file).or_insert(flags);
        }
        Ok(Database {
            path: path.to_path_buf(),
            by_file,
            by_dir,
        })
    }

    /// The flags for `file`: its own entry; else (a header, say) an entry
    /// in the same folder with the same stem, else the folder's first
    /// entry (clangd guesses a header's flags from a neighbour too).
    pub fn flags_for(&self, file: &Path) -> Option<Arc<Flags>> {
        let file = normalize(file);
        if let Some(f) = self.by_file.get(&file) {
            return Some(f.clone());
        }
        let near = self.by_dir.get(file.parent()?)?;
        let stem = file.file_stem()?.to_string_lossy();
        near.iter()
            .find(|(s, _)| *s == stem)
            .or_else(|| near.first())
            .map(|(_, f)| f.clone())
    }
}

/// Finds and caches databases.
pub struct Databases {
    explicit: Option<Arc<Database>>,
    loaded: HashMap<PathBuf, Option<Arc<Database>>>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
}

/// Resolves `--compile-commands PATH` (a file, or a folder holding one).
fn db_file(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("compile_commands.json")
    } else {
        p.to_path_buf()
    }
}

impl Databases {
    /// `explicit`: `--compile-commands`; an error there is fatal.
    pub fn new(explicit: Option<&Path>) -> Result<Databases, String> {
        let explicit = match explicit {
            Some(p) => Some(Arc::new(Database::load(&db_file(p))?)),
            None => None,
        };
        Ok(Databases {
            explicit,
            loaded: HashMap::new(),
            by_dir: HashMap::new(),
        })
    }

    fn find_up(&mut self, dir: &Path) -> Option<PathBuf> {
        if let Some(r) = self.by_dir.get(dir) {
            return r.clone();
        }
        let mut found = None;
        for cand in [
            dir.join("compile_commands.json"),
            dir.join("build").join("compile_commands.json"),
        ] {
            if cand.is_file() {
                found = Some(cand);
                break;
            }
        }
        if found.is_none() {
            if let Some(p) = dir.parent() {
                found = self.find_up(p);
            }
        }
        self.by_dir.insert(dir.to_path_buf(), found.clone());
        found
    }

    fn load_cached(&mut self, p: &Path, warnings: &mut Vec<String>) -> Option<Arc<Database>> {
        if let Some(d) = self.loaded.get(p) {
            return d.clone();
        }
        let d = match Database::load(p) {
            Ok(d) => Some(Arc::new(d)),
            Err(e) => {
                warnings.push(e);
                None
            }
        };
        self.loaded.insert(p.to_path_buf(), d.clone());
        d
    }

    /// The flags for `file`; `configured` is a configuration's
    /// `compile-commands` (a broken one is a warning, as is a broken
    /// discovered database).
    pub fn flags_for(
        &mut self,
        file: &Path,
        configured: Option<&Path>,
        warnings: &mut Vec<String>,
    ) -> Option<Arc<Flags>> {
        let db = if let Some(d) = &self.explicit {
            Some(d.clone())
        } else if let Some(c) = configured {
            self.load_cached(&db_file(c), warnings)
        } else {
            let abs = normalize(file);
            let found = self.find_up(abs.parent()?)?;
            self.load_cached(&found, warnings)
        };
        db?.flags_for(file)
    }
}

fn read_header(p: &Path) -> Option<String> {
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_file() || meta.len() > MAX_INCLUDE_BYTES {
        return None;
    }
    std::fs::read(p).ok().map(|b| {
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    })
}

/// Reads headers next to the including file, then in the build's
/// `-iquote` and `-I` folders (angled includes: `-I` folders only). With
/// no build database, a quoted include found nowhere else is looked for
/// where projects keep their headers: an `include/` folder beside the
/// including file's folder or one of its next [`GUESS_LEVELS`] ancestors
/// (`step0/dgemm/my_dgemm.c` including `"bl_dgemm.h"` from
/// `step0/include/`, as a makefile's `-I../include` says).
pub struct ProjectIncludes<'a> {
    pub flags: Option<&'a Flags>,
}

impl IncludeResolver for ProjectIncludes<'_> {
    fn resolve(&self, from_path: &str, include: &str) -> Option<String> {
        let dir = Path::new(from_path).parent()?;
        read_header(&dir.join(include))
    }

    fn find(&self, from_path: &str, include: &str, angled: bool) -> Option<(String, String)> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if !angled {
            dirs.push(
                Path::new(from_path)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            );
        }
        if let Some(f) = self.flags {
            if !angled {
                dirs.extend(f.quote_dirs.iter().cloned());
            }
            dirs.extend(f.include_dirs.iter().cloned());
        }
        for d in dirs {
            let p = d.join(include);
            if let Some(t) = read_header(&p) {
                return Some((p.to_string_lossy().into_owned(), t));
            }
        }
        if self.flags.is_some() || angled {
            return None;
        }
        let dir = Path::new(from_path).parent()?;
        for up in dir.ancestors().take(GUESS_LEVELS + 1) {
            let p = up.join("include").join(include);
            if let Some(t) = read_header(&p) {
                return Some((p.to_string_lossy().into_owned(), t));
            }
        }
        None
    }
}

/// How many folders above the including file's own [`ProjectIncludes`]
/// searches for an `include/` folder when no build database names one.
pub const GUESS_LEVELS: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_database_a_quoted_include_is_found_in_a_nearby_include_folder() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("step0/dgemm");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(root.path().join("step0/include")).unwrap();
        std::fs::write(
            root.path().join("step0/include/h.h"),
            "#define A(i, j) a[i]\n",
        )
        .unwrap();
        let from = src.join("x.c");
        let from = from.to_str().unwrap();
        let guess = ProjectIncludes { flags: None };
        let (path, text) = guess.find(from, "h.h", false).unwrap();
        assert!(path.ends_with("step0/include/h.h") && text.starts_with("#define"));
        // Angled includes, and any include where a database gives the
        // folders, are not guessed.
        assert!(guess.find(from, "h.h", true).is_none());
        let flags = Flags::default();
        assert!(ProjectIncludes {
            flags: Some(&flags)
        }
        .find(from, "h.h", false)
        .is_none());
        // Nor looked for further up than GUESS_LEVELS folders.
        let deep = root.path().join("step0/a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        assert!(guess
            .find(deep.join("x.c").to_str().unwrap(), "h.h", false)
            .is_none());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_command(r#"cc -DNAME="a b" -D'Q=1' x\ y.c  -I inc"#),
            vec!["cc", "-DNAME=a b", "-DQ=1", "x y.c", "-I", "inc"]
        );
        assert_eq!(split_command(r#"cc "-DS=\"s\"""#), vec!["cc", r#"-DS="s""#]);
    }

    #[test]
    fn flags() {
        let args: Vec<String> = split_command(
            "nvcc -DN=1024 -D M -DFAST -UFAST -Iinc -I /abs -iquote q -isystem /usr/x --include-directory=more -c a.cu",
        );
        let f = parse_flags(&args, Path::new("/proj/build"));
        assert_eq!((f.opt.as_deref(), f.native), (None, false));
        let o = parse_flags(
            &split_command("cc -O2 -march=native -O3 -o x.o -c x.c"),
            Path::new("/"),
        );
        assert_eq!((o.opt.as_deref(), o.native), (Some("-O3"), true));
        assert_eq!(
            f.build.defines,
            vec![
                ("N".to_string(), Some("1024".to_string())),
                ("M".to_string(), None)
            ]
        );
        assert_eq!(f.build.undefines, vec!["FAST".to_string()]);
        assert_eq!(
            f.include_dirs,
            vec![
                PathBuf::from("/proj/build/inc"),
                PathBuf::from("/abs"),
                PathBuf::from("/proj/build/more")
            ]
        );
        assert_eq!(f.quote_dirs, vec![PathBuf::from("/proj/build/q")]);
    }
}
