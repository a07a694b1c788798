use super::*;
use crate::fingerprint::Caches;
use crate::report::Provenance;

/// A 2-core 2.6 GHz AVX-512 machine (theoretical peak 332.8 GFLOP/s, the
/// shipped reference machine's descriptor).
fn machine() -> Machine {
    let mut m = Machine::default();
    m.cpu.model = Some("Test Xeon".into());
    m.cpu.arch = "x86_64".into();
    m.cpu.physical_cores = Some(2);
    m.cpu.logical_cores = Some(2);
    m.cpu.mhz = Some(2600.0);
    m.cpu.flags = vec!["avx2".into(), "fma".into(), "avx512f".into()];
    m.caches = Caches {
        l1d: Some(48 << 10),
        l2: Some(2 << 20),
        l3: Some(32 << 20),
    };
    m
}

fn row(id: &str, p: &Problem, secs: f64, rel: f64) -> Row {
    let c = candidates::by_id(id).unwrap();
    let mut r = Row::not_ok(
        id,
        c.label(p),
        c.backend(),
        c.precision(p),
        Status::Ok,
        String::new(),
    );
    r.seconds_per_call = Some(secs);
    r.ns_per_output = Some(secs / p.outputs() as f64 * 1e9);
    r.gflops = Some(p.flops() / secs / 1e9);
    r.rel_error = Some(rel);
    r.provenance = Some(Provenance {
        how: "measured".into(),
        machine: "m".into(),
        what: format!("{id} test"),
        repeats: 5,
        spread: 0.01,
        sampled: None,
        measured_at: 1000,
    });
    r
}

fn cube(s: u64) -> Problem {
    Problem::gemm(s, s, s, DType::F32)
}

/// A store with the naive loop at 1 GFLOP/s and OpenBLAS at 100 GFLOP/s
/// (a little slower at the small sizes), sizes 64…512.
fn estimator() -> (tempfile::TempDir, Estimator) {
    let d = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(&d.path().join("r.sqlite3")).unwrap();
    let m = machine();
    let id = m.id();
    for s in [64u64, 96, 128, 192, 256, 384, 512] {
        let p = cube(s);
        store.put_machine(&m).unwrap();
        store
            .try_put(&id, &p, &row("c-naive-O3", &p, p.flops() / 1e9, 1e-7))
            .unwrap();
        let rate = 100e9 * (s as f64 / 512.0).powf(0.3);
        store
            .try_put(&id, &p, &row("openblas", &p, p.flops() / rate, 3e-7))
            .unwrap();
    }
    let e = Estimator::new(m, Some(store), None, None);
    (d, e)
}

#[test]
fn never_uses_the_model_even_where_measured() {
    let (_d, e) = estimator();
    assert_eq!(e.models.models.len(), 2);
    let est = e.estimate(&cube(256), "c-naive-O3", MeasurePolicy::Never);
    let aw = est.as_written.as_ref().unwrap();
    assert!(
        matches!(aw.source, Source::Predicted { points: 7, .. }),
        "{:?}",
        aw.source
    );
    assert!(aw.source.error().is_some());
    // 1 GFLOP/s fitted: ~2 ns per output at K = 256 → within the LOO error.
    let want = cube(256).flops() / 1e9;
    assert!((aw.seconds_per_call / want - 1.0).abs() < 0.05);
    let blas = est
        .alternatives
        .iter()
        .find(|l| l.candidate == "openblas")
        .unwrap();
    assert!(matches!(blas.source, Source::Predicted { .. }));
    assert!(blas.speedup.unwrap() > 20.0, "{blas:?}");
    // The accuracy cost of a predicted line is typical, and says so.
    assert!(!blas.accuracy.measured);
    assert!(blas.accuracy.text.contains("typical for f32"));
    assert!(
        est.headline
            .contains("per output here (predicted from 7 points, ±"),
        "{}",
        est.headline
    );
    assert!(
        est.headline.contains("OpenBLAS") && est.headline.contains("faster (predicted"),
        "{}",
        est.headline
    );
    // Every line has a finite, positive time and a provenance text.
    for l in est.alternatives.iter().chain(&est.elsewhere) {
        assert!(
            l.seconds_per_call.is_finite() && l.seconds_per_call > 0.0,
            "{l:?}"
        );
        assert!(!l.source.short().is_empty());
    }
    // Candidates never measured here (NumPy, rust-gemm) come from the
    // reference data, by nearest neighbour: this machine's descriptor is
    // the shipped Xeon's.
    let np = est
        .alternatives
        .iter()
        .find(|l| l.candidate == "numpy")
        .unwrap();
    match &np.source {
        Source::Reference { machines, .. } => {
            assert!(machines[0].contains("Xeon"), "{machines:?}")
        }
        s => panic!("{s:?}"),
    }
    // No GPU here: the A100 lines come from the seed talk's table.
    let tc = est
        .elsewhere
        .iter()
        .find(|l| l.candidate == "cublas-f16-tc")
        .unwrap();
    assert!(
        tc.sentence().starts_with("on an A100-class GPU, cuBLAS"),
        "{}",
        tc.sentence()
    );
    assert!(
        tc.sentence().contains("reference data: NVIDIA A100"),
        "{}",
        tc.sentence()
    );
    assert!(
        tc.source.text().contains("seed talk"),
        "{}",
        tc.source.text()
    );
    assert!(!tc.accuracy.measured && tc.accuracy.rel_error > 1e-4);
}

