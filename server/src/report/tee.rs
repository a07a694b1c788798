//! `--output-format FORMAT[=FILE]` given more than once: one check, several
//! presenters. Each presenter sees every file and the summary in the same
//! order; the first write error stops the run.

use std::io;

use crate::check::{Presenter, Summary};
use crate::file_check::FileReport;

/// Hands every call on to each presenter in turn.
pub struct Tee<'a> {
    presenters: Vec<Box<dyn Presenter + 'a>>,
}

impl<'a> Tee<'a> {
    pub fn new(presenters: Vec<Box<dyn Presenter + 'a>>) -> Tee<'a> {
        Tee { presenters }
    }
}

impl Presenter for Tee<'_> {
    fn file(&mut self, file: &FileReport) -> io::Result<()> {
        for p in &mut self.presenters {
            p.file(file)?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        for p in &mut self.presenters {
            p.finish(summary)?;
        }
        Ok(())
    }
}
