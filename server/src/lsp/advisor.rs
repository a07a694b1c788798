//! The one interface between the server and whatever knows the numbers:
//! [`Advisor::advise`] turns a finding into the text the presenters show.
//! No LSP types here. Today's implementation, [`StoreAdvisor`], reads the
//! rows measured on this machine from the microbench store; a model-backed
//! advisor (predictions and reference data) plugs in behind the same trait.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use gemmscope_analyzers::{Backend, Finding};
use gemmscope_microbench::report::human_seconds;
use gemmscope_microbench::store::{problem_key, Store};
use gemmscope_microbench::{Problem, Row, Status, Table};

use crate::advice::problem_for;

/// What the presenters show for one finding. `None` fields fall back to the
/// finding's own message / nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advice {
    /// The diagnostic message, with the headline number.
    pub headline: Option<String>,
    /// The hover: the full table for this problem on this machine.
    pub table_markdown: Option<String>,
    /// The inlay hint (`~10 µs/output`).
    pub inlay: Option<String>,
    /// How much faster the best alternative is than this code (scales the
    /// diagnostic's severity).
    pub speedup: Option<f64>,
}

pub trait Advisor: Send + Sync {
    fn advise(&self, f: &Finding) -> Advice;
}

/// Where the store advisor reads from: the store and this machine's id.
pub struct StoreSource {
    pub store: Arc<Store>,
    pub machine: String,
    /// One line describing the machine.
    pub machine_text: String,
}

/// Advice from the rows measured on this machine (the microbench store).
pub struct StoreAdvisor {
    pub source: Option<StoreSource>,
    /// Why nothing is measured, when measurement is not allowed.
    pub not_measured: Option<String>,
    /// (problem key, candidate id) measured by this server process; other
    /// stored rows are shown as `cached` (measured here earlier).
    pub fresh: Arc<Mutex<HashSet<(String, String)>>>,
}

/// The candidate that does what the finding's code does, to compare against.
fn baseline_ids(f: &Finding) -> &'static [&'static str] {
    match f.backend {
        Backend::Cpu => &["c-naive-O1", "c-naive-O3", "c-naive-O3-native"],
        Backend::PythonLoop => &["python-loop"],
        Backend::CudaKernel if f.code == "GS103" => &["cuda-tiled"],
        Backend::CudaKernel => &["cuda-naive"],
        Backend::Cublas | Backend::PythonLibrary => &["cublas-sgemm-pedantic"],
    }
}

fn per_output(r: &Row) -> Option<String> {
    r.ns_per_output.map(|ns| human_seconds(ns * 1e-9))
}

fn how(r: &Row) -> String {
    r.provenance
        .as_ref()
        .map(|p| p.how.clone())
        .unwrap_or_else(|| "unknown provenance".into())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The hover table: every row with its provenance and accuracy.
pub fn table_markdown(t: &Table, machine_text: &str, f: &Finding) -> String {
    let mut s = format!(
        "**{}** — {} · {} outputs, {:.3} GFLOP per call\n\n",
        cell(&f.message),
        t.problem.describe(),
        t.problem.outputs(),
        t.problem.flops() / 1e9
    );
    s.push_str(&format!(
        "This machine ({}): `{}`\n\n",
        cell(machine_text),
        t.machine
    ));
    s.push_str(
        "| candidate | backend | precision | per call | per output | GFLOP/s | speed-up | rel. error | how known |\n\
         |---|---|---|--:|--:|--:|--:|--:|---|\n",
    );
    let mut ok: Vec<&Row> = t.rows.iter().filter(|r| r.status == Status::Ok).collect();
    ok.sort_by(|a, b| {
        b.seconds_per_call
            .unwrap_or(0.0)
            .total_cmp(&a.seconds_per_call.unwrap_or(0.0))
    });
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map(f).unwrap_or_else(|| "—".into());
    for r in ok {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(&r.candidate),
            r.backend.as_str(),
            cell(&r.dtype),
            opt(r.seconds_per_call, &human_seconds),
            opt(r.ns_per_output, &|ns| human_seconds(ns * 1e-9)),
            opt(r.gflops, &|g| format!("{g:.2}")),
            opt(r.speedup, &|x| format!("{x:.0}×")),
            opt(r.rel_error, &|e| format!("{e:.1e}")),
            cell(
                &r.provenance
                    .as_ref()
                    .map(|p| p.describe())
                    .unwrap_or_default()
            ),
        ));
    }
    s.push_str(
        "\nSpeed-up is over the slowest row; rel. error is against a float64 reference on the \
         same inputs. Reference GPU rows and the CPU/GPU crossover come from the performance \
         model, which this build does not have yet.\n",
    );
    s
}

