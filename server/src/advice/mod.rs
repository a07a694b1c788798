//! What is said about a finding, decided once for every presenter: the
//! [`Advisor`] turns a [`Finding`] into [`Advice`] — the estimate (what the
//! code as written costs here and what each option costs, every number with
//! its provenance), the headline sentence, the best speed-up on offer (what
//! `--fail-on-speedup` and the level's demotion compare), and the inlay
//! hint. `check`'s text/JSON/SARIF/GitHub output and the language server's
//! diagnostics, hover and inlay hints all read the same `Advice`, so they
//! cannot compare against different baselines.
//!
//! - `problem.rs` — `Finding` → microbench `Problem`, and the default
//!   candidate for the code as written;
//! - `range.rs` — advice over assumed sizes where the code gives a dim no
//!   value;
//! - `hover.rs` — the hover's markdown table for an `Advice`.

pub mod hover;
pub mod problem;
pub mod range;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use gemmscope_analyzers::{Backend, Finding, Routine};
use gemmscope_microbench::calibrate;
use gemmscope_microbench::estimate::{headline, Estimate, Estimator, MeasurePolicy, Source};
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::report::human_seconds;
use gemmscope_microbench::store::{problem_key, Store};
use gemmscope_microbench::toolchain::Toolchain;
use gemmscope_microbench::{Problem, Status};

pub use problem::{as_written_candidate, problem_for, NoProblem};
pub use range::RangeAdvice;

/// How `check` may measure (`--bench`, config key `bench`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchMode {
    /// Nothing run: the shipped reference data, deterministic; after
    /// `gemmscope calibrate` on this machine, the models fitted on its
    /// stored calibration points (read only). The default, and what CI
    /// should use (docs/ci.md: both ways).
    #[default]
    Off,
    /// Also results already measured on this machine (the result store);
    /// never measures.
    Cached,
    /// Also measure what is missing (sandboxed, within a budget).
    On,
}

impl BenchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchMode::Off => "off",
            BenchMode::Cached => "cached",
            BenchMode::On => "on",
        }
    }

    pub fn parse(s: &str) -> Option<BenchMode> {
        match s {
            "off" => Some(BenchMode::Off),
            "cached" => Some(BenchMode::Cached),
            "on" => Some(BenchMode::On),
            _ => None,
        }
    }
}

/// The best speed-up on offer for one finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Speedup {
    /// How many times faster the best candidate is than the code as written
    /// (for the same problem, on the machine named in `provenance`).
    pub factor: f64,
    /// The candidate (`openblas-sgemm`, `cublas-tf32`, ...).
    pub candidate: String,
    /// What the number is and how it is known: "measured here (…)",
    /// "predicted from N points ±E%", "reference data from S", with the
    /// candidate's accuracy cost.
    pub provenance: String,
    /// The estimate's one-line headline (cost of the code as written here,
    /// and the best option), every number labelled.
    pub headline: String,
}

/// What is said about one finding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Advice {
    /// The estimate at the finding's size, where its sizes are known.
    pub estimate: Option<Estimate>,
    /// Where some size is not known: the estimates over assumed sizes.
    pub range: Option<RangeAdvice>,
    /// Why there is no estimate (no candidates for the routine, no number
    /// for the code as written), in a few words; `None` also where
    /// estimates are off.
    pub no_estimate: Option<String>,
    /// The best faster option, where some option is faster (over assumed
    /// sizes: the least of the best speed-ups over the range).
    pub best: Option<Speedup>,
    /// The inlay hint (`~10 µs/output`).
    pub inlay: Option<String>,
    /// For compiled loops: how the code as written was built and what
    /// stands for it (`built -O2 (compile_commands.json), estimated as the
    /// naive loop at -O3`, or which level was assumed), where there is a
    /// number.
    pub as_written: Option<String>,
}

