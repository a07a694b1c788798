//! The Estimate API: for a problem and the candidate that is the user's
//! code as written, what that code costs here and what each faster option
//! costs — every number with its provenance (measured here / predicted
//! from N points ±E% / reference data from S) and its accuracy cost. The
//! language server and `check` use only this API.

use serde::Serialize;

use crate::calibrate::Calibration;
use crate::candidates::{self, Backend, Candidate};
use crate::ceilings::Bandwidth;
use crate::engine::{Engine, Options};
use crate::fingerprint::Machine;
use crate::model::crossover::{self, Crossover, GpuSide, Transfer};
use crate::model::reference::{Descriptor, RefPrediction, Reference};
use crate::model::{Models, Roofline};
use crate::problem::{DType, Problem};
use crate::report::{human_seconds, Row, Status};
use crate::store::Store;

/// Whether an estimate may measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasurePolicy {
    /// Model and reference data only: nothing is run, the store is read
    /// only to fit the models.
    Never,
    /// As `Never`, but a row in the store for this exact problem counts as
    /// measured.
    Cached,
    /// As `Cached`, and the rows the store lacks are measured with the
    /// engine (in sandboxed children) and stored.
    Always,
}

impl MeasurePolicy {
    pub fn parse(s: &str) -> Option<MeasurePolicy> {
        Some(match s {
            "never" => MeasurePolicy::Never,
            "cached" => MeasurePolicy::Cached,
            "always" => MeasurePolicy::Always,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MeasurePolicy::Never => "never",
            MeasurePolicy::Cached => "cached",
            MeasurePolicy::Always => "always",
        }
    }
}

/// How a number is known.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Source {
    /// Measured on this machine at this size (now, or earlier: `cached`).
    Measured { cached: bool, text: String },
    /// From the fitted model of this machine.
    Predicted {
        points: usize,
        /// Leave-one-out median and max relative error (`None` with one
        /// point).
        median_error: Option<f64>,
        max_error: Option<f64>,
        /// The 80th percentile of the leave-one-out errors: the printed
        /// `±`, which the truth should lie inside for most problems.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_p80: Option<f64>,
        features: Vec<String>,
        extrapolated: bool,
        /// Under the roofline bound, so raised to it.
        clamped: bool,
        /// `gemmscope calibrate on 2026-12-02` when the points are this
        /// machine's stored calibration (what `--bench off` reads).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calibrated: Option<String>,
        text: String,
    },
    /// From the shipped reference data.
    Reference {
        /// The reference machines used.
        machines: Vec<String>,
        /// Nearest-neighbour validation error across reference machines.
        error: Option<f64>,
        /// What `error` is when it is not that (a GEMV curve's
        /// leave-one-size-out percentile).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_basis: Option<String>,
        /// `f64 from f32 rows ×2.08`, where a machine's rows were of
        /// another dtype and moved by the shipped dtype ratio (its error is
        /// in `error`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dtype_moved: Option<String>,
        text: String,
    },
}

impl Source {
    /// `measured`, `predicted from 9 points, ±12%`, `reference data: the
    /// seed talk's table`.
    pub fn short(&self) -> String {
        match self {
            Source::Measured { cached: false, .. } => "measured".into(),
            Source::Measured { cached: true, .. } => "cached: measured here earlier".into(),
            Source::Predicted {
                points,
                error_p80: median_error,
                extrapolated,
                clamped,
                calibrated,
                ..
            } => {
                let mut s = match (calibrated, median_error) {
                    (Some(c), Some(e)) => format!(
                        "calibrated here ({points} points, {c}), ±{:.0}% (80th percentile of leave-one-out errors)",
                        e * 100.0
                    ),
                    (Some(c), None) => {
                        format!("calibrated here ({points} point, {c}), error unknown")
                    }
                    (None, Some(e)) => {
                        format!("predicted from {points} points, ±{:.0}%", e * 100.0)
                    }
                    (None, None) => format!("predicted from {points} point, error unknown"),
                };
                if *extrapolated {
                    s.push_str(", extrapolated");
                }
                if *clamped {
                    s.push_str(", clamped to the roofline bound");
                }
                s
            }
            Source::Reference {
                machines,
                error,
                error_basis,
                dtype_moved,
                ..
            } => {
                let mut s = format!("reference data: {}", machines.join(" + "));
                if let Some(m) = dtype_moved {
                    s.push_str(&format!(", {m}"));
                }
                match (error, error_basis) {
                    (Some(e), None) => {
                        s.push_str(&format!(", ±{:.0}% across reference machines", e * 100.0))
                    }
                    (Some(e), Some(_)) => {
                        s.push_str(&format!(", ±{:.0}% leave-one-size-out", e * 100.0))
                    }
                    (None, Some(why)) => s.push_str(&format!(", error unknown ({why})")),
                    // Nothing to validate against: the candidate is on one
                    // reference machine only. Said, not left out.
                    (None, None) => s.push_str(", error unknown (one reference machine)"),
                }
                s
            }
        }
    }

