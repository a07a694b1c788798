//! Unit tests of the report: anchors, escaping, the curve's sizes, and the
//! page's marks on hand-made findings (the real binary in a real browser
//! is `server/tests/report_html.rs`).

use super::*;
use gemmscope_analyzers::{analyze, NoIncludes};
use gemmscope_microbench::fingerprint::Machine;

fn estimator() -> Estimator {
    let mut m = Machine::default();
    m.cpu.physical_cores = Some(2);
    m.cpu.mhz = Some(2600.0);
    m.cpu.arch = "x86_64".into();
    m.cpu.flags = vec!["avx512f".into(), "fma".into()];
    Estimator::new(m, None, None, None)
}

fn findings(path: &str, src: &str) -> Vec<Finding> {
    analyze(path, src, &NoIncludes).unwrap().findings
}

const GEMM: &str = "#define N 512\nfloat A[N][N], B[N][N], C[N][N];\n\
    void f(void){\n for(int i=0;i<N;i++) for(int j=0;j<N;j++) for(int k=0;k<N;k++) C[i][j] += A[i][k]*B[k][j]; /* <script>alert(1)</script> */\n}\n";

const UNSIZED: &str = "void g(int n, const float *A, const float *B, float *C){\n for(int i=0;i<n;i++) for(int j=0;j<n;j++) for(int k=0;k<n;k++) C[i*n+j] += A[i*n+k]*B[k*n+j];\n}\n";

fn report_of(sections: Vec<Section>, est: &Estimator) -> Report {
    Report {
        machine: est.machine.describe(),
        machine_id: est.machine_id.clone(),
        policy: MeasurePolicy::Never,
        bench: BenchMode::Off,
        roofline: est.roofline.clone(),
        sections,
        files_checked: 1,
        hidden: 0,
        errors: vec![],
        warnings: vec![],
    }
}

fn sections_of(path: &str, src: &str, est: &Estimator) -> Vec<Section> {
    let lines: Vec<&str> = src.lines().collect();
    findings(path, src)
        .iter()
        .map(|f| {
            let line = lines.get(f.range.start_line - 1).copied().unwrap_or("");
            section(path, line, f, est, MeasurePolicy::Never)
        })
        .collect()
}

#[test]
fn anchors_are_stable_and_plain() {
    let a = anchor("no/such/dir/My File.c", 10, "GS101");
    assert_eq!(a, anchor("no/such/dir/My File.c", 10, "GS101"));
    assert!(a.starts_with("gs101-my-file-c-10-"), "{a}");
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    assert_ne!(a, anchor("other/My File.c", 10, "GS101"));
    assert_ne!(a, anchor("no/such/dir/My File.c", 11, "GS101"));
}

#[test]
fn escaping_covers_markup_and_quotes() {
    assert_eq!(
        esc("<script>\"a\" & 'b'</script>"),
        "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
    );
}

#[test]
fn the_curve_scales_known_sizes_and_squares_unknown_ones() {
    let f = &findings("a.c", GEMM)[0];
    let (how, ps) = curve_problems(f).unwrap();
    assert!(matches!(how, CurveSizes::Scaled { ref base } if base.m == 512));
    let ms: Vec<u64> = ps.iter().map(|p| p.m).collect();
    assert_eq!(ms, vec![64, 128, 256, 512, 1024, 2048, 4096]);
    let g = &findings("b.c", UNSIZED)[0];
    let (how, ps) = curve_problems(g).unwrap();
    match how {
        CurveSizes::Square { why } => assert!(why.contains("`n` has no value"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(ps.len(), CURVE_SQUARES.len());
    assert!(ps.iter().all(|p| p.m == p.n && p.n == p.k));
}

#[test]
fn user_text_cannot_inject_markup() {
    let est = estimator();
    let path = "x/<script>alert(2)</script>.c";
    let sections = sections_of(path, GEMM, &est);
    assert_eq!(sections.len(), 1);
    let html = page::render(&report_of(sections, &est));
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;.c"));
}

#[test]
fn the_page_has_one_ladder_per_estimate_one_roofline_and_a_summary_row_per_finding() {
    let est = estimator();
    let mut sections = sections_of("a.c", GEMM, &est);
    sections.extend(sections_of("b.c", UNSIZED, &est));
    assert_eq!(sections.len(), 2);
    assert!(sections[0].estimate.is_ok());
    assert!(sections[1].estimate.is_err());
    let html = page::render(&report_of(sections, &est));
    assert_eq!(html.matches("<svg class=\"chart ladder\"").count(), 1);
    assert_eq!(html.matches("<svg class=\"chart roofline\"").count(), 1);
    assert_eq!(html.matches("<svg class=\"chart curve\"").count(), 2);
    assert_eq!(html.matches("<section class=\"finding\"").count(), 2);
    let summary = &html[html.find("<table class=\"summary\"").unwrap()..];
    let summary = &summary[..summary.find("</table>").unwrap()];
    assert_eq!(summary.matches("<tr").count(), 3, "header + 2 rows");
    // The unsized one says why in words, in its section and the summary.
    assert!(html.contains("No estimate at the code's size: M = `n` has no value in this file."));
    assert!(html.contains("square n×n×n"));
    // Every bar has a tooltip that says how it is known.
    let bars = html.matches("<g class=\"bar\"").count();
    assert!(bars >= 3, "{bars}");
    assert_eq!(
        html.matches("<g class=\"bar\"").count(),
        html.matches("<g class=\"bar\" data-candidate=").count()
    );
    for part in html.split("<g class=\"bar\"").skip(1) {
        let title = &part[part.find("<title>").unwrap()..part.find("</title>").unwrap()];
        assert!(title.contains("How known: "), "{title}");
    }
    // Self-contained: nothing fetched, nothing run.
    let lower = html.to_ascii_lowercase();
    for bad in [
        "src=",
        "href=\"http",
        "href='http",
        "<script",
        "url(http",
        "@import",
    ] {
        assert!(!lower.contains(bad), "{bad}");
    }
}

#[test]
fn log_scales_and_tick_labels() {
    let s = svg::LogScale::decades(3.0, 450.0, 0.0, 300.0);
    assert_eq!((s.lo, s.hi), (0.0, 3.0));
    assert!((s.px(10.0) - 100.0).abs() < 1e-9);
    assert_eq!(s.ticks(), vec![0, 1, 2, 3]);
    assert_eq!(svg::decade_label(-2), "0.01");
    assert_eq!(svg::decade_label(4), "10k");
    assert_eq!(svg::ns_decade_label(4), "10 µs");
    assert_eq!(svg::ns_decade_label(-1), "100 ps");
}
