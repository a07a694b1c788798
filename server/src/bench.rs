//! `gemmscope bench`: measures the candidates for one problem on this
//! machine and prints the table (text or JSON); `__bench-child` is the
//! sandboxed child side.

use std::io::{self, Read, Write};

use gemmscope_microbench::ceilings;
use gemmscope_microbench::estimate::{self, Estimate, Line};
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::model;
use gemmscope_microbench::report::human_seconds;
use gemmscope_microbench::store::Store;
use gemmscope_microbench::toolchain::Toolchain;
use gemmscope_microbench::{DType, Engine, Options, Problem, Progress, Status, Table};
use serde_json::{json, Value};

/// This machine as the engine sees it.
pub struct Setup {
    pub engine: Engine,
    pub machine: Machine,
    /// Problems opening the store (moved aside when corrupt, or unusable).
    pub warnings: Vec<String>,
}

/// Builds the engine for this machine: the child is this same binary, the
/// toolchain is probed, results are kept in the store (unless `no_store`).
pub fn setup(no_store: bool) -> Result<Setup, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the gemmscope executable: {e}"))?;
    let toolchain = Toolchain::probe();
    let machine = Machine::detect(&toolchain);
    let mut warnings = Vec::new();
    let cache: Option<Box<dyn gemmscope_microbench::ResultCache>> = if no_store {
        None
    } else {
        match Store::open_default() {
            Ok((store, w)) => {
                warnings.extend(w);
                if let Err(e) = store.put_machine(&machine) {
                    warnings.push(e);
                }
                Some(Box::new(store))
            }
            Err(e) => {
                warnings.push(format!("results are not stored: {e}"));
                None
            }
        }
    };
    Ok(Setup {
        engine: Engine {
            child: vec![exe.into_os_string(), "__bench-child".into()],
            toolchain,
            machine: machine.id(),
            cache,
            temp_root: None,
        },
        machine,
        warnings,
    })
}

/// `gemmscope bench --machine`: the fingerprint and the measured ceilings
/// (memory bandwidth; the best GEMM rate at 2048³ f32 among the fast
/// library candidates, from the store when measured before), and the
/// theoretical FP32 peak, labelled as an estimate.
pub fn write_machine(out: &mut dyn Write, s: &Setup, budget: f64) -> io::Result<()> {
    writeln!(
        out,
        "machine {}: {}",
        s.engine.machine,
        s.machine.describe()
    )?;
    let tc = &s.engine.toolchain;
    let cc = tc
        .cc
        .as_ref()
        .map(|t| format!("{} ({})", t.version, t.path))
        .unwrap_or_else(|| "not found".into());
    writeln!(out, "  C compiler: {cc}")?;
    writeln!(
        out,
        "  OpenBLAS:   {}",
        tc.openblas.clone().unwrap_or_else(|| "not found".into())
    )?;
    match &tc.python {
        Some(py) => writeln!(
            out,
            "  Python:     {} ({}); NumPy {}; PyTorch {}",
            py.tool.version,
            py.tool.path,
            py.numpy.as_deref().unwrap_or("not found"),
            py.torch.as_deref().unwrap_or("not found")
        )?,
        None => writeln!(out, "  Python:     not found")?,
    }
    let bw = ceilings::machine_bandwidth(&s.machine);
    writeln!(
        out,
        "memory bandwidth (measured): {:.1} GB/s copy, {:.1} GB/s triad — {}",
        bw.copy_gbs, bw.triad_gbs, bw.method
    )?;
    let p = Problem::gemm(2048, 2048, 2048, DType::F32);
    let fast: Vec<String> = gemmscope_microbench::candidates::all()
        .iter()
        .filter(|c| c.prior_flops() >= 5e9)
        .map(|c| c.id().to_string())
        .collect();
    let opts = Options {
        budget_s: budget,
        only: Some(fast),
        ..Default::default()
    };
    let table = measure(&s.engine, &p, &opts, false);
    match ceilings::peak_gemm(&table) {
        Some(pk) => writeln!(
            out,
            "peak GEMM (measured, 2048³ f32): {:.1} GFLOP/s — {} ({})",
            pk.gflops,
            pk.candidate,
            pk.what.unwrap_or_default()
        )?,
        None => writeln!(out, "peak GEMM: no fast GEMM candidate ran on this machine")?,
    }
    if let Some(est) = ceilings::theoretical_fp32_peak(&s.machine) {
        writeln!(out, "FP32 peak ({})", est.formula)?;
    }
    Ok(())
}

/// Runs the child side: job on stdin, reply on stdout.
pub fn child() -> i32 {
    let mut input = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut input) {
        eprintln!("gemmscope __bench-child: cannot read the job: {e}");
        return 2;
    }
    println!("{}", gemmscope_microbench::child_main(&input));
    0
}

