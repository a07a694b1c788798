//! rustc/ruff-style text: `path:line:col: CODE message`, an excerpt of the
//! nest's first line and of the key statement, then why and the facts.
//! Written as each file is done; colour only when asked or on a terminal.

use std::collections::BTreeMap;
use std::io::{self, Write};

use gemmscope_analyzers::{Finding, Span};

use crate::check::{Presenter, Summary};
use crate::config::Level;
use crate::file_check::{FileReport, Reported};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("1;33", s)
    }
    fn blue(&self, s: &str) -> String {
        self.paint("1;34", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    fn level(&self, l: Level, s: &str) -> String {
        match l {
            Level::Error => self.red(s),
            Level::Warning => self.red(s),
            Level::Note => self.yellow(s),
        }
    }
}

/// Display width (in chars) of the first `byte_col - 1` bytes of `line`.
fn char_col(line: &str, byte_col: usize) -> usize {
    let mut b = byte_col.saturating_sub(1).min(line.len());
    while b > 0 && !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count()
}

fn excerpt(
    out: &mut dyn Write,
    st: &Style,
    line: &str,
    span: Span,
    width: usize,
    label: &str,
) -> io::Result<()> {
    let shown = line.trim_end();
    let start = char_col(line, span.start_col);
    let end = if span.end_line == span.start_line {
        char_col(line, span.end_col)
    } else {
        shown.chars().count()
    };
    let carets = end.saturating_sub(start).max(1);
    writeln!(
        out,
        "{} {} {}",
        st.blue(&format!("{:>width$}", span.start_line)),
        st.blue("|"),
        shown.replace('\t', " ")
    )?;
    writeln!(
        out,
        "{} {} {}{} {}",
        " ".repeat(width),
        st.blue("|"),
        " ".repeat(start),
        st.red(&"^".repeat(carets)),
        st.red(label)
    )
}

fn facts(f: &Finding) -> String {
    let mut parts = vec![format!("routine {}", f.routine.as_str())];
    let dims: Vec<String> = [
        ("M", &f.dims.m),
        ("N", &f.dims.n),
        ("K", &f.dims.k),
        ("batch", &f.dims.batch),
    ]
    .iter()
    .filter_map(|(n, d)| {
        d.as_ref().map(|d| match d.value {
            Some(v) if d.expr != v.to_string() => format!("{n}={v} ({})", d.expr),
            Some(v) => format!("{n}={v}"),
            None => format!("{n}={}", d.expr),
        })
    })
    .collect();
    if !dims.is_empty() {
        parts.push(dims.join(" "));
    }
    if let Some(t) = &f.dtype {
        parts.push(t.short());
    }
    if let Some(o) = &f.loop_order {
        parts.push(format!("order {o}"));
    }
    if !f.layouts.is_empty() {
        let l: Vec<String> = f
            .layouts
            .iter()
            .map(|l| {
                let major = match l.major {
                    gemmscope_analyzers::Major::Row => "row",
                    gemmscope_analyzers::Major::Col => "col",
                };
                if l.name == l.role {
                    format!("{}:{major}", l.role)
                } else {
                    format!("{}({}):{major}", l.role, l.name)
                }
            })
            .collect();
        parts.push(format!("layout {}", l.join(" ")));
    }
    if let Some(func) = &f.function {
        parts.push(format!("in `{func}`"));
    }
    parts.push(format!("confidence {:.2}", f.confidence));
    parts.join(" · ")
}

/// Formats a speed-up factor: `12×`, `2.5×`.
pub fn factor(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.1}×")
    }
}

/// The estimate line of a finding, where there is one to say: the
/// headline, or the speed-up, or why there is no estimate.
fn estimate_line(r: &Reported) -> Option<String> {
    if let Some(h) = r.advice.headline() {
        return Some(format!("estimate: {h}"));
    }
    match (&r.advice.best, r.speedup_gate) {
        (Some(e), _) => Some(format!(
            "speed-up: {} with {} ({})",
            factor(e.factor),
            e.candidate,
            e.provenance
        )),
        (None, Some(x)) => Some(format!(
            "speed-up: no estimate{}, so --fail-on-speedup {} does not fire here",
            r.advice
                .no_estimate
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default(),
            factor(x)
        )),
        (None, None) => r
            .advice
            .no_estimate
            .as_ref()
            .map(|w| format!("no estimate: {w}")),
    }
}