#[test]
fn cached_counts_store_hits_as_measured_and_predicts_the_rest() {
    let (_d, e) = estimator();
    let est = e.estimate(&cube(256), "c-naive-O3", MeasurePolicy::Cached);
    let aw = est.as_written.as_ref().unwrap();
    assert!(
        matches!(aw.source, Source::Measured { cached: true, .. }),
        "{:?}",
        aw.source
    );
    assert_eq!(aw.seconds_per_call, cube(256).flops() / 1e9);
    assert!(aw.accuracy.measured && aw.accuracy.rel_error == 1e-7);
    assert!(
        est.headline.contains("(cached: measured here earlier)"),
        "{}",
        est.headline
    );
    // Not stored at 300³: predicted.
    let est = e.estimate(&cube(300), "c-naive-O3", MeasurePolicy::Cached);
    assert!(matches!(
        est.as_written.as_ref().unwrap().source,
        Source::Predicted { .. }
    ));
    // Always without an engine cannot measure: same as cached.
    let est = e.estimate(&cube(256), "c-naive-O3", MeasurePolicy::Always);
    assert!(matches!(
        est.as_written.as_ref().unwrap().source,
        Source::Measured { .. }
    ));
}

#[test]
fn predictions_are_clamped_at_the_roofline() {
    let (_d, e) = estimator();
    // OpenBLAS's rate grows with size in the data: extrapolated to 65536³
    // it would pass the 332.8 GFLOP/s peak; the bound holds it there.
    let p = cube(65536);
    let est = e.estimate(&p, "c-naive-O3", MeasurePolicy::Never);
    let blas = est
        .alternatives
        .iter()
        .find(|l| l.candidate == "openblas")
        .unwrap();
    match &blas.source {
        Source::Predicted {
            clamped,
            extrapolated,
            text,
            ..
        } => {
            assert!(*clamped && *extrapolated, "{text}");
            assert!(text.contains("roofline"), "{text}");
        }
        s => panic!("{s:?}"),
    }
    assert!(blas.gflops <= 332.8 + 1e-6, "{}", blas.gflops);
    assert!(est.roofline.as_deref().unwrap().contains("332.8"));
}

#[test]
fn crossover_is_stated_for_a_cpu_problem() {
    let (_d, e) = estimator();
    let small = e.estimate(&cube(64), "c-naive-O3", MeasurePolicy::Never);
    let c = small.crossover.as_ref().unwrap();
    assert!(!c.gpu_wins_here, "{c:?}");
    assert!(
        c.statement.contains("the GPU loses at this size"),
        "{}",
        c.statement
    );
    assert!(c.statement.contains("A100"), "{}", c.statement);
    let big = e.estimate(&cube(4096), "c-naive-O3", MeasurePolicy::Never);
    assert!(big.crossover.as_ref().unwrap().gpu_wins_here);
}

#[test]
fn gpu_code_on_a_machine_without_gpu_is_estimated_from_the_reference() {
    let (_d, e) = estimator();
    let est = e.estimate(&cube(4096), "cuda-naive", MeasurePolicy::Never);
    let aw = est.as_written.as_ref().unwrap();
    assert_eq!(aw.place, "on an A100-class GPU");
    assert!((aw.seconds_per_call - 0.02382).abs() < 1e-12);
    let cublas = est
        .faster()
        .find(|l| l.candidate == "cublas-sgemm-pedantic")
        .unwrap();
    assert!((cublas.speedup.unwrap() - 0.02382 / 0.00714).abs() < 1e-9);
    assert!(
        est.headline.contains("on an A100-class GPU"),
        "{}",
        est.headline
    );
    assert!(est.crossover.is_none());
}

