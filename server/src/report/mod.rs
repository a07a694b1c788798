//! Presenters for `check`: text, JSON, SARIF and GitHub workflow commands,
//! and [`tee::Tee`] for several of them in one run.
//! They only format; the numbers and words come from the findings.

pub mod github;
pub mod json;
pub mod sarif;
pub mod tee;
pub mod text;

/// A path as a repository-relative URI path: `./` dropped, `/` separators.
pub fn slash_path(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}