    /// The whole provenance line.
    pub fn text(&self) -> String {
        match self {
            Source::Measured { text, .. } | Source::Predicted { text, .. } => text.clone(),
            Source::Reference {
                text,
                error,
                error_basis,
                dtype_moved,
                ..
            } => {
                let widened = if dtype_moved.is_some() {
                    ", widened by the dtype ratio's error"
                } else {
                    ""
                };
                match (error, error_basis) {
                    (Some(e), Some(basis)) => {
                        format!("{text}; ±{:.0}% ({basis}{widened})", e * 100.0)
                    }
                    (Some(e), None) => format!(
                        "{text}; ±{:.0}% (leave-one-machine-out median error across the reference machines{widened})",
                        e * 100.0
                    ),
                    (None, Some(why)) => format!("{text}; error unknown ({why})"),
                    (None, None) => format!("{text}; error unknown (one reference machine)"),
                }
            }
        }
    }

    /// The stated relative error of the time, where there is one (measured
    /// numbers: none — their spread is in the text).
    pub fn error(&self) -> Option<f64> {
        match self {
            Source::Measured { .. } => None,
            Source::Predicted {
                error_p80,
                median_error,
                ..
            } => error_p80.or(*median_error),
            Source::Reference { error, .. } => *error,
        }
    }
}

/// The accuracy cost of an option: relative Frobenius error against a
/// float64 reference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Accuracy {
    pub rel_error: f64,
    /// Measured on the same inputs, or typical for the precision.
    pub measured: bool,
    pub text: String,
}

/// The typical relative error of the arithmetic described by a precision
/// string (`f32`, `tf32 in, f32 accumulate`, `f16 in, f32 accumulate`, `f64
/// (Python float)`): the unit roundoff of its inputs.
pub fn typical_error(precision: &str) -> (f64, &'static str) {
    let p = precision.trim_start();
    if p.starts_with("tf32") {
        (4.9e-4, "tf32")
    } else if p.starts_with("bf16") {
        (3.9e-3, "bf16")
    } else if p.starts_with("f16") {
        (4.9e-4, "f16")
    } else if p.starts_with("f64") {
        (1.1e-16, "f64")
    } else {
        (6.0e-8, "f32")
    }
}

fn typical(precision: &str) -> Accuracy {
    let (e, name) = typical_error(precision);
    Accuracy {
        rel_error: e,
        measured: false,
        text: format!("typical for {name} (unit roundoff of its inputs; not measured)"),
    }
}

/// One option's cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub candidate: String,
    pub label: String,
    /// `cpu`, `python`, `gpu`.
    pub backend: String,
    pub precision: String,
    /// `here`, or `on an A100-class GPU`.
    pub place: String,
    pub seconds_per_call: f64,
    pub ns_per_output: f64,
    pub gflops: f64,
    /// Over the code as written (`None` for the code as written itself,
    /// and for lines elsewhere when the code as written has no number).
    pub speedup: Option<f64>,
    pub accuracy: Accuracy,
    pub source: Source,
}

impl Line {
    /// `on an A100-class GPU, cuBLAS … : ~52 ns per output (reference data: …)`.
    pub fn sentence(&self) -> String {
        format!(
            "{}, {}: ~{} per output ({})",
            self.place,
            self.label,
            human_seconds(self.ns_per_output * 1e-9),
            self.source.short()
        )
    }
}

