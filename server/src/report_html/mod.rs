//! `gemmscope report`: one self-contained HTML page of pictures — per
//! finding the speed ladder, the time per output over sizes; this
//! machine's roofline with every candidate as a point; a summary table
//! sorted by the time that could be saved.
//!
//! This file owns the gathering: findings come from [`check::run`] (through
//! [`check::collect_all`]), numbers only from the Estimate API
//! ([`advice::estimate_for`], [`Estimator::estimate`]). It is a presenter:
//! it computes nothing the estimate does not say, it only asks the same
//! question at more sizes. The charts are drawn in `svg.rs`, the page is
//! put together in `page.rs`, and `open.rs` hands the file to a browser.

pub mod open;
pub mod page;
pub mod svg;

use gemmscope_analyzers::{Dim, Finding};
use gemmscope_microbench::ceilings;
use gemmscope_microbench::estimate::{Estimate, Estimator, MeasurePolicy};
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::model::Roofline;
use gemmscope_microbench::store::Store;
use gemmscope_microbench::toolchain::Toolchain;
use gemmscope_microbench::Problem;

use crate::advice::BenchMode;
use crate::advice::{self, as_written_candidate, NoProblem};
use crate::check::{self, CheckOptions};

/// Scale factors of the size curve: each dim of the finding's problem
/// times these, clamped to [`CURVE_MIN`]..[`CURVE_MAX`].
pub const CURVE_FACTORS: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
pub const CURVE_MIN: u64 = 16;
pub const CURVE_MAX: u64 = 8192;
/// Square sizes of the size curve when the code's sizes are unknown.
pub const CURVE_SQUARES: [u64; 7] = [64, 128, 256, 512, 1024, 2048, 4096];
/// Curves show the code as written and at most this many other options.
const CURVE_OTHERS: usize = 3;

/// One finding's part of the report.
#[derive(Clone, Debug)]
pub struct Section {
    /// Stable id of the section ([`anchor`]): the hover links here.
    pub anchor: String,
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub code: String,
    pub rule: String,
    pub message: String,
    pub why: String,
    pub function: Option<String>,
    /// The first line of the finding, as written.
    pub excerpt: String,
    /// The estimate, or why there is none (the `NoProblem` text).
    pub estimate: Result<Estimate, String>,
    /// The size curve, or why there is none.
    pub curve: Result<Curve, String>,
}

impl Section {
    /// Seconds per call the best faster option saves over the code as
    /// written, with that option (`None` without an estimate or a faster
    /// option).
    pub fn saving(&self) -> Option<(f64, &gemmscope_microbench::estimate::Line)> {
        let e = self.estimate.as_ref().ok()?;
        let aw = e.as_written.as_ref()?;
        let best = e
            .faster()
            .min_by(|a, b| a.seconds_per_call.total_cmp(&b.seconds_per_call))?;
        Some((aw.seconds_per_call - best.seconds_per_call, best))
    }
}

/// How the sizes of a curve were chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum CurveSizes {
    /// The finding's own problem with each dim scaled.
    Scaled { base: Problem },
    /// Square problems, because the code's sizes are unknown (the reason).
    Square { why: String },
}

/// Time per output over sizes, per option.
#[derive(Clone, Debug)]
pub struct Curve {
    pub sizes: CurveSizes,
    /// The problems, smallest first (x positions).
    pub problems: Vec<Problem>,
    /// The code as written first.
    pub series: Vec<Series>,
}

/// One option over the curve's sizes.
#[derive(Clone, Debug)]
pub struct Series {
    pub candidate: String,
    pub label: String,
    pub place: String,
    pub as_written: bool,
    pub points: Vec<CurvePoint>,
}

/// One option at one size.
#[derive(Clone, Debug)]
pub struct CurvePoint {
    /// Index into [`Curve::problems`].
    pub at: usize,
    pub ns_per_output: f64,
    /// The stated relative error, where the source gives one.
    pub error: Option<f64>,
    /// The source, short (`predicted from 9 points, ±12%`).
    pub source: String,
}