impl Advice {
    /// The headline sentence (every number labelled), where there is an
    /// estimate.
    pub fn headline(&self) -> Option<String> {
        let h = match (&self.estimate, &self.range) {
            (Some(e), _) => Some(e.headline.clone()).filter(|h| !h.is_empty()),
            (None, Some(r)) => Some(r.headline()),
            (None, None) => None,
        }?;
        Some(match &self.as_written {
            Some(a) => format!("{h} [as written: {a}]"),
            None => h,
        })
    }

    /// The speed-up of the option the advice names ([`Estimate::best`]) over
    /// the code as written: `None`
    /// without an estimate of the code as written or of any option; `1.0`
    /// when the options with a number are all slower; over assumed sizes,
    /// the largest over the range.
    pub fn best_factor(&self) -> Option<f64> {
        if let Some(r) = &self.range {
            return r.max_factor();
        }
        let e = self.estimate.as_ref()?;
        e.as_written.as_ref()?;
        // Only where some option has a number: no data is not "nothing
        // faster". The option is the one the advice names.
        e.alternatives
            .iter()
            .any(|l| l.speedup.is_some())
            .then(|| e.best().and_then(|l| l.speedup).map_or(1.0, |x| x.max(1.0)))
    }
}

/// Where measured rows are read from (the language server, once its
/// measurement worker has probed the machine).
pub struct StoreSource {
    pub store: Arc<Store>,
    /// The machine id the rows are stored under.
    pub machine: String,
    /// One line describing the machine.
    pub machine_text: String,
}

/// Turns findings into [`Advice`]: the Estimate API under one policy.
pub struct Advisor {
    /// `None`: no estimates at all (`--no-estimates`, or the estimator
    /// could not be built: said once on stderr).
    est: Option<Estimator>,
    policy: MeasurePolicy,
    /// `Always` measures: one estimate at a time, so that benchmarks never
    /// run side by side (`check` analyses on every core).
    one_at_a_time: Option<Mutex<()>>,
    /// One line describing the machine.
    pub machine_text: String,
    /// Why nothing is measured now, when measuring is not allowed.
    pub not_measured: Option<String>,
    /// (problem key, candidate id) measured by this process; other stored
    /// rows read "measured here earlier".
    fresh: Arc<Mutex<HashSet<(String, String)>>>,
}

impl Advisor {
    /// No estimates: every finding's advice is empty.
    pub fn none() -> Advisor {
        Advisor {
            est: None,
            policy: MeasurePolicy::Never,
            one_at_a_time: None,
            machine_text: String::new(),
            not_measured: None,
            fresh: Arc::default(),
        }
    }

    /// The advisor of `check --bench MODE`. `off` probes nothing (the CPU
    /// fingerprint only); `cached` and `on` probe the toolchain so that the
    /// machine id matches `gemmscope bench`. Where the estimator cannot be
    /// built the reason goes to stderr once and there are no estimates.
    pub fn for_bench(mode: BenchMode) -> Advisor {
        let built = match mode {
            BenchMode::Off => {
                // Shipped data only, unless `gemmscope calibrate` ran here:
                // then its stored points (read only, nothing measured).
                let machine = Machine::detect(&Toolchain::default());
                let cal = calibrate::load_default(&machine);
                Ok((
                    Estimator::new(machine, None, None, None).with_calibration(cal),
                    MeasurePolicy::Never,
                ))
            }
            BenchMode::Cached => {
                let machine = Machine::detect(&Toolchain::probe());
                Ok((
                    Estimator::new(machine, open_store(), None, None),
                    MeasurePolicy::Cached,
                ))
            }
            BenchMode::On => crate::bench::setup(false).map(|setup| {
                for w in &setup.warnings {
                    eprintln!("gemmscope: warning: {w}");
                }
                (
                    Estimator::new(setup.machine, open_store(), Some(setup.engine), None),
                    MeasurePolicy::Always,
                )
            }),
        };
        match built {
            Ok((est, policy)) => Advisor {
                machine_text: est.machine.describe(),
                est: Some(est),
                policy,
                one_at_a_time: (mode == BenchMode::On).then(|| Mutex::new(())),
                not_measured: None,
                fresh: Arc::default(),
            },
            Err(e) => {
                eprintln!(
                    "gemmscope: warning: no estimates (--bench {}): {e}",
                    mode.as_str()
                );
                Advisor::none()
            }
        }
    }

