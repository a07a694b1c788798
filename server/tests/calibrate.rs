//! `gemmscope calibrate` against measurement on this machine (issue 16's
//! evidence for self-calibration). In a fresh store, for GEMM and GEMV
//! problems NOT in the calibration set (sizes and shapes between and beside
//! its points), the `--measure never` prediction is compared with
//! `gemmscope bench` measuring the same problem, before (shipped data only:
//! `--no-store`) and after `gemmscope calibrate` (a store that holds only
//! the calibration rows: what `check --bench off` fits on). Printed
//! (`--nocapture`): the median and 90th-percentile error of time per output
//! (every candidate) and of the best speed-up over the naive `-O3` loop;
//! docs/model.md quotes the figures. Also: `check --bench off` says
//! "calibrated here" after, and is byte-identical twice before. About 40 s
//! on a 2-core machine.
//!
//! The assertions guard against a model gone wrong (calibrated errors no
//! better than the shipped data's, or absurd), not the bar, which a
//! noisy shared machine can miss in one pass.

use std::path::Path;
use std::process::Command;

use gemmscope_microbench::model::reference::percentile;
use gemmscope_microbench::testing::skip;
use gemmscope_microbench::toolchain::Toolchain;
use serde_json::Value;

const CANDIDATES: &str = "c-naive-O1,c-naive-O3,openblas";

/// `(gemv, M, N, K)`, f32, i-j-k (GEMV: i-k, A row-major). None of them is
/// in `calibrate::plan()`.
const PROBLEMS: &[(bool, u64, u64, u64)] = &[
    (false, 40, 40, 40),
    (false, 100, 100, 100),
    (false, 250, 250, 250),
    (false, 300, 300, 40),
    (false, 700, 24, 300),
    (false, 128, 600, 128),
    (false, 48, 48, 480),
    (true, 64, 1, 64),
    (true, 1000, 1, 1000),
    (true, 3000, 1, 3000),
    (true, 200, 1, 5000),
];