#[test]
fn no_store_and_unknown_candidate_still_answer() {
    let e = Estimator::new(machine(), None, None, None);
    let est = e.estimate(&cube(1024), "c-naive-O3", MeasurePolicy::Cached);
    // The shipped Xeon reference at 1024³: 6.60 s.
    let aw = est.as_written.as_ref().unwrap();
    assert!((aw.seconds_per_call - 6.60).abs() < 1e-9, "{aw:?}");
    assert!(
        aw.source.short().contains("reference data"),
        "{}",
        aw.source.short()
    );
    let mut bare = machine();
    bare.cpu.mhz = None;
    let e = Estimator::new(bare, None, None, None);
    let est = e.estimate(&cube(100), "c-naive-O3", MeasurePolicy::Never);
    assert!(est.as_written.is_none());
    assert!(est.headline.contains("no estimate"), "{}", est.headline);
    assert!(!est.unknown.is_empty());
    assert_eq!(MeasurePolicy::parse("cached"), Some(MeasurePolicy::Cached));
    assert_eq!(MeasurePolicy::parse("x"), None);
}

/// `--bench off` after `gemmscope calibrate`: no store, the calibration's
/// rows fitted, the text says so; without one, the shipped data.
#[test]
fn a_calibration_is_fitted_without_a_store_and_says_so() {
    let m = machine();
    let mut rows = Vec::new();
    for s in [24u64, 48, 96, 192, 384] {
        let p = cube(s);
        rows.push((p.clone(), row("c-naive-O3", &p, p.flops() / 2e9, 1e-7)));
    }
    let cal = Calibration {
        cpu_key: crate::calibrate::cpu_key(&m),
        machine: m.id(),
        at: 1_764_633_600,
        rows,
    };
    let plain = Estimator::new(m.clone(), None, None, None);
    let (_, before) = plain.predict_here("c-naive-O3", &cube(128)).unwrap();
    assert!(matches!(before, Source::Reference { .. }), "{before:?}");
    let e = Estimator::new(m, None, None, None).with_calibration(Some(cal));
    let (s, src) = e.predict_here("c-naive-O3", &cube(128)).unwrap();
    assert!((s / (cube(128).flops() / 2e9) - 1.0).abs() < 0.02, "{s}");
    let short = src.short();
    assert!(
        short.starts_with("calibrated here (5 points, gemmscope calibrate on 2025-12-02)"),
        "{short}"
    );
    assert!(src.text().contains("calibrated here"), "{}", src.text());
    // Not calibrated: another precision stays on the reference data.
    let (_, other) = e
        .predict_here("c-naive-O3", &Problem::gemm(128, 128, 128, DType::F64))
        .unwrap();
    assert!(matches!(other, Source::Reference { .. }), "{other:?}");
}

fn line(id: &str, seconds: f64, source: Source) -> Line {
    Line {
        candidate: id.into(),
        label: id.into(),
        backend: "cpu".into(),
        precision: "f32".into(),
        place: "here".into(),
        seconds_per_call: seconds,
        ns_per_output: seconds,
        gflops: 1.0,
        speedup: Some(100.0 / seconds),
        accuracy: typical("f32"),
        source,
    }
}

fn reference(error: Option<f64>) -> Source {
    Source::Reference {
        machines: vec!["m".into()],
        error,
        error_basis: None,
        dtype_moved: None,
        text: "reference".into(),
    }
}

#[test]
fn the_option_named_is_the_fastest_of_the_most_trusted_tier() {
    let here = Source::Measured {
        cached: false,
        text: "measured".into(),
    };
    // Sorted fastest first, as an Estimate's alternatives are.
    let lines = vec![
        line("elsewhere-unknown", 1.0, reference(None)),
        line("elsewhere-known", 2.0, reference(Some(0.3))),
        line("here", 4.0, here),
        line("slower", 200.0, reference(Some(0.1))),
    ];
    assert_eq!(best_line(&lines).unwrap().candidate, "here");
    assert_eq!(best_line(&lines[..2]).unwrap().candidate, "elsewhere-known");
    assert_eq!(
        best_line(&lines[..1]).unwrap().candidate,
        "elsewhere-unknown"
    );
    // Nothing faster than the code as written (speed-up ≤ 1): none.
    assert!(best_line(&lines[3..]).is_none());
    // The headline names the same option.
    let p = cube(64);
    let aw = line("aw", 100.0, reference(Some(0.1)));
    assert!(headline(&p, Some(&aw), &lines).contains("; here is ~25× faster"));
}