/// What the code as written costs, and its alternatives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub problem: Problem,
    pub machine: String,
    pub policy: MeasurePolicy,
    /// The candidate standing for the code as written (`c-naive-O3`).
    pub as_written_id: String,
    pub as_written: Option<Line>,
    /// The other options where the code as written runs, fastest first.
    pub alternatives: Vec<Line>,
    /// Options on reference machines of a kind this machine lacks (a GPU).
    pub elsewhere: Vec<Line>,
    pub crossover: Option<Crossover>,
    /// The roofline bound used, described.
    pub roofline: Option<String>,
    /// Candidates with no number, and why.
    pub unknown: Vec<(String, String)>,
    /// One line for a diagnostic.
    pub headline: String,
}

impl Estimate {
    /// Alternatives faster than the code as written.
    pub fn faster(&self) -> impl Iterator<Item = &Line> {
        self.alternatives
            .iter()
            .filter(|l| l.speedup.is_some_and(|s| s > 1.0))
    }

    /// The option the advice names: see [`best_line`].
    pub fn best(&self) -> Option<&Line> {
        best_line(&self.alternatives)
    }
}

/// How much a line's number can be trusted, for choosing the option to
/// name: 0 for this machine's own data (measured, calibrated or predicted
/// here), 1 for reference data whose error is known, 2 for reference data
/// whose error is unknown (a candidate on one reference machine only).
fn trust_tier(l: &Line) -> u8 {
    match &l.source {
        Source::Reference { error: None, .. } => 2,
        Source::Reference { .. } => 1,
        _ => 0,
    }
}

/// The option the advice names among `lines`: the fastest of those faster
/// than the code as written, from the most trusted tier that has one
/// ([`trust_tier`]). One rule for the headline, the speed-up gates and the
/// advice over assumed sizes: a faster number on another machine whose
/// error is unknown never displaces this machine's own curve.
pub fn best_line(lines: &[Line]) -> Option<&Line> {
    lines
        .iter()
        .filter(|l| l.speedup.is_some_and(|x| x > 1.0))
        .min_by(|a, b| {
            trust_tier(a)
                .cmp(&trust_tier(b))
                .then(a.seconds_per_call.total_cmp(&b.seconds_per_call))
        })
}

/// Candidates only the reference data has (no kernel here), GPU side.
const REFERENCE_GPU_ONLY: &[&str] = &["torch-cuda-fp32", "cutlass", "torch-cuda-f16"];
/// The reference machine used for "on a GPU" lines.
pub const GPU_REFERENCE: &str = "a100";

/// Everything an estimate needs.
pub struct Estimator {
    pub machine: Machine,
    pub machine_id: String,
    /// This machine's stored results when the estimator was built.
    pub rows: Vec<(Problem, Row)>,
    pub models: Models,
    pub reference: &'static Reference,
    pub roofline: Option<Roofline>,
    pub transfer: Transfer,
    /// This CPU for the nearest-neighbour model.
    pub descriptor: Option<Descriptor>,
    pub store: Option<Store>,
    pub engine: Option<Engine>,
    /// Seconds for measuring the missing rows of one estimate (`Always`).
    pub budget_s: f64,
    /// This machine's `gemmscope calibrate` run, when there is one.
    pub calibration: Option<Calibration>,
    /// Whether `rows` are the calibration's (no store: `--bench off`, the
    /// editor before measuring; or a store with no rows under this
    /// machine id, e.g. after its software versions changed).
    rows_from_calibration: bool,
}