    /// The language server's advisor: reference data and models at once;
    /// this machine's stored rows (and the models fitted on them) once
    /// measuring is set up. `machine` is the CPU fingerprint without
    /// software versions (probing them runs processes and waits for
    /// trust); stored rows are read under the measuring machine's id.
    pub fn for_editor(
        machine: &Machine,
        source: Option<StoreSource>,
        not_measured: Option<String>,
        fresh: Arc<Mutex<HashSet<(String, String)>>>,
    ) -> Advisor {
        let store = source
            .as_ref()
            .and_then(|s| Store::open(s.store.path()).ok().map(|(st, _)| st));
        let mut est = Estimator::new(machine.clone(), store, None, None);
        if source.is_none() {
            // Before measuring is set up: this machine's calibration, if any.
            est = est.with_calibration(calibrate::load_default(machine));
        }
        let machine_text = match &source {
            Some(s) => {
                est.machine_id = s.machine.clone();
                est.refresh(None);
                s.machine_text.clone()
            }
            None => machine.describe(),
        };
        Advisor {
            est: Some(est),
            policy: MeasurePolicy::Cached,
            one_at_a_time: None,
            machine_text,
            not_measured,
            fresh,
        }
    }

    /// The estimator, where there are estimates.
    pub fn estimator(&self) -> Option<&Estimator> {
        self.est.as_ref()
    }

    /// What is said about `f`, its build flags not known.
    pub fn advise(&self, f: &Finding) -> Advice {
        self.advise_built(f, None)
    }

    /// What is said about `f`, built with `built` (its compile_commands.json
    /// entry; `None`: not known).
    pub fn advise_built(&self, f: &Finding, built: Option<&Built>) -> Advice {
        // No estimator: estimates were turned off (or could not be set up,
        // said once on stderr); no finding repeats it.
        let Some(est) = &self.est else {
            return Advice::default();
        };
        let p = match problem_for(f) {
            Ok(p) => p,
            Err(why) => return self.advise_over_sizes(f, est, why, built),
        };
        let (aw, note) = as_written_built(f, &p, est, built);
        let mut e = {
            let _turn = self
                .one_at_a_time
                .as_ref()
                .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            est.estimate(&p, aw, self.policy)
        };
        self.relabel(&mut e);
        if f.routine == Routine::Conv {
            e.headline = format!("{}: {}", problem::CONV_AS_GEMM, e.headline);
        }
        let best = e.best().map(|l| Speedup {
            factor: l.speedup.unwrap_or(1.0),
            candidate: l.candidate.clone(),
            provenance: format!("{}; accuracy cost {}", l.source.short(), l.accuracy.text),
            headline: e.headline.clone(),
        });
        let inlay = e
            .as_written
            .as_ref()
            .map(|l| format!("~{}/output", human_seconds(l.ns_per_output * 1e-9)));
        let no_estimate = e.as_written.is_none().then(|| {
            "no number for the code as written (not measured, no model, no reference data)"
                .to_string()
        });
        let as_written = note.filter(|_| no_estimate.is_none());
        Advice {
            estimate: Some(e),
            range: None,
            no_estimate,
            best,
            inlay,
            as_written,
        }
    }

