//! The performance model end to end: real measurements of small problems
//! (tiny budgets, a temporary store) through `gemmscope bench sweep`, then
//! held-out validation — fit on some sizes, predict the others measured in
//! the same run — and `bench --validate` / `bench gemm --measure never`.

use std::path::Path;
use std::process::{Command, Output};

use gemmscope_microbench::fingerprint::read_caches;
use gemmscope_microbench::model::Models;
use gemmscope_microbench::store::{Store, FILE_NAME};
use gemmscope_microbench::{DType, Problem};
use serde_json::Value;

fn gemmscope(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .env("GEMMSCOPE_CACHE_DIR", cache)
        .output()
        .expect("run gemmscope")
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const SIZES: [u64; 7] = [32, 48, 64, 96, 128, 192, 256];

#[test]
fn held_out_sizes_are_predicted_with_a_reported_error() {
    let d = tempfile::tempdir().unwrap();
    let sizes: Vec<String> = SIZES.iter().map(|s| s.to_string()).collect();
    let out = ok(&gemmscope(
        d.path(),
        &[
            "bench",
            "sweep",
            "--sizes",
            &sizes.join(","),
            "--candidates",
            "c-naive-O1,rust-gemm",
            "--budget",
            "0.3",
        ],
    ));
    assert!(out.contains("leave-one-out validation"), "{out}");
    // Both candidates ran at every size (a C compiler is required here, as
    // for the rest of the bench tests).
    for s in SIZES {
        for id in ["c-naive-O1", "rust-gemm"] {
            assert!(
                out.lines().any(|l| l.contains(&format!("{s}³"))
                    && l.contains(id)
                    && l.contains("per output")),
                "{s} {id}: {out}"
            );
        }
    }
    // --validate: the LOO error of each model, reported.
    let v: Value = serde_json::from_str(&ok(&gemmscope(
        d.path(),
        &["bench", "--validate", "--format", "json"],
    )))
    .unwrap();
    let machine = v["machine"].as_str().unwrap().to_string();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{v}");
    for m in models {
        assert_eq!(m["points"], SIZES.len(), "{m}");
        let med = m["validation"]["median_rel"].as_f64().unwrap();
        let max = m["validation"]["max_rel"].as_f64().unwrap();
        assert!(med.is_finite() && max.is_finite() && med <= max, "{m}");
        assert_eq!(
            m["validation"]["points"].as_array().unwrap().len(),
            SIZES.len()
        );
    }
    // Held out: fit on every other size, predict the rest.
    let (store, _) = Store::open(&d.path().join(FILE_NAME)).unwrap();
    let rows = store.machine_results(&machine).unwrap();
    assert_eq!(rows.len(), 2 * SIZES.len());
    let held: Vec<u64> = SIZES.iter().copied().skip(1).step_by(2).collect();
    let (test, train): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(p, _)| held.contains(&p.m));
    let caches = read_caches(Path::new("/sys/devices/system/cpu/cpu0/cache"));
    let models = Models::fit(&machine, &caches, &train);
    for (p, r) in &test {
        let m = models.get(&r.id, p).expect("a model per candidate");
        assert!(m.validation.is_some(), "{} has no error estimate", r.id);
        let pred = m.predict(p);
        let meas = r.seconds_per_call.unwrap();
        assert!(pred.is_finite() && pred > 0.0);
        let ratio = pred / meas;
        eprintln!(
            "{} {}³: measured {meas:.3e} s, predicted {pred:.3e} s ({:+.0}%), LOO median {:.0}%",
            r.id,
            p.m,
            (ratio - 1.0) * 100.0,
            m.validation.as_ref().unwrap().median_rel * 100.0
        );
        assert!(ratio > 0.2 && ratio < 5.0, "{} at {}: {ratio}", r.id, p.m);
    }
    // Monotone where physics says so: time per call grows with M·N·K.
    for id in ["c-naive-O1", "rust-gemm"] {
        let mut last = 0.0;
        for s in [16u64, 32, 64, 128, 256, 512, 1024, 2048] {
            let p = Problem::gemm(s, s, s, DType::F32);
            let t = models.get(id, &p).unwrap().predict(&p);
            assert!(t.is_finite() && t > last, "{id} at {s}: {t} after {last}");
            last = t;
        }
    }
}

#[test]
fn measure_never_prints_the_table_from_the_model_and_reference_alone() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(&gemmscope(
        d.path(),
        &[
            "bench",
            "gemm",
            "--m",
            "1024",
            "--n",
            "1024",
            "--k",
            "1024",
            "--measure",
            "never",
        ],
    ));
    assert!(out.contains("estimate (--measure never)"), "{out}");
    assert!(out.contains("[as written]"), "{out}");
    assert!(out.contains("reference data"), "{out}");
    assert!(out.contains("headline: ~"), "{out}");
    // Nothing was measured, so nothing was stored.
    let (store, _) = Store::open(&d.path().join(FILE_NAME)).unwrap();
    assert_eq!(store.count().unwrap(), 0);
    let j: Value = serde_json::from_str(&ok(&gemmscope(
        d.path(),
        &[
            "bench",
            "gemm",
            "--m",
            "256",
            "--n",
            "256",
            "--k",
            "256",
            "--measure",
            "never",
            "--as-written",
            "c-naive-O3",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    assert_eq!(j["as_written_id"], "c-naive-O3");
    assert_eq!(j["policy"], "never");
    for l in j["alternatives"].as_array().unwrap() {
        assert!(l["source"]["how"].is_string(), "{l}");
        assert!(l["seconds_per_call"].as_f64().unwrap() > 0.0);
    }
    // --validate with an empty store says what to run.
    let v = ok(&gemmscope(d.path(), &["bench", "--validate"]));
    assert!(v.contains("bench sweep"), "{v}");
    // Bad input is a usage error.
    let o = gemmscope(d.path(), &["bench", "sweep", "--sizes", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = gemmscope(
        d.path(),
        &[
            "bench",
            "gemm",
            "--m",
            "8",
            "--n",
            "8",
            "--k",
            "8",
            "--measure",
            "never",
            "--as-written",
            "nope",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}