/// Everything on the page.
#[derive(Clone, Debug)]
pub struct Report {
    pub machine: String,
    pub machine_id: String,
    pub policy: MeasurePolicy,
    pub bench: BenchMode,
    /// This machine's ceilings (the estimator's), if any is known.
    pub roofline: Option<Roofline>,
    pub sections: Vec<Section>,
    pub files_checked: usize,
    /// Findings not shown: suppressed inline or in the baseline.
    pub hidden: usize,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// What `gemmscope report` was asked.
pub struct ReportOptions {
    pub check: CheckOptions,
    /// `off` (default: shipped reference data and the model, nothing read
    /// from this machine's store) or `cached`.
    pub bench: BenchMode,
    /// Measure this machine's memory bandwidth for the roofline's slope
    /// (a STREAM-like loop of about a second; without it the roofline has
    /// its compute roof only).
    pub measure_bandwidth: bool,
}

/// The stable id of a finding's section: rule code, file name, line and a
/// short hash of the file's canonical path (so that the report and the
/// language server, which know the file by different spellings of its
/// path, name the same section).
pub fn anchor(path: &str, line: usize, code: &str) -> String {
    let canon = std::fs::canonicalize(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string());
    let name = std::path::Path::new(&canon)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    // FNV-1a, 32 bits: stable across runs and platforms.
    let mut h: u32 = 0x811c_9dc5;
    for b in canon.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{}-{slug}-{line}-{h:08x}", code.to_ascii_lowercase())
}

/// Escapes text for HTML and SVG (element text and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// The estimator for `--bench off|cached`, as `check` builds it.
pub fn estimator(bench: BenchMode, measure_bandwidth: bool) -> (Estimator, Vec<String>) {
    let mut warnings = Vec::new();
    let (machine, store) = match bench {
        BenchMode::Off => (Machine::detect(&Toolchain::default()), None),
        _ => {
            let machine = Machine::detect(&Toolchain::probe());
            let store = match Store::open_default() {
                Ok((s, w)) => {
                    warnings.extend(w);
                    Some(s)
                }
                Err(e) => {
                    warnings.push(format!("estimates without this machine's results: {e}"));
                    None
                }
            };
            (machine, store)
        }
    };
    let bw = measure_bandwidth.then(|| ceilings::machine_bandwidth(&machine));
    let cal = match bench {
        BenchMode::Off => gemmscope_microbench::calibrate::load_default(&machine),
        _ => None,
    };
    (
        Estimator::new(machine, store, None, bw.as_ref()).with_calibration(cal),
        warnings,
    )
}

/// The policy of a bench mode (`on` is not offered by `report`).
pub fn policy(bench: BenchMode) -> MeasurePolicy {
    match bench {
        BenchMode::Off => MeasurePolicy::Never,
        _ => MeasurePolicy::Cached,
    }
}

/// Checks the paths and estimates every active finding, at its size and
/// over the curve's sizes.
pub fn build(opts: ReportOptions) -> Result<Report, String> {
    let mut check = opts.check;
    // The estimates are made here (at many sizes), not by check.
    check.advisors = check::no_estimates;
    check.overrides.bench = Some(opts.bench);
    let outcome = check::collect_all(&check)?;
    let (est, mut warnings) = estimator(opts.bench, opts.measure_bandwidth);
    let policy = policy(opts.bench);
    let mut sections = Vec::new();
    let mut hidden = 0;
    for file in &outcome.files {
        for r in &file.findings {
            if !r.is_active() {
                hidden += 1;
                continue;
            }
            sections.push(section(
                &file.path,
                file.line(r.finding.range.start_line),
                &r.finding,
                &est,
                policy,
            ));
        }
    }
    // Largest saving first (the summary's order, so that `#n` is the same
    // in the summary, the roofline and the sections); no number last, in
    // path order.
    sections.sort_by(|a, b| match (a.saving(), b.saving()) {
        (Some((x, _)), Some((y, _))) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    // Ids must be unique on the page: a second finding of the same code on
    // the same line gets `-2` (the hover links to the first).
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for s in &mut sections {
        let n = seen.entry(s.anchor.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            s.anchor = format!("{}-{n}", s.anchor);
        }
    }
    warnings.extend(
        outcome
            .summary
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.path, w.message)),
    );
    Ok(Report {
        machine: est.machine.describe(),
        machine_id: est.machine_id.clone(),
        policy,
        bench: opts.bench,
        roofline: est.roofline.clone(),
        sections,
        files_checked: outcome.summary.files_checked,
        hidden,
        errors: outcome
            .summary
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect(),
        warnings,
    })
}

/// One finding's section.
pub fn section(
    path: &str,
    excerpt: &str,
    f: &Finding,
    est: &Estimator,
    policy: MeasurePolicy,
) -> Section {
    let estimate = advice::estimate_for(f, est, policy).map_err(|e| e.to_string());
    let curve = curve(f, est, policy, estimate.as_ref().ok());
    Section {
        anchor: anchor(path, f.range.start_line, f.code),
        path: path.to_string(),
        line: f.range.start_line,
        col: f.range.start_col + 1,
        code: f.code.to_string(),
        rule: f.rule.to_string(),
        message: f.message.clone(),
        why: f.why.clone(),
        function: f.function.clone(),
        excerpt: excerpt.trim().to_string(),
        estimate,
        curve,
    }
}

/// The problems of the size curve: the finding's own with each dim scaled,
/// or squares when a dim is unknown (with the reason); `Err` when the
/// finding has no problem at any size (a routine without candidates).
pub fn curve_problems(f: &Finding) -> Result<(CurveSizes, Vec<Problem>), String> {
    match advice::problem_for(f) {
        Ok(base) => {
            let scale =
                |d: u64, x: f64| ((d as f64 * x).round() as u64).clamp(CURVE_MIN, CURVE_MAX);
            let mut ps: Vec<Problem> = Vec::new();
            for x in CURVE_FACTORS {
                let mut p = base.clone();
                p.m = scale(base.m, x);
                p.n = scale(base.n, x);
                p.k = scale(base.k, x);
                if p.validate().is_ok() && !ps.contains(&p) {
                    ps.push(p);
                }
            }
            Ok((CurveSizes::Scaled { base }, ps))
        }
        Err(NoProblem::UnresolvedDim(..)) => {
            let why = advice::problem_for(f).unwrap_err().to_string();
            let ps: Vec<Problem> = CURVE_SQUARES
                .iter()
                .filter_map(|&s| {
                    let mut g = f.clone();
                    for d in [&mut g.dims.m, &mut g.dims.n, &mut g.dims.k] {
                        match d {
                            Some(d) => d.value = Some(s),
                            None => *d = Some(Dim::new(&s.to_string(), Some(s))),
                        }
                    }
                    if let Some(b) = &mut g.dims.batch {
                        b.value = b.value.or(Some(1));
                    }
                    advice::problem_for(&g).ok()
                })
                .collect();
            if ps.is_empty() {
                return Err(why);
            }
            Ok((CurveSizes::Square { why }, ps))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The size curve: the code as written and the fastest options at the
/// base size (or at the middle square), estimated at every size.
fn curve(
    f: &Finding,
    est: &Estimator,
    policy: MeasurePolicy,
    at_size: Option<&Estimate>,
) -> Result<Curve, String> {
    let (sizes, problems) = curve_problems(f)?;
    let as_written = as_written_candidate(f);
    let estimates: Vec<Estimate> = problems
        .iter()
        .map(|p| est.estimate(p, as_written, policy))
        .collect();
    // Which options: the fastest ones at the code's size (or in the middle).
    let pick = at_size.unwrap_or(&estimates[estimates.len() / 2]);
    let mut ids: Vec<String> = vec![as_written.to_string()];
    ids.extend(
        pick.alternatives
            .iter()
            .filter(|l| l.speedup.is_none_or(|s| s > 1.0))
            .take(CURVE_OTHERS)
            .map(|l| l.candidate.clone()),
    );
    if let Some(l) = pick.elsewhere.first() {
        ids.push(l.candidate.clone());
    }
    let mut series = Vec::new();
    for id in ids {
        let mut s: Option<Series> = None;
        for (at, e) in estimates.iter().enumerate() {
            let line = e
                .as_written
                .iter()
                .chain(&e.alternatives)
                .chain(&e.elsewhere)
                .find(|l| l.candidate == id);
            let Some(l) = line else { continue };
            let s = s.get_or_insert_with(|| Series {
                candidate: id.clone(),
                label: l.label.clone(),
                place: l.place.clone(),
                as_written: id == as_written,
                points: Vec::new(),
            });
            s.points.push(CurvePoint {
                at,
                ns_per_output: l.ns_per_output,
                error: l.source.error(),
                source: l.source.short(),
            });
        }
        series.extend(s.filter(|s| !s.points.is_empty()));
    }
    if series.is_empty() {
        return Err("no option has a number at these sizes".into());
    }
    Ok(Curve {
        sizes,
        problems,
        series,
    })
}

/// Writes the report's HTML to `out`.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(page::render(report).as_bytes())
}

#[cfg(test)]
mod tests;