    /// Advice over assumed sizes where `why` is only that some dims have no
    /// value; otherwise why there is no estimate.
    fn advise_over_sizes(
        &self,
        f: &Finding,
        est: &Estimator,
        why: NoProblem,
        built: Option<&Built>,
    ) -> Advice {
        let range = {
            let _turn = self
                .one_at_a_time
                .as_ref()
                .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            range::over_sizes_built(f, est, self.policy, built)
        };
        match range {
            Ok(mut r) => {
                if f.routine == Routine::Conv {
                    r.assumed = format!("{} ({})", r.assumed, problem::CONV_AS_GEMM);
                }
                let as_written = r
                    .points
                    .first()
                    .and_then(|e| as_written_note(f, &e.as_written_id, built));
                Advice {
                    best: r.gate_speedup(),
                    inlay: Some(r.inlay()),
                    range: Some(r),
                    as_written,
                    ..Advice::default()
                }
            }
            Err(range::NoRange::NotTried) => Advice {
                no_estimate: Some(why.to_string()),
                ..Advice::default()
            },
            // Said whole: the size is unknown, and assuming sizes did not
            // help either, and why.
            Err(range::NoRange::NoNumber(no)) => Advice {
                no_estimate: Some(format!(
                    "{why}, and over assumed sizes the code as written has no number ({no})"
                )),
                ..Advice::default()
            },
        }
    }

    /// The hover's markdown for `f` with its advice.
    pub fn hover(&self, f: &Finding, a: &Advice) -> String {
        match (&a.estimate, &a.range) {
            (Some(e), _) => hover::table(e, f, &self.machine_text, self.not_measured.as_deref()),
            (None, Some(r)) => r.markdown(f, &self.machine_text),
            (None, None) => format!(
                "**{}**\n\nNo estimate: {}.",
                hover::cell(&f.message),
                a.no_estimate.as_deref().unwrap_or("none")
            ),
        }
    }

    /// Rows this process measured read `measured here`; the store's older
    /// ones stay `measured here earlier`.
    fn relabel(&self, e: &mut Estimate) {
        let fresh = self.fresh.lock().unwrap_or_else(|p| p.into_inner());
        if fresh.is_empty() {
            return;
        }
        let key = problem_key(&e.problem);
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

/// `sizes: M=1000 (ni at the call kernel_gemm(…) in `main`, gemm.c:126;
/// NI, gemm.h:39) N=…`: each dim with where its value came from; `None`
/// where every known dim is a literal in the loop (the `routine` line says
/// it all) or no dim is known.
pub fn sizes_line(f: &Finding) -> Option<String> {
    let dims = [
        ("M", &f.dims.m),
        ("N", &f.dims.n),
        ("K", &f.dims.k),
        ("batch", &f.dims.batch),
    ];
    let known = dims.iter().any(|(_, d)| {
        d.as_ref()
            .is_some_and(|d| d.source.as_ref().is_some_and(|s| s.kind() != "literal"))
    });
    if !known {
        return None;
    }
    let parts: Vec<String> = dims
        .iter()
        .filter_map(|(n, d)| d.as_ref().map(|d| format!("{n}={}", d.provenance())))
        .collect();
    Some(format!("sizes: {}", parts.join(" · ")))
}

/// The candidate standing for the code as written: for C loops, the naive
/// variant measured here for this problem when there is one (the
/// optimisation level the user builds with is not known), else
/// [`as_written_candidate`].
pub fn as_written_for(f: &Finding, p: &Problem, est: &Estimator) -> &'static str {
    let default = as_written_candidate(f);
    if f.backend != Backend::Cpu {
        return default;
    }
    ["c-naive-O3", "c-naive-O1", "c-naive-O3-native"]
        .into_iter()
        .find(|id| {
            est.rows
                .iter()
                .any(|(q, r)| q == p && r.id == *id && r.status == Status::Ok)
        })
        .unwrap_or(default)
}

/// How a compiled file was built, from its compile_commands.json entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Built {
    /// The optimisation flag (`-O2`); `None` is the compiler's default,
    /// `-O0`.
    pub opt: Option<String>,
    /// `-march=native`.
    pub native: bool,
}

impl Built {
    pub fn of(flags: &crate::compdb::Flags) -> Built {
        Built {
            opt: flags.opt.clone(),
            native: flags.native,
        }
    }