impl Estimator {
    /// Reads this machine's results from `store`, fits the models and the
    /// roofline. `bandwidth`: the measured STREAM-like figure, when the
    /// caller has one (the roofline is compute-only without it). The
    /// machine id is the engine's when there is one, else the
    /// fingerprint's.
    pub fn new(
        machine: Machine,
        store: Option<Store>,
        engine: Option<Engine>,
        bandwidth: Option<&Bandwidth>,
    ) -> Estimator {
        let machine_id = engine
            .as_ref()
            .map_or_else(|| machine.id(), |e| e.machine.clone());
        let mut e = Estimator {
            descriptor: Descriptor::of_cpu(&machine, bandwidth.map(|b| b.best_gbs())),
            machine,
            machine_id,
            rows: Vec::new(),
            models: Models::default(),
            reference: Reference::shipped(),
            roofline: None,
            transfer: Transfer::default(),
            store,
            engine,
            budget_s: 10.0,
            calibration: None,
            rows_from_calibration: false,
        };
        e.refresh(bandwidth);
        e
    }

    /// Fits on `calibration`'s rows where there is no store, or the store
    /// has no rows of this machine: the default advice after `gemmscope
    /// calibrate`. `None` changes nothing.
    pub fn with_calibration(mut self, calibration: Option<Calibration>) -> Estimator {
        if calibration.is_some() {
            self.calibration = calibration;
            self.refresh(None);
        }
        self
    }

    /// Re-reads the store (or the calibration, without one) and refits
    /// (after measuring).
    pub fn refresh(&mut self, bandwidth: Option<&Bandwidth>) {
        self.rows = self
            .store
            .as_ref()
            .and_then(|s| s.machine_results(&self.machine_id).ok())
            .unwrap_or_default();
        self.rows_from_calibration = false;
        if self.rows.is_empty() {
            if let Some(c) = &self.calibration {
                self.rows = c.rows.clone();
                self.rows_from_calibration = true;
            }
        }
        self.models = Models::fit(&self.machine_id, &self.machine.caches, &self.rows);
        let bw = bandwidth.cloned().or_else(|| {
            self.roofline.as_ref().and_then(|r| {
                r.bandwidth_gbs.map(|g| Bandwidth {
                    copy_gbs: g,
                    triad_gbs: g,
                    array_bytes: 0,
                    threads: 0,
                    repeats: 0,
                    elapsed_s: 0.0,
                    method: r
                        .bandwidth_source
                        .trim_start_matches("measured here: ")
                        .to_string(),
                })
            })
        });
        self.roofline = Roofline::for_machine(&self.machine, &self.rows, bw.as_ref());
        self.transfer = Transfer::from_rows(&self.rows);
    }

    fn has_gpu(&self) -> bool {
        !self.machine.gpus.is_empty()
    }

