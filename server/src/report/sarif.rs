//! `--format sarif`: SARIF 2.1.0 for code-scanning services. One rule per
//! detector (help text from the rule's documentation, help URI into
//! docs/rules.md), one result per finding with its location, level, key
//! statement, fingerprint, baseline state and suppression, and the
//! estimate in `properties` where there is one. Columns count Unicode code
//! points (`columnKind`).
//!
//! The log stays within what GitHub code scanning accepts in one upload
//! ([`MAX_RESULTS`] results per run, [`MAX_BYTES`]): beyond that the least
//! severe results are left out (notes, then warnings, then errors;
//! suppressed ones before any active one), and the run says so in a
//! tool-execution notification, in `properties.truncated` and on stderr.

use std::io::{self, Write};

use gemmscope_analyzers::detectors::{all_rules, cuda_wmma_matmul};
use gemmscope_analyzers::Span;
use serde_json::{json, Map, Value};

use crate::check::{PathMessage, Presenter, Summary};
use crate::file_check::{FileReport, Reported};
use crate::report::{json as jsonfmt, slash_path};

/// The schema URI written in `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where a rule's documentation lives.
pub fn help_uri(code: &str) -> String {
    format!(
        "{}/blob/main/docs/rules.md#{}",
        env!("CARGO_PKG_REPOSITORY"),
        code.to_ascii_lowercase()
    )
}

/// A path as a URI reference: relative paths stay relative (to
/// `%SRCROOT%`, the folder gemmscope ran in), absolute ones become
/// `file://` URIs; anything outside the unreserved set is %-encoded.
pub fn uri(path: &str) -> (String, bool) {
    let p = slash_path(path);
    let mut enc = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    if p.starts_with('/') {
        (format!("file://{enc}"), false)
    } else {
        (enc, true)
    }
}

fn artifact(path: &str) -> Value {
    let (u, relative) = uri(path);
    if relative {
        json!({ "uri": u, "uriBaseId": "%SRCROOT%" })
    } else {
        json!({ "uri": u })
    }
}

/// 1-based code-point column of 1-based byte column `col` in `line`.
fn cp_col(line: &str, col: usize) -> usize {
    let mut b = col.saturating_sub(1).min(line.len());
    while b > 0 && !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() + 1
}

fn region(file: &FileReport, s: Span) -> Value {
    let start = cp_col(file.line(s.start_line), s.start_col);
    let mut end = cp_col(file.line(s.end_line), s.end_col);
    if s.end_line == s.start_line && end <= start {
        end = start + 1;
    }
    json!({
        "startLine": s.start_line,
        "startColumn": start,
        "endLine": s.end_line.max(s.start_line),
        "endColumn": end,
    })
}

fn result(file: &FileReport, r: &Reported, rule_index: usize) -> Value {
    let f = &r.finding;
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": artifact(&file.path),
            "region": region(file, f.range),
        }
    });
    if let Some(func) = &f.function {
        location["logicalLocations"] = json!([{ "fullyQualifiedName": func, "kind": "function" }]);
    }
    let mut props = Map::new();
    let full = jsonfmt::finding(&file.path, f);
    for key in [
        "function",
        "idiom",
        "routine",
        "backend",
        "dims",
        "dtype",
        "layouts",
        "loop_order",
        "alpha",
        "beta",
        "confidence",
        "why",
    ] {
        props.insert(key.into(), full[key].clone());
    }
    if let Some(e) = &r.advice.best {
        props.insert("estimate".into(), jsonfmt::estimate(r));
        let _ = e;
    } else if r.speedup_gate.is_some() {
        props.insert("estimate".into(), Value::Null);
    }
    if let Some(x) = r.speedup_gate {
        props.insert("failOnSpeedup".into(), json!(x));
    }
    props.insert("fails".into(), json!(r.fails));
    let mut res = json!({
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": r.level.as_str(),
        "message": { "text": f.message },
        "locations": [location],
        "relatedLocations": [{
            "id": 1,
            "message": { "text": "key statement" },
            "physicalLocation": {
                "artifactLocation": artifact(&file.path),
                "region": region(file, f.key_range),
            }
        }],
        "partialFingerprints": { "gemmscope/v1": r.fingerprint },
        "properties": props,
    });
    if let Some(state) = r.baseline.as_str() {
        res["baselineState"] = json!(state);
    }
    if let Some(s) = &r.suppressed {
        let mut sup = json!({
            "kind": "inSource",
            "status": "accepted",
            "location": {
                "physicalLocation": {
                    "artifactLocation": artifact(&file.path),
                    "region": { "startLine": s.line },
                }
            }
        });
        if let Some(reason) = &s.reason {
            sup["justification"] = json!(reason);
        }
        res["suppressions"] = json!([sup]);
    }
    res
}

/// The `tool.driver.rules` array: every rule, in code order.
pub fn rules() -> Vec<Value> {
    all_rules()
        .iter()
        .map(|r| {
            let m = r.meta();
            let doc: String = m
                .doc
                .lines()
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            let doc = doc.trim().to_string();
            // GS109's findings are notes (a kernel already on the tensor
            // cores: advice, no measured speed-up).
            let level = if cuda_wmma_matmul::already_on_tensor_cores(m.code) {
                "note"
            } else {
                "warning"
            };
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": { "text": m.summary() },
                "fullDescription": { "text": m.summary() },
                "help": { "text": doc, "markdown": doc },
                "helpUri": help_uri(m.code),
                "defaultConfiguration": { "level": level },
                "properties": { "idiom": m.idiom.as_str(), "tags": ["performance", m.idiom.as_str()] },
            })
        })
        .collect()
}

