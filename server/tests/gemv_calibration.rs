//! GEMV advice against measurement on this machine (issue 16's evidence for
//! GEMV). For a few GEMV problems whose sizes are not in the shipped
//! reference data, the `--measure never` table (shipped curves only, no
//! store) is compared with `gemmscope bench gemv` measuring the same
//! problem: the error of time per output of every candidate, of the best
//! speed-up over the code as written, and whether the printed `±` contains
//! the measured time. The table is printed (`--nocapture`); docs/model.md
//! quotes it. About 30 s on a 2-core machine.

use std::process::Command;

use gemmscope_microbench::model::reference::percentile;
use gemmscope_microbench::testing::skip;
use gemmscope_microbench::toolchain::Toolchain;
use serde_json::Value;

const CANDIDATES: &str = "c-naive-O1,c-naive-O3,c-naive-O3-native,openblas";

/// (M, K, dtype, A storage, loop order): sizes between and beside the
/// shipped ones (64…4096 squares, 16×16384, 256×4096 and their transposes).
const PROBLEMS: &[(u64, u64, &str, &str, &str)] = &[
    (96, 96, "f32", "row", "ik"),
    (384, 384, "f64", "col", "ki"),
    (700, 300, "f32", "col", "ik"),
    (1536, 1536, "f32", "row", "ki"),
    (3072, 3072, "f64", "row", "ik"),
    (128, 8192, "f32", "row", "ik"),
    (8192, 128, "f64", "col", "ki"),
];