    /// The flags as written (`-O2 -march=native`; `-O0` where none).
    fn text(&self) -> String {
        let o = self.opt.as_deref().unwrap_or("-O0 (no -O flag)");
        if self.native {
            format!("{o} -march=native")
        } else {
            o.to_string()
        }
    }

    /// The naive candidate nearest these flags: `-O0`, `-O1`, `-Og`, `-O`
    /// → the `-O1` build; any higher level → `-O3`, with `-march=native`
    /// → `-O3 -march=native`.
    fn candidate(&self) -> &'static str {
        match self.opt.as_deref() {
            None | Some("-O0" | "-O1" | "-Og" | "-O") => "c-naive-O1",
            Some(_) if self.native => "c-naive-O3-native",
            Some(_) => "c-naive-O3",
        }
    }
}

/// What stands for compiled code as written given its build (and the
/// note that says so): [`Built::candidate`] where the flags are known,
/// else [`as_written_for`].
pub fn as_written_built(
    f: &Finding,
    p: &Problem,
    est: &Estimator,
    built: Option<&Built>,
) -> (&'static str, Option<String>) {
    let id = match built {
        Some(b) if f.backend == Backend::Cpu => b.candidate(),
        _ => as_written_for(f, p, est),
    };
    (id, as_written_note(f, id, built))
}

/// `built -O2 (compile_commands.json), estimated as the naive loop at -O3`
/// / `the naive loop at -O3 (assumed: no compile flags known for this
/// file)`; `None` for code that is not a compiled loop.
fn as_written_note(f: &Finding, id: &str, built: Option<&Built>) -> Option<String> {
    if f.backend != Backend::Cpu {
        return None;
    }
    let level = match id {
        "c-naive-O1" => "-O1",
        "c-naive-O3" => "-O3",
        "c-naive-O3-native" => "-O3 -march=native",
        _ => return None,
    };
    let mut note = match built {
        Some(b) => format!(
            "built {} (compile_commands.json), estimated as the naive loop at {level}",
            b.text()
        ),
        None => {
            format!("the naive loop at {level} (assumed: no compile flags known for this file)")
        }
    };
    // The candidates are one-thread loops: said, not hidden.
    if let Some(p) = &f.parallel {
        note.push_str(&format!(
            "; the code is threaded ({p}) and the estimate is of one thread, so the loop as written runs up to as many times faster as it has threads, and the speed-ups over it are that much smaller"
        ));
    }
    Some(note)
}

/// The estimate for a finding under `policy`, with the code as written
/// chosen by [`as_written_for`] (what [`Advisor::advise`] uses).
pub fn estimate_for(
    f: &Finding,
    e: &Estimator,
    policy: MeasurePolicy,
) -> Result<Estimate, NoProblem> {
    let p = problem_for(f)?;
    Ok(e.estimate(&p, as_written_for(f, &p, e), policy))
}

/// The result store, its warnings (a damaged file moved aside) and errors
/// on stderr: estimates go on without it.
fn open_store() -> Option<Store> {
    match Store::open_default() {
        Ok((s, warnings)) => {
            for w in warnings {
                eprintln!("gemmscope: warning: {w}");
            }
            Some(s)
        }
        Err(e) => {
            eprintln!("gemmscope: warning: estimates without this machine's results: {e}");
            None
        }
    }
}

#[cfg(test)]
mod built_tests {
    use super::Built;

    #[test]
    fn the_build_flags_choose_the_nearest_naive_build() {
        let b = |opt: Option<&str>, native| Built {
            opt: opt.map(str::to_string),
            native,
        };
        assert_eq!(b(None, false).candidate(), "c-naive-O1");
        assert_eq!(b(Some("-O1"), true).candidate(), "c-naive-O1");
        assert_eq!(b(Some("-O2"), false).candidate(), "c-naive-O3");
        assert_eq!(b(Some("-Ofast"), true).candidate(), "c-naive-O3-native");
        assert_eq!(b(None, false).text(), "-O0 (no -O flag)");
        assert_eq!(b(Some("-O3"), true).text(), "-O3 -march=native");
    }
}
