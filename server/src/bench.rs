//! `gemmscope bench`: measures the candidates for one problem on this
//! machine and prints the table (text or JSON); `__bench-child` is the
//! sandboxed child side.

use std::io::{self, Read, Write};

use gemmscope_microbench::report::human_seconds;
use gemmscope_microbench::{Engine, Options, Problem, Progress, Status, Table};
use serde_json::{json, Value};

/// Builds the engine for this machine: the child is this same binary.
pub fn engine() -> Result<Engine, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the gemmscope executable: {e}"))?;
    Ok(Engine {
        child: vec![exe.into_os_string(), "__bench-child".into()],
        toolchain: Default::default(),
        machine: "this-machine".into(),
        cache: None,
        temp_root: None,
    })
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

/// The table as text, one row per candidate, then the skipped/failed ones
/// with their reasons.
pub fn write_text(out: &mut dyn Write, t: &Table) -> io::Result<()> {
    writeln!(
        out,
        "GEMM {} — {} outputs, {:.3} GFLOP per call — machine {}",
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
    let mut width = header.map(|h| h.chars().count());
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let row = |cells: &[String]| {
        cells
            .iter()
            .zip(width.iter())
            .map(|(c, w)| pad(c, *w))
            .collect::<Vec<_>>()
            .join("  ")
    };
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