fn gemmscope(dir: &Path, args: &[String]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .env("GEMMSCOPE_CACHE_DIR", dir)
        .env_remove("CI")
        .output()
        .expect("run gemmscope");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(dir: &Path, args: &[String]) -> Value {
    serde_json::from_slice(&gemmscope(dir, args).stdout).expect("JSON")
}

fn args(gemv: bool, m: u64, n: u64, k: u64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = if gemv {
        vec![
            "bench",
            "gemv",
            "--m",
            &m.to_string(),
            "--k",
            &k.to_string(),
        ]
        .into_iter()
        .map(String::from)
        .collect()
    } else {
        let (m, n, k) = (m.to_string(), n.to_string(), k.to_string());
        ["bench", "gemm", "--m", &m, "--n", &n, "--k", &k]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    for s in ["--candidates", CANDIDATES, "--format", "json"]
        .iter()
        .chain(extra)
    {
        v.push(s.to_string());
    }
    v
}

/// The printed `±` of a line: a prediction's `error_p80` (its median
/// where it has no 80th percentile, as `Source::error` reads it), or the
/// reference's `error`.
fn printed_error(e: &Value, id: &str) -> Option<f64> {
    let mut lines: Vec<&Value> = e["alternatives"].as_array()?.iter().collect();
    lines.push(&e["as_written"]);
    let l = lines.into_iter().find(|l| l["candidate"] == id)?;
    let s = &l["source"];
    s["error_p80"]
        .as_f64()
        .or_else(|| s["median_error"].as_f64())
        .or_else(|| s["error"].as_f64())
}

/// Predicted seconds per call by candidate, from a `--measure never` estimate.
fn predicted(e: &Value) -> Vec<(String, f64, String)> {
    let mut lines: Vec<&Value> = e["alternatives"].as_array().unwrap().iter().collect();
    lines.push(&e["as_written"]);
    lines
        .into_iter()
        .filter_map(|l| {
            Some((
                l["candidate"].as_str()?.to_string(),
                l["seconds_per_call"].as_f64()?,
                l["source"]["how"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// A prediction and how it is known (`predicted`, `reference`).
type Cell = Option<(f64, String)>;

#[derive(Default)]
struct Errors {
    time: Vec<f64>,
    speedup: Vec<f64>,
    /// Lines with a printed `±`, and those whose error lies inside it.
    with_pm: usize,
    inside: usize,
}

impl Errors {
    fn summary(&self, what: &str) -> String {
        format!(
            "{what}: time per output median {:.0}%, p90 {:.0}% ({} lines); best speed-up median {:.0}%, p90 {:.0}% ({} problems)",
            percentile(&self.time, 0.5) * 100.0,
            percentile(&self.time, 0.9) * 100.0,
            self.time.len(),
            percentile(&self.speedup, 0.5) * 100.0,
            percentile(&self.speedup, 0.9) * 100.0,
            self.speedup.len()
        ) + &format!(
            "; the printed ± contains the error for {} of {} lines",
            self.inside, self.with_pm
        )
    }
}

#[test]
fn calibrate_then_default_advice_against_measurements_here() {
    let tc = Toolchain::probe();
    if tc.cc.is_none() || tc.openblas.is_none() {
        skip("calibrate", "needs a C compiler and OpenBLAS");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let src = dir.path().join("mm.c");
    std::fs::write(
        &src,
        "#define N 200\nvoid mm(float A[N][N], float B[N][N], float C[N][N]) {\n  for (int i = 0; i < N; i++)\n    for (int j = 0; j < N; j++) {\n      float s = 0;\n      for (int k = 0; k < N; k++) s += A[i][k] * B[k][j];\n      C[i][j] = s;\n    }\n}\n",
    )
    .unwrap();
    let check: Vec<String> = ["check", "--bench", "off", src.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Before: deterministic, shipped data only.
    let before_check = gemmscope(&cache, &check).stdout;
    assert_eq!(before_check, gemmscope(&cache, &check).stdout);
    let before_text = String::from_utf8_lossy(&before_check).to_string();
    assert!(!before_text.contains("calibrated here"), "{before_text}");
    assert!(before_text.contains("reference data"), "{before_text}");

    let shipped: Vec<Value> = PROBLEMS
        .iter()
        .map(|&(g, m, n, k)| {
            json(
                &cache,
                &args(
                    g,
                    m,
                    n,
                    k,
                    &[
                        "--measure",
                        "never",
                        "--no-store",
                        "--as-written",
                        "c-naive-O3",
                    ],
                ),
            )
        })
        .collect();

    let t0 = std::time::Instant::now();
    let cal = gemmscope(&cache, &["calibrate".to_string()]);
    let cal_s = t0.elapsed().as_secs_f64();
    let cal_text = String::from_utf8_lossy(&cal.stdout).to_string();
    assert!(cal.status.success(), "{cal_text}");
    assert!(cal_text.contains("calibrated machine"), "{cal_text}");
    println!("calibrate took {cal_s:.1} s");
    // Not a speed target (the time is printed above; speed targets live in
    // benchmarks): on a shared, loaded machine it took 107 s. This catches
    // a calibration that no longer ends.
    assert!(cal_s < 400.0, "calibrate took {cal_s:.0} s");

    let after_check = String::from_utf8_lossy(&gemmscope(&cache, &check).stdout).to_string();
    assert!(
        after_check.contains("calibrated here (")
            && after_check.contains("gemmscope calibrate on "),
        "{after_check}"
    );
    println!(
        "check --bench off after calibrate: {}",
        after_check
            .lines()
            .find(|l| l.contains("estimate:"))
            .unwrap_or("")
    );

    let mut before = Errors::default();
    let mut after = Errors::default();
    println!("| problem | candidate | measured ns/output | shipped data | calibrated |");
    println!("|---|---|---|---|---|");
    for (i, &(g, m, n, k)) in PROBLEMS.iter().enumerate() {
        // After: the store holds only the calibration rows.
        let cal_pred = json(
            &cache,
            &args(
                g,
                m,
                n,
                k,
                &["--measure", "never", "--as-written", "c-naive-O3"],
            ),
        );
        let meas = json(&cache, &args(g, m, n, k, &["--no-store", "--budget", "1"]));
        let measured = |id: &str| -> Option<f64> {
            meas["rows"]
                .as_array()?
                .iter()
                .find(|r| r["id"] == id && r["status"] == "ok")?["seconds_per_call"]
                .as_f64()
        };
        let outputs = (m * n) as f64;
        let name = if g {
            format!("GEMV {m}×{k}")
        } else {
            format!("{m}×{n}×{k}")
        };
        let Some(base_meas) = measured("c-naive-O3") else {
            println!("| {name} | c-naive-O3 not measured | | | |");
            continue;
        };
        let mut best = [(1.0f64, 1.0f64); 2];
        let preds = [predicted(&shipped[i]), predicted(&cal_pred)];
        let mut cells: Vec<(String, f64, [Cell; 2])> = Vec::new();
        for id in CANDIDATES.split(',') {
            let Some(t) = measured(id) else { continue };
            let mut row: [Cell; 2] = [None, None];
            for (w, pr) in preds.iter().enumerate() {
                let Some((_, p, how)) = pr.iter().find(|(c, _, _)| c == id) else {
                    continue;
                };
                let base_pred = pr.iter().find(|(c, _, _)| c == "c-naive-O3").map(|x| x.1);
                let errs = if w == 0 { &mut before } else { &mut after };
                errs.time.push((p / t - 1.0).abs());
                let est = if w == 0 { &shipped[i] } else { &cal_pred };
                if let Some(pm) = printed_error(est, id) {
                    errs.with_pm += 1;
                    errs.inside += usize::from((p / t - 1.0).abs() <= pm);
                }
                if id != "c-naive-O3" {
                    if let Some(bp) = base_pred {
                        best[w].0 = best[w].0.max(bp / p);
                    }
                    best[w].1 = best[w].1.max(base_meas / t);
                }
                row[w] = Some((*p, how.clone()));
            }
            cells.push((id.to_string(), t, row));
        }
        for (id, t, row) in &cells {
            let cell = |x: &Cell| match x {
                Some((p, how)) => format!(
                    "{:.3} ({:+.0}%, {how})",
                    p / outputs * 1e9,
                    (p / t - 1.0) * 100.0
                ),
                None => "—".into(),
            };
            println!(
                "| {name} | {id} | {:.3} | {} | {} |",
                t / outputs * 1e9,
                cell(&row[0]),
                cell(&row[1])
            );
        }
        for (w, (pb, mb)) in best.iter().enumerate() {
            let errs = if w == 0 { &mut before } else { &mut after };
            errs.speedup.push((pb / mb - 1.0).abs());
        }
        println!(
            "| {name} | best speed-up over -O3 | {:.1}× | {:.1}× ({:+.0}%) | {:.1}× ({:+.0}%) |",
            best[0].1,
            best[0].0,
            (best[0].0 / best[0].1 - 1.0) * 100.0,
            best[1].0,
            (best[1].0 / best[1].1 - 1.0) * 100.0
        );
    }
    println!("{}", before.summary("shipped data only (--no-store)"));
    println!("{}", after.summary("after gemmscope calibrate"));
    assert!(
        after.time.len() >= PROBLEMS.len() * 2,
        "too few lines compared"
    );
    // Guards against a calibrated model gone wrong; the bar (median
    // ≤10%, p90 ≤25%) is what docs/model.md reports, not asserted here.
    // One pass on a shared 2-core machine has reached a 71% median
    // speed-up error (OpenBLAS's two threads measured at another load
    // during calibrate than during the test). No comparison with the
    // shipped data is asserted: on the machine the shipped cube curves were
    // measured on, they are about as good as a calibration (15% against
    // 19% median time error in one busy run), and which is ahead is noise.
    // With a compile running beside it (both cores busy during calibrate
    // and during the measurements it is checked against) one run reached a
    // 56% median time error: the guard is a model off by 2× or more.
    let (tm, sm) = (
        percentile(&after.time, 0.5),
        percentile(&after.speedup, 0.5),
    );
    assert!(tm < 1.0, "{}", after.summary("after"));
    assert!(sm < 1.5, "{}", after.summary("after"));
}