impl StoreAdvisor {
    fn rows(&self, p: &Problem) -> Option<(Table, &StoreSource)> {
        let src = self.source.as_ref()?;
        let mut rows = match src.store.latest_rows(&src.machine, p) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("gemmscope serve: reading the result store: {e}");
                return None;
            }
        };
        rows.retain(|r| r.status == Status::Ok);
        if rows.is_empty() {
            return None;
        }
        let key = problem_key(p);
        let fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        for r in &mut rows {
            if let Some(pr) = &mut r.provenance {
                if !fresh.contains(&(key.clone(), r.id.clone())) {
                    pr.how = "cached".into();
                }
            }
        }
        let mut t = Table {
            problem: p.clone(),
            machine: src.machine.clone(),
            rows,
        };
        t.compute_speedups();
        Some((t, src))
    }
}

impl Advisor for StoreAdvisor {
    fn advise(&self, f: &Finding) -> Advice {
        let p = match problem_for(f) {
            Ok(p) => p,
            Err(why) => {
                return Advice {
                    table_markdown: Some(format!(
                        "**{}**\n\nNot measurable as it stands: {why}.",
                        cell(&f.message)
                    )),
                    ..Advice::default()
                }
            }
        };
        let Some((t, src)) = self.rows(&p) else {
            let why = self
                .not_measured
                .clone()
                .unwrap_or_else(|| "queued for measurement".into());
            return Advice {
                table_markdown: Some(format!(
                    "**{}** — {}\n\nNot measured on this machine yet: {why}.",
                    cell(&f.message),
                    p.describe()
                )),
                ..Advice::default()
            };
        };
        let yours = baseline_ids(f)
            .iter()
            .find_map(|id| t.rows.iter().find(|r| r.id == *id));
        let best = t.best();
        let mut headline = f.message.clone();
        let mut speedup = None;
        let mut inlay = None;
        match (yours, best) {
            (Some(y), Some(b)) => {
                let po = per_output(y).unwrap_or_else(|| "?".into());
                headline.push_str(&format!(
                    " — ~{po} per output here ({}, {})",
                    y.candidate,
                    how(y)
                ));
                inlay = Some(format!("~{po}/output"));
                if b.id != y.id {
                    if let (Some(ys), Some(bs)) = (y.seconds_per_call, b.seconds_per_call) {
                        let x = ys / bs;
                        speedup = Some(x);
                        headline.push_str(&format!(
                            "; {} is ~{x:.0}× faster ({}, rel. error {})",
                            b.candidate,
                            how(b),
                            b.rel_error
                                .map(|e| format!("{e:.0e}"))
                                .unwrap_or_else(|| "?".into())
                        ));
                    }
                }
            }
            (None, Some(b)) => {
                headline.push_str(&format!(
                    " — fastest measured here: {} at ~{} per output ({})",
                    b.candidate,
                    per_output(b).unwrap_or_else(|| "?".into()),
                    how(b)
                ));
            }
            _ => {}
        }
        Advice {
            headline: Some(headline),
            table_markdown: Some(table_markdown(&t, &src.machine_text, f)),
            inlay,
            speedup,
        }
    }
}
