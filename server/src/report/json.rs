//! `--format json`: the versioned schema documented in docs/json-output.md.
//! Fields are only added within a version; bump `SCHEMA_VERSION` on any
//! incompatible change.

use std::io::{self, Write};

use gemmscope_analyzers::{Dim, Finding, Major};
use serde_json::{json, Value};

use crate::check::{PathMessage, Presenter, Summary};
use crate::file_check::{FileReport, Reported};

pub const SCHEMA_VERSION: u32 = 1;

fn dim(d: &Option<Dim>) -> Value {
    match d {
        Some(d) => {
            let mut o = json!({ "expr": d.expr, "value": d.value });
            if let Some(s) = &d.source {
                o["source"] = json!(s);
                o["source_text"] = json!(s.describe(&d.expr));
            }
            if !d.others.is_empty() {
                o["others"] = json!(d.others);
            }
            o
        }
        None => Value::Null,
    }
}

/// One finding as a JSON object (the schema's `findings[]` item, without
/// the fields a run adds: see [`reported`]).
pub fn finding(path: &str, f: &Finding) -> Value {
    json!({
        "path": path,
        "line": f.range.start_line,
        "column": f.range.start_col,
        "end_line": f.range.end_line,
        "end_column": f.range.end_col,
        "key_line": f.key_range.start_line,
        "key_column": f.key_range.start_col,
        "key_end_line": f.key_range.end_line,
        "key_end_column": f.key_range.end_col,
        "function": f.function,
        "code": f.code,
        "rule": f.rule,
        "idiom": f.idiom.as_str(),
        "routine": f.routine.as_str(),
        "backend": f.backend,
        "dims": {
            "m": dim(&f.dims.m),
            "n": dim(&f.dims.n),
            "k": dim(&f.dims.k),
            "batch": dim(&f.dims.batch),
        },
        "dtype": f.dtype.as_ref().map(|t| t.short()),
        "layouts": f.layouts.iter().map(|l| json!({
            "role": l.role,
            "name": l.name,
            "major": match l.major { Major::Row => "row", Major::Col => "col" },
            "ld": l.ld,
            "jagged": l.jagged,
        })).collect::<Vec<_>>(),
        "loop_order": f.loop_order,
        "alpha": f.alpha,
        "beta": f.beta,
        "confidence": (f.confidence as f64 * 100.0).round() / 100.0,
        "why": f.why,
        "message": f.message,
    })
}

/// The estimate object (`null` where there is none).
pub fn estimate(r: &Reported) -> Value {
    match &r.advice.best {
        Some(e) => json!({
            "speedup": (e.factor * 1000.0).round() / 1000.0,
            "candidate": e.candidate,
            "provenance": e.provenance,
            "headline": e.headline,
        }),
        None => Value::Null,
    }
}

/// A finding with what the run decided about it.
pub fn reported(path: &str, r: &Reported) -> Value {
    let mut v = finding(path, &r.finding);
    let o = v.as_object_mut().expect("finding is an object");
    o.insert("level".into(), json!(r.level.as_str()));
    o.insert("fingerprint".into(), json!(r.fingerprint));
    o.insert("baseline_state".into(), json!(r.baseline.as_str()));
    o.insert(
        "suppression".into(),
        match &r.suppressed {
            Some(s) => json!({ "kind": "in-source", "line": s.line, "reason": s.reason }),
            None => Value::Null,
        },
    );
    o.insert("estimate".into(), estimate(r));
    o.insert(
        "advice".into(),
        json!({
            "headline": r.advice.headline(),
            "sizes": if r.advice.range.is_some() {
                Some("assumed")
            } else if r.advice.estimate.is_some() {
                Some("known")
            } else {
                None
            },
            "no_estimate": r.advice.no_estimate,
        }),
    );
    o.insert("fails".into(), json!(r.fails));
    v
}

fn msgs(v: &[PathMessage]) -> Vec<Value> {
    v.iter()
        .map(|m| json!({ "path": m.path, "message": m.message }))
        .collect()
}

/// Collects the document and writes it at the end.
pub struct Json<W: Write> {
    out: W,
    findings: Vec<Value>,
    suppressed: Vec<Value>,
    syntax: Vec<Value>,
}

impl<W: Write> Json<W> {
    pub fn new(out: W) -> Json<W> {
        Json {
            out,
            findings: Vec::new(),
            suppressed: Vec::new(),
            syntax: Vec::new(),
        }
    }
}

impl<W: Write> Presenter for Json<W> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        for r in &file.findings {
            let v = reported(&file.path, r);
            if r.suppressed.is_some() {
                self.suppressed.push(v);
            } else {
                self.findings.push(v);
            }
        }
        for p in &file.syntax_problems {
            self.syntax
                .push(json!({ "path": file.path, "line": p.span.start_line,
                "column": p.span.start_col, "message": p.message }));
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let doc = json!({
            "schema_version": SCHEMA_VERSION,
            "tool": { "name": "gemmscope", "version": env!("CARGO_PKG_VERSION") },
            "files_checked": s.files_checked,
            "findings": std::mem::take(&mut self.findings),
            "suppressed": std::mem::take(&mut self.suppressed),
            "syntax_problems": std::mem::take(&mut self.syntax),
            "errors": msgs(&s.errors),
            "warnings": msgs(&s.warnings),
            "summary": {
                "findings": s.active,
                "failing": s.failing,
                "suppressed": s.suppressed,
                "baselined": s.baselined,
                "no_estimate": s.no_estimate,
                "fail_on_speedup": s.speedup_gates,
                "bench": s.bench_modes.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "baselines": s.baselines.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            },
        });
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        writeln!(self.out)
    }
}
