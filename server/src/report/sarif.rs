//! `--format sarif`: SARIF 2.1.0 for code-scanning services. One rule per
//! detector (help text from the rule's documentation, help URI into
//! docs/rules.md), one result per finding with its location, level, key
//! statement, fingerprint, baseline state and suppression, and the
//! estimate in `properties` where there is one. Columns count Unicode code
//! points (`columnKind`).

use std::io::{self, Write};

use gemmscope_analyzers::detectors::all_rules;
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
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": { "text": m.summary() },
                "fullDescription": { "text": m.summary() },
                "help": { "text": doc, "markdown": doc },
                "helpUri": help_uri(m.code),
                "defaultConfiguration": { "level": "warning" },
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

/// Collects results and writes the log at the end.
pub struct Sarif<W: Write> {
    out: W,
    results: Vec<Value>,
    index: std::collections::HashMap<&'static str, usize>,
}

impl<W: Write> Sarif<W> {
    pub fn new(out: W) -> Sarif<W> {
        let index = all_rules()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.meta().code, i))
            .collect();
        Sarif {
            out,
            results: Vec::new(),
            index,
        }
    }
}

impl<W: Write> Presenter for Sarif<W> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        for r in &file.findings {
            let i = self.index.get(r.finding.code).copied().unwrap_or(0);
            self.results.push(result(file, r, i));
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let mut notes = notifications(&s.errors, "error");
        notes.extend(notifications(&s.warnings, "warning"));
        let doc = json!({
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
                "results": std::mem::take(&mut self.results),
            }],
        });
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        writeln!(self.out)
    }
}