fn notifications(v: &[PathMessage], level: &str) -> Vec<Value> {
    v.iter()
        .map(|m| {
            json!({
                "level": level,
                "message": { "text": format!("{}: {}", m.path, m.message) },
            })
        })
        .collect()
}

/// Code scanning's limit on results in one run.
pub const MAX_RESULTS: usize = 25_000;
/// Code scanning's limit on an upload is 10 MB gzipped; the log is kept
/// under 10 MB uncompressed, which bounds it without compressing (gzip only
/// shrinks JSON).
pub const MAX_BYTES: usize = 10_000_000;

/// Which results go first when some must be left out: active errors, then
/// warnings, then notes, then suppressed ones.
fn severity_rank(r: &Reported) -> u8 {
    let level = match r.level {
        crate::config::Level::Error => 0,
        crate::config::Level::Warning => 1,
        crate::config::Level::Note => 2,
    };
    if r.suppressed.is_some() {
        3 + level
    } else {
        level
    }
}

/// Collects results and writes the log at the end.
pub struct Sarif<W: Write> {
    out: W,
    /// (severity rank, level, result) in the order the files came.
    results: Vec<(u8, &'static str, Value)>,
    index: std::collections::HashMap<&'static str, usize>,
    max_results: usize,
    max_bytes: usize,
}

impl<W: Write> Sarif<W> {
    pub fn new(out: W) -> Sarif<W> {
        Sarif::with_limits(out, MAX_RESULTS, MAX_BYTES)
    }

    /// With other limits than code scanning's (for tests).
    pub fn with_limits(out: W, max_results: usize, max_bytes: usize) -> Sarif<W> {
        let index = all_rules()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.meta().code, i))
            .collect();
        Sarif {
            out,
            results: Vec::new(),
            index,
            max_results,
            max_bytes,
        }
    }
}

/// The indices of the results kept: the most severe first, at most
/// `max_results`, and no more than `budget` bytes of them; in the order
/// they came.
fn keep(sizes: &[(u8, usize)], max_results: usize, budget: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| (sizes[i].0, i));
    let mut kept = Vec::new();
    let mut bytes = 0usize;
    for i in order {
        if kept.len() == max_results || bytes + sizes[i].1 > budget {
            break;
        }
        bytes += sizes[i].1;
        kept.push(i);
    }
    kept.sort_unstable();
    kept
}

impl<W: Write> Presenter for Sarif<W> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        for r in &file.findings {
            let i = self.index.get(r.finding.code).copied().unwrap_or(0);
            self.results
                .push((severity_rank(r), r.level.as_str(), result(file, r, i)));
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let mut notes = notifications(&s.errors, "error");
        notes.extend(notifications(&s.warnings, "warning"));
        let all = std::mem::take(&mut self.results);
        let sizes: Vec<(u8, usize)> = all
            .iter()
            .map(|(rank, _, v)| (*rank, serde_json::to_vec_pretty(v).map_or(0, |b| b.len())))
            .collect();
        let mut budget = self.max_bytes;
        loop {
            let kept = keep(&sizes, self.max_results, budget);
            let mut doc = log(s, notes.clone(), Vec::new());
            if kept.len() < all.len() {
                let mut left = Map::new();
                for (i, (_, level, _)) in all.iter().enumerate() {
                    if kept.binary_search(&i).is_err() {
                        let n = left.entry(*level).or_insert(json!(0));
                        *n = json!(n.as_u64().unwrap_or(0) + 1);
                    }
                }
                let text = format!(
                    "{} of {} results written: code scanning takes at most {} results and {} MB in one upload; \
                     left out, the least severe first: {}",
                    kept.len(),
                    all.len(),
                    self.max_results,
                    self.max_bytes as f64 / 1e6,
                    left.iter()
                        .map(|(k, v)| format!("{v} {k}s"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                eprintln!("gemmscope: warning: SARIF: {text}");
                let run = &mut doc["runs"][0];
                run["invocations"][0]["toolExecutionNotifications"]
                    .as_array_mut()
                    .expect("notifications array")
                    .push(json!({ "level": "warning", "message": { "text": text } }));
                run["properties"] = json!({ "truncated": {
                    "written": kept.len(),
                    "total": all.len(),
                    "leftOut": left,
                    "maxResults": self.max_results,
                    "maxBytes": self.max_bytes,
                }});
            }
            doc["runs"][0]["results"] =
                Value::Array(kept.iter().map(|&i| all[i].2.clone()).collect());
            let bytes = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
            // Indentation inside the log makes results a little longer
            // than alone: shrink the budget by the excess and choose again.
            if bytes.len() > self.max_bytes && !kept.is_empty() {
                budget = budget.saturating_sub(bytes.len() - self.max_bytes);
                continue;
            }
            self.out.write_all(&bytes)?;
            return writeln!(self.out);
        }
    }
}

/// The log with one run and these results.
fn log(s: &Summary, notes: Vec<Value>, results: Vec<Value>) -> Value {
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "gemmscope",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules(),
            }},
            "invocations": [{
                "executionSuccessful": s.errors.is_empty(),
                "toolExecutionNotifications": notes,
            }],
            "originalUriBaseIds": {
                "%SRCROOT%": { "description": { "text": "The folder gemmscope was run in." } }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::keep;

    #[test]
    fn keeps_the_most_severe_in_their_order_within_both_limits() {
        // (rank, bytes): 0 error, 1 warning, 2 note.
        let sizes = [(2, 10), (0, 10), (1, 10), (0, 10), (2, 10)];
        assert_eq!(keep(&sizes, 10, 1000), [0, 1, 2, 3, 4]);
        assert_eq!(keep(&sizes, 3, 1000), [1, 2, 3]);
        assert_eq!(keep(&sizes, 10, 25), [1, 3]);
        assert_eq!(keep(&sizes, 0, 1000), Vec::<usize>::new());
    }
}