/// Measures `p` and prints progress on stderr when it is a terminal.
pub fn measure(engine: &Engine, p: &Problem, opts: &Options, show_progress: bool) -> Table {
    let mut progress = |ev: Progress| {
        if !show_progress {
            return;
        }
        match ev {
            Progress::Measuring {
                index,
                total,
                candidate,
            } => {
                eprint!("\r\x1b[2Kmeasuring {}/{total}: {candidate}", index + 1);
            }
            Progress::Done { index, total, .. } if index + 1 == total => eprint!("\r\x1b[2K"),
            Progress::Done { .. } => {}
        }
        let _ = io::stderr().flush();
    };
    engine.measure(p, opts, &mut progress)
}

fn fmt_opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".into())
}

/// `GEMV` (its `M×1×K` is y = A x), `GEMM`, or nothing for attention
/// (its description says it).
fn op_word(p: &gemmscope_microbench::Problem) -> &'static str {
    match p.op {
        gemmscope_microbench::Operation::Gemv => "GEMV ",
        gemmscope_microbench::Operation::Attention => "",
        _ => "GEMM ",
    }
}

/// The table as text, one row per candidate, then the skipped/failed ones
/// with their reasons.
pub fn write_text(out: &mut dyn Write, t: &Table) -> io::Result<()> {
    writeln!(
        out,
        "{}{} — {} outputs, {:.3} GFLOP per call — machine {}",
        op_word(&t.problem),
        t.problem.describe(),
        t.problem.outputs(),
        t.problem.flops() / 1e9,
        t.machine
    )?;
    let header = [
        "candidate",
        "backend",
        "precision",
        "per call",
        "per output",
        "GFLOP/s",
        "speed-up",
        "rel. error",
    ];
    let mut lines: Vec<[String; 8]> = Vec::new();
    let mut how: Vec<String> = Vec::new();
    let mut ok: Vec<_> = t.rows.iter().filter(|r| r.status == Status::Ok).collect();
    ok.sort_by(|a, b| {
        b.seconds_per_call
            .unwrap_or(0.0)
            .total_cmp(&a.seconds_per_call.unwrap_or(0.0))
    });
    for r in &ok {
        lines.push([
            r.candidate.clone(),
            r.backend.as_str().into(),
            r.dtype.clone(),
            fmt_opt(r.seconds_per_call, human_seconds),
            fmt_opt(r.ns_per_output, |ns| human_seconds(ns * 1e-9)),
            fmt_opt(r.gflops, |g| format!("{g:.2}")),
            fmt_opt(r.speedup, |s| format!("{s:.0}×")),
            fmt_opt(r.rel_error, |e| format!("{e:.1e}")),
        ]);
        how.push(
            r.provenance
                .as_ref()
                .map(|p| p.describe())
                .unwrap_or_default(),
        );
    }
    let table = Columns::new(header, lines.iter());
    let row = |cells: &[String]| table.row(cells);
    writeln!(out)?;
    writeln!(out, "{}", row(&header.map(String::from)))?;
    for (l, h) in lines.iter().zip(&how) {
        writeln!(out, "{}", row(l).trim_end())?;
        writeln!(out, "    {h}")?;
    }
    let others: Vec<_> = t.rows.iter().filter(|r| r.status != Status::Ok).collect();
    if !others.is_empty() {
        writeln!(out)?;
        for r in others {
            writeln!(
                out,
                "{:<8} {}: {}",
                r.status.as_str(),
                r.candidate,
                r.reason
            )?;
        }
    }
    Ok(())
}

/// The table as JSON: problem, machine, and one object per row.
pub fn to_json(t: &Table) -> Value {
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "candidate": r.candidate,
                "backend": r.backend.as_str(),
                "dtype": r.dtype,
                "status": r.status.as_str(),
                "reason": r.reason,
                "seconds_per_call": r.seconds_per_call,
                "ns_per_output": r.ns_per_output,
                "gflops": r.gflops,
                "speedup": r.speedup,
                "rel_error": r.rel_error,
                "transfer_s": r.transfer_s,
                "threads": r.threads,
                "provenance": r.provenance.as_ref().map(|p| json!({
                    "how": p.how,
                    "machine": p.machine,
                    "what": p.what,
                    "repeats": p.repeats,
                    "spread": p.spread,
                    "sampled": p.sampled,
                    "measured_at": p.measured_at,
                    "text": p.describe(),
                })),
            })
        })
        .collect();
    json!({
        "schema_version": 1,
        "problem": t.problem,
        "outputs": t.problem.outputs(),
        "flops": t.problem.flops(),
        "machine": t.machine,
        "rows": rows,
    })
}