fn bench(args: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .env(
            "GEMMSCOPE_CACHE_DIR",
            std::env::temp_dir().join("gemmscope-gemv-calibration"),
        )
        .output()
        .expect("run gemmscope");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn gemv_predictions_against_measurements_here() {
    let tc = Toolchain::probe();
    if tc.cc.is_none() || tc.openblas.is_none() {
        skip("gemv_calibration", "needs a C compiler and OpenBLAS");
        return;
    }
    let mut time_err = Vec::new();
    // (predicted, measured, printed ±) of every line with a ±.
    let mut claimed: Vec<(f64, f64, f64)> = Vec::new();
    let mut speedup_err = Vec::new();
    let (mut inside, mut with_pm, mut same_machine) = (0, 0, true);
    println!("| problem | candidate | predicted ns/output | ± printed | measured | error |");
    println!("|---|---|---|---|---|---|");
    for &(m, k, dt, a, order) in PROBLEMS {
        let common = |extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = [
                "bench",
                "gemv",
                "--m",
                &m.to_string(),
                "--k",
                &k.to_string(),
                "--dtype",
                dt,
                "--a",
                a,
                "--order",
                order,
                "--candidates",
                CANDIDATES,
                "--format",
                "json",
                "--no-store",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let pred = bench(&common(&[
            "--measure",
            "never",
            "--as-written",
            "c-naive-O3",
        ]));
        let meas = bench(&common(&["--budget", "1"]));
        let measured = |id: &str| -> Option<f64> {
            meas["rows"]
                .as_array()?
                .iter()
                .find(|r| r["id"] == id && r["status"] == "ok")?["seconds_per_call"]
                .as_f64()
        };
        let mut lines: Vec<&Value> = pred["alternatives"].as_array().unwrap().iter().collect();
        lines.push(&pred["as_written"]);
        let mut pred_best: f64 = 1.0;
        let mut meas_best: f64 = 1.0;
        let base_pred = pred["as_written"]["seconds_per_call"]
            .as_f64()
            .expect("a prediction");
        let base_meas = measured("c-naive-O3").expect("c-naive-O3 measured");
        for l in lines {
            let id = l["candidate"].as_str().unwrap();
            let (Some(p), Some(t)) = (l["seconds_per_call"].as_f64(), measured(id)) else {
                continue;
            };
            let e = (p / t - 1.0).abs();
            time_err.push(e);
            let src = &l["source"];
            let pm = src["error"].as_f64();
            same_machine &= src["error_basis"].is_string();
            if let Some(pm) = pm {
                with_pm += 1;
                inside += usize::from(e <= pm);
                claimed.push((p, t, pm));
            }
            if id != "c-naive-O3" {
                pred_best = pred_best.max(base_pred / p);
                meas_best = meas_best.max(base_meas / t);
            }
            println!(
                "| {m}×{k} {dt} A:{a} {order} | {id} | {:.3} | {} | {:.3} | {:+.0}% |",
                p / m as f64 * 1e9,
                pm.map_or("unknown".into(), |x| format!("±{:.0}%", x * 100.0)),
                t / m as f64 * 1e9,
                (p / t - 1.0) * 100.0
            );
        }
        speedup_err.push((pred_best / meas_best - 1.0).abs());
        println!(
            "| {m}×{k} {dt} A:{a} {order} | best speed-up | {pred_best:.1}× | | {meas_best:.1}× | {:+.0}% |",
            (pred_best / meas_best - 1.0) * 100.0
        );
    }
    let (tm, t90) = (percentile(&time_err, 0.5), percentile(&time_err, 0.9));
    let (sm, s90) = (percentile(&speedup_err, 0.5), percentile(&speedup_err, 0.9));
    let coverage = inside as f64 / with_pm.max(1) as f64;
    println!(
        "time per output: median error {:.0}%, 90th percentile {:.0}% ({} lines); best speed-up: median {:.0}%, 90th percentile {:.0}% ({} problems); printed ± contains the measurement for {inside} of {with_pm} lines ({:.0}%)",
        tm * 100.0,
        t90 * 100.0,
        time_err.len(),
        sm * 100.0,
        s90 * 100.0,
        speedup_err.len(),
        coverage * 100.0
    );
    assert!(
        time_err.len() >= PROBLEMS.len() * 2,
        "too few lines compared"
    );
    // Off the reference machine the shipped curves are another machine's
    // and say their error is unknown; nothing more is claimed.
    if same_machine && with_pm > 0 {
        // The printed ± claims 80% (docs/model.md quotes the runs that
        // reach it). This test runs inside `cargo test`, beside other test
        // binaries' processes on a shared machine, so it guards only against
        // a model that has gone wrong (most lines outside their ±), not the
        // 80% figure itself, which one noisy pass can miss by a few lines.
        //
        // "The same machine" is the descriptor (cores, SIMD, caches, clock):
        // another host of the same VM type can run every loop at another
        // speed, which no descriptor shows (on 2026-12-04 one ran them
        // 1.7× slower than the host the curves came from: 16 of 28 lines
        // inside their ±, 24 of 28 once that level was removed). A uniform
        // level is what `gemmscope calibrate` measures and removes; what the
        // shipped curves must get right is their shape, so a level beyond
        // ±30% is taken out before the ± is checked, and said.
        let mut ratios: Vec<f64> = claimed.iter().map(|(p, t, _)| p / t).collect();
        ratios.sort_by(f64::total_cmp);
        let level = ratios[ratios.len() / 2];
        let (checked, how) = if (0.77..=1.3).contains(&level) {
            (inside, "as printed")
        } else {
            let n = claimed
                .iter()
                .filter(|(p, t, pm)| (p / (t * level) - 1.0).abs() <= *pm)
                .count();
            println!(
                "this host runs the reference machine's loops at {:.2}× its speed (the \
                 median predicted/measured ratio is {level:.2}): the ± is checked after \
                 removing that level ({n} of {with_pm} lines inside; {inside} as printed)",
                level
            );
            (n, "after removing this host's level")
        };
        assert!(
            checked as f64 >= 0.6 * with_pm as f64,
            "the printed ± contains the truth for only {checked} of {with_pm} ({how})"
        );
    } else {
        println!("not the reference machine: the ± is not checked here");
    }
}
