//! `--format github`: GitHub Actions workflow commands, one annotation per
//! finding (`::warning file=…,line=…,endLine=…,title=…::message`), shown on
//! the pull request's diff; then the text summary. Notes become
//! `::notice`, errors `::error`. Suppressed findings and findings already in
//! the baseline are not annotated.

use std::io::{self, Write};

use crate::check::{Presenter, Summary};
use crate::config::Level;
use crate::file_check::FileReport;
use crate::report::slash_path;
use crate::report::text::{factor, write_summary};

/// Escapes a command's message (`%`, CR, LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (also `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub struct Github<W: Write> {
    out: W,
}

impl<W: Write> Github<W> {
    pub fn new(out: W) -> Github<W> {
        Github { out }
    }
}

impl<W: Write> Presenter for Github<W> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        for r in file.findings.iter().filter(|r| r.is_active()) {
            let f = &r.finding;
            let kind = match r.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Note => "notice",
            };
            let mut msg = format!("{}\nwhy: {}", f.message, f.why);
            match (&r.advice.best, r.speedup_gate) {
                (Some(e), _) => msg.push_str(&format!(
                    "\nspeed-up: {} with {} ({})",
                    factor(e.factor),
                    e.candidate,
                    e.provenance
                )),
                (None, Some(_)) => msg.push_str("\nspeed-up: no estimate"),
                _ => {}
            }
            let title = format!("{} {}", f.code, f.rule);
            let mut props = format!(
                "file={},line={},endLine={}",
                escape_property(&slash_path(&file.path)),
                f.range.start_line,
                f.range.end_line
            );
            if f.range.start_line == f.range.end_line {
                props.push_str(&format!(
                    ",col={},endColumn={}",
                    f.range.start_col, f.range.end_col
                ));
            }
            writeln!(
                self.out,
                "::{kind} {props},title={}::{}",
                escape_property(&title),
                escape_data(&msg)
            )?;
        }
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        for e in &s.errors {
            writeln!(
                self.out,
                "::error title=gemmscope::{}",
                escape_data(&format!("{}: {}", e.path, e.message))
            )?;
        }
        write_summary(&mut self.out, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("a%b\nc\r"), "a%25b%0Ac%0D");
        assert_eq!(escape_property("x:y,z%"), "x%3Ay%2Cz%25");
    }
}
