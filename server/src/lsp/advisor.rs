//! The one interface between the server and whatever knows the numbers:
//! [`Advisor::advise`] turns a finding into the text the presenters show.
//! No LSP types here. The server uses [`EstimateAdvisor`] (the Estimate
//! API: measured rows, model predictions, reference data, crossover);
//! [`StoreAdvisor`] shows only the rows measured on this machine.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use gemmscope_analyzers::{Backend, Finding};
use gemmscope_microbench::report::human_seconds;
use gemmscope_microbench::store::{problem_key, Store};
use gemmscope_microbench::{Problem, Row, Status, Table};

use gemmscope_microbench::estimate::{
    headline, speedup_text, Estimate, Estimator, Line, MeasurePolicy, Source,
};

use crate::advice::{as_written_candidate, problem_for};

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

/// Advice from the Estimate API (`advice::estimate_for`): the measured rows
/// of this machine's store where there are some, predictions from the
/// models fitted on them, and the shipped reference data otherwise — so the
/// first diagnostic has a number at once, and measured numbers replace it
/// when the background benchmark has run (the server rebuilds the advisor
/// then). Every number says how it is known.
pub struct EstimateAdvisor {
    pub est: Estimator,
    /// One line describing the machine.
    pub machine_text: String,
    /// Why nothing is measured, when measurement is not allowed.
    pub not_measured: Option<String>,
    /// (problem key, candidate id) measured by this server process; other
    /// stored rows are shown as cached (measured here earlier).
    pub fresh: Arc<Mutex<HashSet<(String, String)>>>,
}

fn estimate_row(l: &Line, as_written: bool) -> String {
    let name = if as_written {
        format!("{} **(as written)**", cell(&l.label))
    } else {
        cell(&l.label)
    };
    format!(
        "| {name} | {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
        cell(&l.place),
        cell(&l.precision),
        human_seconds(l.seconds_per_call),
        human_seconds(l.ns_per_output * 1e-9),
        l.gflops,
        l.speedup.map(speedup_text).unwrap_or_else(|| "—".into()),
        cell(&format!(
            "{:.0e} ({})",
            l.accuracy.rel_error, l.accuracy.text
        )),
        cell(&l.source.text()),
    )
}

/// The hover for an estimate: the table for this problem on this machine,
/// the reference GPU rows, the CPU/GPU crossover and the roofline.
pub fn estimate_markdown(
    e: &Estimate,
    f: &Finding,
    machine_text: &str,
    not_measured: Option<&str>,
) -> String {
    let mut s = format!(
        "**{}** — {} · {} outputs, {:.3} GFLOP per call\n\n{}\n\nThis machine: {} (`{}`)\n\n",
        cell(&f.message),
        e.problem.describe(),
        e.problem.outputs(),
        e.problem.flops() / 1e9,
        cell(&e.headline),
        cell(machine_text),
        e.machine
    );
    s.push_str(
        "| option | where | precision | per call | per output | GFLOP/s | vs as written | accuracy cost | how known |\n\
         |---|---|---|--:|--:|--:|--:|---|---|\n",
    );
    if let Some(aw) = &e.as_written {
        s.push_str(&estimate_row(aw, true));
    }
    for l in e.alternatives.iter().chain(&e.elsewhere) {
        s.push_str(&estimate_row(l, false));
    }
    if let Some(c) = &e.crossover {
        s.push_str(&format!("\n**CPU or GPU:** {}\n", cell(&c.statement)));
    }
    if let Some(r) = &e.roofline {
        s.push_str(&format!("\nRoofline: {}\n", cell(r)));
    }
    if !e.unknown.is_empty() {
        s.push_str("\nNo number for: ");
        let parts: Vec<String> = e
            .unknown
            .iter()
            .map(|(id, why)| format!("`{id}` ({})", cell(why)))
            .collect();
        s.push_str(&parts.join("; "));
        s.push('\n');
    }
    if let Some(why) = not_measured {
        s.push_str(&format!(
            "\nNot measuring on this machine: {}.\n",
            cell(why)
        ));
    }
    s
}

impl EstimateAdvisor {
    /// Rows this server measured are `measured`; the store's older ones
    /// stay `cached: measured here earlier`.
    fn relabel(&self, e: &mut Estimate) {
        let key = problem_key(&e.problem);
        let fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        for l in e.as_written.iter_mut().chain(e.alternatives.iter_mut()) {
            if let Source::Measured { cached, text } = &mut l.source {
                if fresh.contains(&(key.clone(), l.candidate.clone())) {
                    *cached = false;
                    *text = text.replacen("measured here earlier", "measured here", 1);
                }
            }
        }
        e.headline = headline(&e.problem, e.as_written.as_ref(), &e.alternatives);
    }
}

impl EstimateAdvisor {
    /// The candidate standing for the code as written: for C loops, the
    /// naive variant measured here for this problem when there is one (the
    /// optimisation level the user builds with is unknown), else the
    /// Estimate API's default.
    fn as_written(&self, f: &Finding) -> &'static str {
        let default = as_written_candidate(f);
        if f.backend != Backend::Cpu {
            return default;
        }
        let Ok(p) = problem_for(f) else {
            return default;
        };
        ["c-naive-O3", "c-naive-O1", "c-naive-O3-native"]
            .into_iter()
            .find(|id| {
                self.est
                    .rows
                    .iter()
                    .any(|(q, r)| *q == p && r.id == *id && r.status == Status::Ok)
            })
            .unwrap_or(default)
    }
}

impl Advisor for EstimateAdvisor {
    fn advise(&self, f: &Finding) -> Advice {
        let estimate = problem_for(f).map(|p| {
            self.est
                .estimate(&p, self.as_written(f), MeasurePolicy::Cached)
        });
        let mut e = match estimate {
            Ok(e) => e,
            Err(why) => {
                return Advice {
                    table_markdown: Some(format!(
                        "**{}**\n\nNo estimate: {why}.",
                        cell(&f.message)
                    )),
                    ..Advice::default()
                }
            }
        };
        self.relabel(&mut e);
        let speedup = e.faster().filter_map(|l| l.speedup).max_by(f64::total_cmp);
        let inlay = e
            .as_written
            .as_ref()
            .map(|l| format!("~{}/output", human_seconds(l.ns_per_output * 1e-9)));
        Advice {
            headline: Some(format!("{} — {}", f.message, e.headline)),
            table_markdown: Some(estimate_markdown(
                &e,
                f,
                &self.machine_text,
                self.not_measured.as_deref(),
            )),
            inlay,
            speedup,
        }
    }
}
