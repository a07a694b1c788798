//! rustc/ruff-style text: `path:line:col: CODE message`, an excerpt of the
//! nest's first line and of the key statement, then why and the facts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use gemmscope_analyzers::{Finding, Span};

use crate::check::Outcome;

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
    fn blue(&self, s: &str) -> String {
        self.paint("1;34", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
}

/// The text of 1-based line `n`, without its newline.
fn line_text(text: &str, n: usize) -> &str {
    text.lines().nth(n.saturating_sub(1)).unwrap_or("")
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
    text: &str,
    span: Span,
    width: usize,
    label: &str,
) -> io::Result<()> {
    let line = line_text(text, span.start_line);
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

/// Writes every finding, then a summary line.
pub fn write(out: &mut dyn Write, outcome: &Outcome, color: bool) -> io::Result<()> {
    let st = Style { on: color };
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total = 0;
    for file in &outcome.files {
        for f in &file.findings {
            total += 1;
            *by_code.entry(f.code).or_default() += 1;
            writeln!(
                out,
                "{}:{}:{}: {} {}",
                st.bold(&file.path),
                f.range.start_line,
                f.range.start_col,
                st.red(f.code),
                f.message
            )?;
            let width = f
                .range
                .start_line
                .max(f.key_range.start_line)
                .to_string()
                .len();
            writeln!(out, "{} {}", " ".repeat(width), st.blue("|"))?;
            excerpt(out, &st, &file.text, f.range, width, "")?;
            if f.key_range.start_line != f.range.start_line {
                excerpt(out, &st, &file.text, f.key_range, width, "key statement")?;
            }
            writeln!(out, "{} {} why: {}", " ".repeat(width), st.blue("="), f.why)?;
            writeln!(
                out,
                "{} {} {}",
                " ".repeat(width),
                st.blue("="),
                st.cyan(&facts(f))
            )?;
            writeln!(out)?;
        }
    }
    let files = outcome.files.len();
    let noun = if files == 1 { "file" } else { "files" };
    if total == 0 {
        writeln!(out, "No findings in {files} {noun}.")?;
    } else {
        let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let word = if total == 1 { "finding" } else { "findings" };
        writeln!(
            out,
            "Found {total} {word} ({}) in {files} {noun}.",
            codes.join(", ")
        )?;
    }
    let syntax: usize = outcome.files.iter().map(|f| f.syntax_problems.len()).sum();
    if syntax > 0 {
        writeln!(
            out,
            "note: {syntax} syntax error(s) were skipped; findings come from the parts that parse."
        )?;
    }
    Ok(())
}