    /// The candidates that run on this machine's side (GPU ones only when
    /// it has a GPU), self-test candidates excluded.
    fn local_candidates(&self, p: &Problem) -> Vec<&'static dyn Candidate> {
        candidates::all()
            .into_iter()
            .filter(|c| !c.id().starts_with("selftest"))
            .filter(|c| c.measures(p.op))
            .filter(|c| c.backend() != Backend::Gpu || self.has_gpu())
            .collect()
    }

    fn stored(&self, p: &Problem, id: &str) -> Option<Row> {
        let r = match &self.store {
            Some(s) => s.try_get(&self.machine_id, p, id).ok().flatten(),
            None => self
                .rows
                .iter()
                .find(|(q, r)| q == p && r.id == id)
                .map(|(_, r)| r.clone()),
        };
        r.filter(|r| r.status == Status::Ok && r.seconds_per_call.is_some_and(|s| s > 0.0))
    }

    fn clamp(&self, backend: Backend, p: &Problem, s: f64) -> (f64, bool) {
        match (&self.roofline, backend) {
            (Some(r), Backend::Cpu | Backend::Python) => {
                let c = r.clamp(p, s);
                (c.seconds, c.clamped)
            }
            _ => (s, false),
        }
    }

    /// Seconds per call of `id` at `p` here from the model or, failing
    /// that, the reference data (no measurement): the crossover's CPU side.
    pub fn predict_here(&self, id: &str, p: &Problem) -> Option<(f64, Source)> {
        let backend = candidates::by_id(id).map_or(Backend::Cpu, |c| c.backend());
        let scaled = self.scaled_reference(id, p);
        let fitted = self.models.get(id, p);
        // Of this machine's two models of the candidate, the one whose
        // leave-one-out error on its points is smaller.
        if let Some(sc) = scaled.filter(|sc| {
            fitted.is_none_or(|m| {
                m.validation
                    .as_ref()
                    .is_none_or(|v| sc.median_error < v.median_rel)
            })
        }) {
            let (s, clamped) = self.clamp(backend, p, sc.seconds);
            let calibrated = self.calibrated();
            let mut text = format!(
                "{} scaled ×{:.2}: the median measured/reference ratio at {} points on this \
                 machine{}; ±{:.0}% (80% of leave-one-out errors within; median {:.0}%, max {:.0}%)",
                sc.reference_text,
                sc.ratio,
                sc.points,
                calibrated
                    .as_ref()
                    .map_or(String::new(), |c| format!(" (calibrated here: {c})")),
                sc.p80_error * 100.0,
                sc.median_error * 100.0,
                sc.max_error * 100.0
            );
            if clamped {
                if let Some(r) = &self.roofline {
                    text.push_str(&format!("; clamped to the {}", r.describe()));
                }
            }
            return Some((
                s,
                Source::Predicted {
                    points: sc.points,
                    median_error: Some(sc.median_error),
                    max_error: Some(sc.max_error),
                    error_p80: Some(sc.p80_error),
                    features: vec!["reference curve × measured ratio".into()],
                    extrapolated: false,
                    clamped,
                    calibrated,
                    text,
                },
            ));
        }
        if let Some(m) = fitted {
            let (s, clamped) = self.clamp(backend, p, m.predict(p));
            let v = m.validation.as_ref();
            let calibrated = self.calibrated();
            let mut text = format!(
                "{} on this machine{}; features [{}]",
                m.describe(),
                calibrated
                    .as_ref()
                    .map_or(String::new(), |c| format!(" (calibrated here: {c})")),
                m.features.join(", ")
            );
            if m.extrapolates(p) {
                text.push_str("; extrapolated beyond the measured sizes");
            }
            if clamped {
                if let Some(r) = &self.roofline {
                    text.push_str(&format!("; clamped to the {}", r.describe()));
                }
            }
            return Some((
                s,
                Source::Predicted {
                    points: m.points,
                    median_error: v.map(|v| v.median_rel),
                    max_error: v.map(|v| v.max_rel),
                    error_p80: v.map(|v| v.p80_rel),
                    features: m.features.iter().map(|f| f.to_string()).collect(),
                    extrapolated: m.extrapolates(p),
                    clamped,
                    calibrated,
                    text,
                },
            ));
        }
        let d = self.descriptor.as_ref()?;
        let pr = self.reference.predict(d, id, p, 2, None)?;
        let (s, _) = self.clamp(backend, p, pr.seconds);
        Some((s, reference_source(&pr)))
    }

    /// `gemmscope calibrate on 2026-12-02` when the rows fitted are the
    /// calibration's.
    fn calibrated(&self) -> Option<String> {
        self.calibration
            .as_ref()
            .filter(|_| self.rows_from_calibration)
            .map(|c| format!("gemmscope calibrate on {}", c.date()))
    }

    /// The shipped reference curve of `id` at `p`, scaled by this
    /// machine's median measured/reference ratio over its stored points of
    /// the same candidate and variant (at least 3), with the leave-one-out
    /// error of that ratio. Where the reference has the curve's shape
    /// (GEMV: time against bytes moved, across the cache levels), this
    /// keeps the shape and takes the level from the measurements.
    fn scaled_reference(&self, id: &str, p: &Problem) -> Option<Scaled> {
        let d = self.descriptor.as_ref()?;
        let v = crate::model::fit::variant(id, p);
        let pts: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter(|(q, r)| {
                r.id == id && r.status == Status::Ok && crate::model::fit::variant(id, q) == v
            })
            .filter_map(|(q, r)| {
                let t = r.seconds_per_call.filter(|t| *t > 0.0 && t.is_finite())?;
                let rf = self.reference.predict(d, id, q, 2, None)?.seconds;
                (rf > 0.0 && rf.is_finite()).then_some((t, rf))
            })
            .collect();
        if pts.len() < 3 {
            return None;
        }
        let ln: Vec<f64> = pts.iter().map(|(t, rf)| (t / rf).ln()).collect();
        let med = |v: &[f64]| crate::stats::median(v);
        let mut errs = Vec::with_capacity(ln.len());
        for i in 0..ln.len() {
            let others: Vec<f64> = (0..ln.len()).filter(|&j| j != i).map(|j| ln[j]).collect();
            errs.push((med(&others) - ln[i]).exp_m1().abs());
        }
        let ratio = med(&ln).exp();
        let pr = self.reference.predict(d, id, p, 2, None)?;
        Some(Scaled {
            seconds: pr.seconds * ratio,
            ratio,
            points: pts.len(),
            median_error: med(&errs),
            p80_error: crate::model::reference::percentile(&errs, 0.8),
            max_error: errs.iter().cloned().fold(0.0, f64::max),
            reference_text: pr.text,
        })
    }

    /// `what`: label, backend, precision.
    fn line(
        p: &Problem,
        id: &str,
        place: &str,
        seconds: f64,
        what: (String, Backend, String),
        accuracy: Accuracy,
        source: Source,
    ) -> Line {
        let (label, backend, precision) = what;
        Line {
            candidate: id.to_string(),
            label,
            backend: backend.as_str().into(),
            precision,
            place: place.into(),
            seconds_per_call: seconds,
            ns_per_output: seconds / p.outputs() as f64 * 1e9,
            gflops: p.flops() / seconds / 1e9,
            speedup: None,
            accuracy,
            source,
        }
    }

    /// A line for a candidate of this machine: measured (policy allowing),
    /// else predicted, else from the reference data.
    fn local_line(
        &self,
        p: &Problem,
        c: &dyn Candidate,
        policy: MeasurePolicy,
        fresh: &[Row],
    ) -> Result<Line, String> {
        let row = match policy {
            MeasurePolicy::Never => None,
            _ => fresh
                .iter()
                .find(|r| r.id == c.id() && r.status == Status::Ok)
                .cloned()
                .map(|r| (r, false))
                .or_else(|| self.stored(p, c.id()).map(|r| (r, true))),
        };
        if let Some((r, cached)) = row {
            let s = r.seconds_per_call.unwrap_or(f64::NAN);
            let cached = cached || r.provenance.as_ref().is_some_and(|pr| pr.how == "cached");
            let mut text = r
                .provenance
                .as_ref()
                .map(|pr| pr.describe())
                .unwrap_or_else(|| "measured here".into());
            if cached {
                text = text.replacen("measured here", "measured here earlier", 1);
            }
            let accuracy = match r.rel_error {
                Some(e) => Accuracy {
                    rel_error: e,
                    measured: true,
                    text: "measured against a float64 reference on the same inputs".into(),
                },
                None => typical(&r.dtype),
            };
            return Ok(Self::line(
                p,
                c.id(),
                "here",
                s,
                (r.candidate.clone(), c.backend(), r.dtype.clone()),
                accuracy,
                Source::Measured { cached, text },
            ));
        }
        let (s, source) = self
            .predict_here(c.id(), p)
            .ok_or_else(|| "not measured at this size, no model, no reference data".to_string())?;
        let precision = c.precision(p);
        Ok(Self::line(
            p,
            c.id(),
            "here",
            s,
            (c.label(p), c.backend(), precision.clone()),
            typical(&precision),
            source,
        ))
    }

    /// A line from the GPU reference machine.
    fn reference_gpu_line(&self, p: &Problem, id: &str) -> Option<Line> {
        let pr = self.reference.at(GPU_REFERENCE, id, p)?;
        let m = self.reference.machine(GPU_REFERENCE)?;
        let place = format!("on {}", m.class);
        Some(Self::line(
            p,
            id,
            &place,
            pr.seconds,
            (pr.label.clone(), Backend::Gpu, pr.precision.clone()),
            typical(&pr.precision),
            reference_source(&pr),
        ))
    }

    /// Measures the candidates the store lacks for `p` (policy `Always`).
    fn measure_missing(&self, p: &Problem, ids: &[&str]) -> Vec<Row> {
        let Some(engine) = &self.engine else {
            return Vec::new();
        };
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| self.stored(p, id).is_none())
            .filter(|id| {
                candidates::by_id(id).is_some_and(|c| c.check(p, &engine.toolchain).is_ok())
            })
            .map(|id| id.to_string())
            .collect();
        if missing.is_empty() {
            return Vec::new();
        }
        let opts = Options {
            budget_s: self.budget_s,
            only: Some(missing),
            use_cache: true,
            ..Default::default()
        };
        engine.measure(p, &opts, &mut |_| {}).rows
    }

    /// The estimate for `p` with `as_written` the candidate that stands for
    /// the user's code.
    pub fn estimate(&self, p: &Problem, as_written: &str, policy: MeasurePolicy) -> Estimate {
        let gpu_code = candidates::by_id(as_written).is_some_and(|c| c.backend() == Backend::Gpu)
            || REFERENCE_GPU_ONLY.contains(&as_written);
        let elsewhere_code = gpu_code && !self.has_gpu();
        let locals = self.local_candidates(p);
        let mut unknown: Vec<(String, String)> = Vec::new();
        let fresh = if policy == MeasurePolicy::Always && !elsewhere_code {
            let mut ids: Vec<&str> = locals.iter().map(|c| c.id()).collect();
            if !ids.contains(&as_written) {
                ids.push(as_written);
            }
            self.measure_missing(p, &ids)
        } else {
            Vec::new()
        };
        for r in &fresh {
            if r.status != Status::Ok {
                unknown.push((r.id.clone(), format!("{}: {}", r.status.as_str(), r.reason)));
            }
        }
        let engine_skip = |c: &dyn Candidate| -> Option<String> {
            self.engine
                .as_ref()
                .and_then(|e| c.check(p, &e.toolchain).err())
        };
        // The lines where the code as written runs.
        let mut lines: Vec<Line> = Vec::new();
        if elsewhere_code {
            let mut ids: Vec<&str> = candidates::all()
                .into_iter()
                .filter(|c| c.backend() == Backend::Gpu)
                .map(|c| c.id())
                .collect();
            ids.extend(REFERENCE_GPU_ONLY);
            for id in ids {
                match self.reference_gpu_line(p, id) {
                    Some(l) => lines.push(l),
                    None => unknown.push((id.into(), "no reference data".into())),
                }
            }
        } else {
            let mut cands = locals.clone();
            if let Some(c) = candidates::by_id(as_written) {
                if !cands.iter().any(|x| x.id() == as_written) {
                    cands.push(c);
                }
            }
            for c in cands {
                if unknown.iter().any(|(id, _)| id == c.id()) {
                    continue;
                }
                if let Some(why) = engine_skip(c) {
                    if c.id() != as_written {
                        unknown.push((c.id().into(), format!("cannot run here: {why}")));
                        continue;
                    }
                }
                match self.local_line(p, c, policy, &fresh) {
                    Ok(l) => lines.push(l),
                    Err(why) => unknown.push((c.id().into(), why)),
                }
            }
        }
        let as_written_line = lines
            .iter()
            .position(|l| l.candidate == as_written)
            .map(|i| lines.remove(i));
        let base = as_written_line.as_ref().map(|l| l.seconds_per_call);
        for l in &mut lines {
            l.speedup = base.map(|b| b / l.seconds_per_call);
        }
        lines.sort_by(|a, b| a.seconds_per_call.total_cmp(&b.seconds_per_call));
        // GPU lines from the reference when this machine has no GPU.
        let mut elsewhere = Vec::new();
        if !self.has_gpu() && !elsewhere_code {
            for id in ["cublas-f16-tc", "cublas-sgemm-pedantic", "cuda-naive"] {
                if let Some(mut l) = self.reference_gpu_line(p, id) {
                    l.speedup = base.map(|b| b / l.seconds_per_call);
                    elsewhere.push(l);
                }
            }
        }
        let crossover = if elsewhere_code {
            None
        } else {
            self.crossover(p, &lines, as_written_line.as_ref())
        };
        let headline = headline(p, as_written_line.as_ref(), &lines);
        Estimate {
            problem: p.clone(),
            machine: self.machine_id.clone(),
            policy,
            as_written_id: as_written.to_string(),
            as_written: as_written_line,
            alternatives: lines,
            elsewhere,
            crossover,
            roofline: self.roofline.as_ref().map(|r| r.describe()),
            unknown,
            headline,
        }
    }

    /// The GPU option for the crossover: a GPU line measured or predicted
    /// here (the fastest of the problem's precision), else the reference
    /// machine's cuBLAS.
    fn gpu_side(&self, p: &Problem, lines: &[Line]) -> Option<GpuSide> {
        let low = matches!(p.dtype, DType::F16 | DType::Bf16);
        if let Some(l) = lines
            .iter()
            .filter(|l| l.backend == "gpu")
            .filter(|l| low || typical_error(&l.precision).0 <= typical_error(p.dtype.as_str()).0)
            .min_by(|a, b| a.seconds_per_call.total_cmp(&b.seconds_per_call))
        {
            return Some(GpuSide {
                label: format!("this machine's GPU ({})", l.label),
                gflops: l.gflops,
                source: l.source.short(),
            });
        }
        let id = if low {
            "cublas-f16-tc"
        } else {
            "cublas-sgemm-pedantic"
        };
        let m = self.reference.machine(GPU_REFERENCE)?;
        let pr = self.reference.at(GPU_REFERENCE, id, p)?;
        Some(GpuSide {
            label: format!("{} ({})", m.class, pr.label),
            gflops: p.flops() / pr.seconds / 1e9,
            source: pr.text,
        })
    }

    fn crossover(
        &self,
        p: &Problem,
        lines: &[Line],
        as_written: Option<&Line>,
    ) -> Option<Crossover> {
        let best_cpu = lines
            .iter()
            .chain(as_written)
            .filter(|l| l.backend != "gpu")
            .min_by(|a, b| a.seconds_per_call.total_cmp(&b.seconds_per_call))?;
        let g = self.gpu_side(p, lines)?;
        let id = best_cpu.candidate.clone();
        let at_p = best_cpu.seconds_per_call;
        let cpu = |q: &Problem| -> f64 {
            if q == p {
                at_p
            } else {
                self.predict_here(&id, q)
                    .map_or(at_p * q.flops() / p.flops(), |(s, _)| s)
            }
        };
        let label = format!("{} ({})", best_cpu.label, best_cpu.source.short());
        Some(crossover::crossover(p, &cpu, &label, &g, &self.transfer))
    }
}