/// `gemmscope bench sweep`: measures the cubes `size³` for each size (the
/// engine answers from the store where it can), one table per size.
pub fn sweep(
    engine: &Engine,
    sizes: &[u64],
    dtype: DType,
    opts: &Options,
    show_progress: bool,
    out: &mut dyn Write,
) -> io::Result<Vec<Table>> {
    let mut tables = Vec::new();
    for &s in sizes {
        let p = Problem::gemm(s, s, s, dtype);
        let t = measure(engine, &p, opts, show_progress);
        for r in &t.rows {
            match (r.status, r.seconds_per_call) {
                (Status::Ok, Some(secs)) => writeln!(
                    out,
                    "{s:>6}³  {:<20} {:>10} per call  {:>10} per output  {:>8.2} GFLOP/s  ({})",
                    r.id,
                    human_seconds(secs),
                    human_seconds(secs / p.outputs() as f64),
                    r.gflops.unwrap_or(0.0),
                    r.provenance
                        .as_ref()
                        .map(|p| p.describe())
                        .unwrap_or_default()
                )?,
                _ => writeln!(
                    out,
                    "{s:>6}³  {:<20} {}: {}",
                    r.id,
                    r.status.as_str(),
                    r.reason
                )?,
            }
        }
        tables.push(t);
    }
    Ok(tables)
}

/// This machine's models, fitted from the store (`None` store: none).
pub fn models(machine: &Machine, machine_id: &str, store: Option<&Store>) -> model::Models {
    let rows = store
        .and_then(|s| s.machine_results(machine_id).ok())
        .unwrap_or_default();
    model::Models::fit(machine_id, &machine.caches, &rows)
}

/// `gemmscope bench --validate`: each model's leave-one-out error, and
/// every left-out point.
pub fn write_validate(out: &mut dyn Write, models: &model::Models) -> io::Result<()> {
    if models.models.is_empty() {
        writeln!(
            out,
            "no measurements of machine {} in the store: run `gemmscope bench sweep --sizes 64,128,256,512 --candidates c-naive-O1,openblas` first",
            models.machine
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "leave-one-out validation of the models of machine {} (fit on all points but one, predict it):",
        models.machine
    )?;
    for m in &models.models {
        let variant = if m.variant.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.variant)
        };
        writeln!(out)?;
        let feats = if m.features.is_empty() {
            "none: constant GFLOP/s".to_string()
        } else {
            m.features.join(", ")
        };
        match &m.validation {
            Some(v) => writeln!(
                out,
                "{}{variant}: {} points, features [{feats}]; LOO error median {:.1}%, max {:.1}%",
                m.candidate,
                m.points,
                v.median_rel * 100.0,
                v.max_rel * 100.0
            )?,
            None => writeln!(
                out,
                "{}{variant}: 1 point, constant GFLOP/s; error unknown (needs 2 points)",
                m.candidate
            )?,
        }
        if let Some(v) = &m.validation {
            writeln!(
                out,
                "    {:<22} {:>12} {:>12} {:>8}",
                "problem", "measured", "predicted", "error"
            )?;
            for p in &v.points {
                writeln!(
                    out,
                    "    {:<22} {:>12} {:>12} {:>7.1}%",
                    format!("{}×{}×{}", p.problem.m, p.problem.n, p.problem.k),
                    human_seconds(p.measured_s),
                    human_seconds(p.predicted_s),
                    p.rel_error * 100.0
                )?;
            }
        }
    }
    Ok(())
}

