//! `--format json`: the versioned schema documented in docs/json-output.md.
//! Bump `SCHEMA_VERSION` on any incompatible change.

use std::io::{self, Write};

use gemmscope_analyzers::{Dim, Finding, Major};
use serde_json::{json, Value};

use crate::check::Outcome;

pub const SCHEMA_VERSION: u32 = 1;

fn dim(d: &Option<Dim>) -> Value {
    match d {
        Some(d) => json!({ "expr": d.expr, "value": d.value }),
        None => Value::Null,
    }
}

/// One finding as a JSON object (the schema's `findings[]` item).
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

/// The whole document.
pub fn document(outcome: &Outcome) -> Value {
    let findings: Vec<Value> = outcome
        .files
        .iter()
        .flat_map(|file| file.findings.iter().map(|f| finding(&file.path, f)))
        .collect();
    let syntax: Vec<Value> = outcome
        .files
        .iter()
        .flat_map(|file| {
            file.syntax_problems.iter().map(|p| {
                json!({ "path": file.path, "line": p.span.start_line,
                        "column": p.span.start_col, "message": p.message })
            })
        })
        .collect();
    let msgs = |v: &Vec<crate::check::PathMessage>| -> Vec<Value> {
        v.iter()
            .map(|m| json!({ "path": m.path, "message": m.message }))
            .collect()
    };
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": { "name": "gemmscope", "version": env!("CARGO_PKG_VERSION") },
        "files_checked": outcome.files.len(),
        "findings": findings,
        "syntax_problems": syntax,
        "errors": msgs(&outcome.errors),
        "warnings": msgs(&outcome.warnings),
    })
}

pub fn write(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(outcome))?;
    writeln!(out)
}