/// A reference curve scaled to this machine's points.
struct Scaled {
    seconds: f64,
    ratio: f64,
    points: usize,
    median_error: f64,
    p80_error: f64,
    max_error: f64,
    reference_text: String,
}

fn reference_source(pr: &RefPrediction) -> Source {
    Source::Reference {
        machines: pr.neighbours.iter().map(|n| n.machine.clone()).collect(),
        error: pr.error,
        error_basis: pr.error_basis.clone(),
        dtype_moved: pr.dtype_moved.clone(),
        text: pr.text.clone(),
    }
}

/// The one-line headline of an estimate: the code as written's cost here,
/// and the fastest option, each with how it is known.
pub fn headline(p: &Problem, aw: Option<&Line>, lines: &[Line]) -> String {
    let Some(aw) = aw else {
        return format!(
            "{}: no estimate for the code as written (not measured, no model, no reference data)",
            p.describe()
        );
    };
    let place = if aw.place == "here" {
        "here".to_string()
    } else {
        aw.place.clone()
    };
    let mut s = format!(
        "~{} per output {place} ({})",
        human_seconds(aw.ns_per_output * 1e-9),
        aw.source.short()
    );
    match best_line(lines) {
        Some(best) => s.push_str(&format!(
            "; {} is ~{} faster ({})",
            best.label,
            speedup_text(best.speedup.unwrap_or(1.0)),
            best.source.short()
        )),
        None => s.push_str("; nothing faster known"),
    }
    s
}

/// `490×`, `2.3×`.
pub fn speedup_text(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.1}×")
    }
}

#[cfg(test)]
mod tests;