/// The estimate as a table: the code as written, then every option, each
/// with its provenance and error; the GPU lines from the reference data;
/// the CPU-or-GPU verdict; the headline.
pub fn write_estimate(out: &mut dyn Write, e: &Estimate) -> io::Result<()> {
    writeln!(
        out,
        "{}{} — {} outputs, {:.3} GFLOP per call — machine {} — estimate (--measure {})",
        op_word(&e.problem),
        e.problem.describe(),
        e.problem.outputs(),
        e.problem.flops() / 1e9,
        e.machine,
        e.policy.as_str()
    )?;
    writeln!(out, "code as written: {}", e.as_written_id)?;
    writeln!(out)?;
    let header = [
        "candidate",
        "backend",
        "precision",
        "per call",
        "per output",
        "GFLOP/s",
        "vs as written",
        "rel. error",
    ];
    let mut lines: Vec<([String; 8], String)> = Vec::new();
    let fmt = |l: &Line, mark: &str| -> ([String; 8], String) {
        let acc = if l.accuracy.measured {
            format!("{:.1e}", l.accuracy.rel_error)
        } else {
            format!("~{:.0e} typ.", l.accuracy.rel_error)
        };
        (
            [
                format!("{}{mark}", l.label),
                l.backend.clone(),
                l.precision.clone(),
                human_seconds(l.seconds_per_call),
                human_seconds(l.ns_per_output * 1e-9),
                format!("{:.2}", l.gflops),
                l.speedup.map_or_else(|| "—".into(), estimate::speedup_text),
                acc,
            ],
            format!(
                "{} {} — accuracy: {}",
                l.place,
                l.source.text(),
                l.accuracy.text
            ),
        )
    };
    if let Some(l) = &e.as_written {
        lines.push(fmt(l, " [as written]"));
    }
    let mut alts: Vec<&Line> = e.alternatives.iter().collect();
    alts.reverse();
    for l in alts {
        lines.push(fmt(l, ""));
    }
    let table = Columns::new(header, lines.iter().map(|(l, _)| l));
    let row = |cells: &[String]| table.row(cells);
    writeln!(out, "{}", row(&header.map(String::from)))?;
    for (l, how) in &lines {
        writeln!(out, "{}", row(l).trim_end())?;
        writeln!(out, "    {how}")?;
    }
    if !e.elsewhere.is_empty() {
        writeln!(out)?;
        writeln!(out, "no GPU here; from the reference data:")?;
        for l in &e.elsewhere {
            let vs = l
                .speedup
                .map(|s| format!(", {} the code as written", estimate::speedup_text(s)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}{vs}; accuracy {} ({})",
                l.sentence(),
                format_args!("~{:.0e}", l.accuracy.rel_error),
                l.accuracy.text
            )?;
        }
    }
    if let Some(c) = &e.crossover {
        writeln!(out)?;
        writeln!(out, "CPU or GPU: {}", c.statement)?;
    }
    if let Some(r) = &e.roofline {
        writeln!(out, "{r}")?;
    }
    if !e.unknown.is_empty() {
        writeln!(out)?;
        for (id, why) in &e.unknown {
            writeln!(out, "no number  {id}: {why}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "headline: {}", e.headline)?;
    Ok(())
}

/// Left-aligned text columns, each as wide as its widest cell (header
/// included), separated by two spaces.
struct Columns<const N: usize> {
    width: [usize; N],
}

impl<const N: usize> Columns<N> {
    fn new<'a>(header: [&str; N], rows: impl Iterator<Item = &'a [String; N]>) -> Columns<N> {
        let mut width = header.map(|h| h.chars().count());
        for r in rows {
            for (w, c) in width.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.chars().count());
            }
        }
        Columns { width }
    }

    fn row(&self, cells: &[String]) -> String {
        cells
            .iter()
            .zip(self.width.iter())
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect::<Vec<_>>()
            .join("  ")
    }
}

/// `gemmscope calibrate`: measures the fixed calibration set
/// ([`gemmscope_microbench::calibrate::plan`]: generated kernels only, no
/// user code) in sandboxed children, stores it under this CPU's
/// fingerprint, and prints what the default advice will fit on it (each
/// model's leave-one-out error). Errors when nothing could be measured or
/// the store cannot be written (then nothing changes).
pub fn calibrate(out: &mut dyn Write, show_progress: bool) -> Result<(), String> {
    use gemmscope_microbench::calibrate;
    let setup = setup(false)?;
    for w in &setup.warnings {
        eprintln!("gemmscope: warning: {w}");
    }
    let (store, warnings) = Store::open_default()?;
    for w in warnings {
        eprintln!("gemmscope: warning: {w}");
    }
    let outcome = calibrate::run(&setup.engine, &setup.machine, None, &mut |step| {
        if show_progress {
            eprintln!("gemmscope: calibrate {}", step.line);
        }
    });
    let cal = &outcome.calibration;
    for (p, id, why) in &outcome.failed {
        eprintln!("gemmscope: warning: calibrate: {id} at {p}: {why}");
    }
    if cal.rows.is_empty() {
        return Err(
            "calibrate measured nothing (no C compiler? `gemmscope bench --machine` says what \
             runs here); the default advice stays on the shipped data"
                .into(),
        );
    }
    store.put_calibration(cal)?;
    let io = |e: io::Error| format!("writing output: {e}");
    writeln!(
        out,
        "calibrated machine {} ({}): {} points in {:.1} s, stored in {} under CPU key {}",
        setup.engine.machine,
        setup.machine.describe(),
        cal.rows.len(),
        outcome.elapsed_s,
        store.path().display(),
        cal.cpu_key
    )
    .map_err(io)?;
    writeln!(
        out,
        "`check --bench off` and the editor before its first measurement now predict from these \
         points (\"calibrated here\"); problems of a loop order, layout or precision not \
         calibrated stay on the shipped reference data."
    )
    .map_err(io)?;
    writeln!(out).map_err(io)?;
    let models = model::Models::fit(&setup.engine.machine, &setup.machine.caches, &cal.rows);
    write_validate(out, &models).map_err(io)
}