/// The text presenter.
pub struct Text<W: Write> {
    out: W,
    st: Style,
}

impl<W: Write> Text<W> {
    pub fn new(out: W, color: bool) -> Text<W> {
        Text {
            out,
            st: Style { on: color },
        }
    }
}

impl<W: Write> Presenter for Text<W> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        let st = &self.st;
        let out = &mut self.out;
        for r in file.findings.iter().filter(|r| r.is_active()) {
            let f = &r.finding;
            writeln!(
                out,
                "{}:{}:{}: {} {}",
                st.bold(&file.path),
                f.range.start_line,
                f.range.start_col,
                st.level(r.level, f.code),
                f.message
            )?;
            let width = f
                .range
                .start_line
                .max(f.key_range.start_line)
                .to_string()
                .len();
            writeln!(out, "{} {}", " ".repeat(width), st.blue("|"))?;
            excerpt(out, st, file.line(f.range.start_line), f.range, width, "")?;
            if f.key_range.start_line != f.range.start_line {
                excerpt(
                    out,
                    st,
                    file.line(f.key_range.start_line),
                    f.key_range,
                    width,
                    "key statement",
                )?;
            }
            let pad = " ".repeat(width);
            writeln!(out, "{pad} {} why: {}", st.blue("="), f.why)?;
            writeln!(out, "{pad} {} {}", st.blue("="), st.cyan(&facts(f)))?;
            if let Some(sizes) = crate::advice::sizes_line(f) {
                writeln!(out, "{pad} {} {sizes}", st.blue("="))?;
            }
            if r.level != Level::Warning {
                writeln!(out, "{pad} {} level: {}", st.blue("="), r.level.as_str())?;
            }
            if let Some(e) = estimate_line(r) {
                writeln!(out, "{pad} {} {e}", st.blue("="))?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        write_summary(&mut self.out, s)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The closing lines: totals, what was left out and why, what fails.
pub fn write_summary(out: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let files = plural(s.files_checked, "file", "files");
    if s.active == 0 {
        writeln!(out, "No findings in {files}.")?;
    } else {
        let by: BTreeMap<&String, &usize> = s.by_code.iter().collect();
        let codes: Vec<String> = by.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        writeln!(
            out,
            "Found {} ({}) in {files}.",
            plural(s.active, "finding", "findings"),
            codes.join(", ")
        )?;
    }
    if s.suppressed > 0 {
        writeln!(
            out,
            "{} suppressed by `gemmscope: ignore[...]` comments.",
            plural(s.suppressed, "finding", "findings")
        )?;
    }
    if !s.baselines.is_empty() {
        let names: Vec<String> = s
            .baselines
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        writeln!(
            out,
            "{} already in the baseline ({}) not shown.",
            plural(s.baselined, "finding", "findings"),
            names.join(", ")
        )?;
    }
    if !s.speedup_gates.is_empty() && s.no_estimate > 0 {
        let gates: Vec<String> = s.speedup_gates.iter().map(|x| factor(*x)).collect();
        let modes: Vec<&str> = s.bench_modes.iter().map(|m| m.as_str()).collect();
        writeln!(
            out,
            "--fail-on-speedup {}: {} no estimate (--bench {}), so the gate does not fire on {}.",
            gates.join("/"),
            plural(s.no_estimate, "finding has", "findings have"),
            modes.join("/"),
            if s.no_estimate == 1 { "it" } else { "them" }
        )?;
    }
    if s.failing != s.active {
        writeln!(
            out,
            "{} of {} fail the run.",
            s.failing,
            plural(s.active, "finding", "findings")
        )?;
    }
    if let Some((p, n)) = &s.baseline_written {
        writeln!(
            out,
            "Wrote {} to the baseline {}.",
            plural(*n, "finding", "findings"),
            p.display()
        )?;
    }
    if s.syntax_problems > 0 {
        writeln!(
            out,
            "note: {} syntax error(s) were skipped; findings come from the parts that parse.",
            s.syntax_problems
        )?;
    }
    Ok(())
}
