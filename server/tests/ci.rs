//! End-to-end tests of the CI features of `gemmscope check`: gates,
//! suppression comments, baselines, configuration discovery and its
//! errors, compile_commands.json, and the speed-up gate through the
//! library with a stand-in estimate source.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// One GEMM (GS101, in `mm`, lines 5-8) and one GEMV (GS201, in `mv`).
const MIXED_C: &str = "#define N 256
static float A[N][N], B[N][N], C[N][N], x[N], y[N];

void mm(void) {
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++)
            for (int j = 0; j < N; j++)
                C[i][j] += A[i][k] * B[k][j];
}

void mv(void) {
    for (int i = 0; i < N; i++) {
        float acc = 0.0f;
        for (int j = 0; j < N; j++)
            acc += A[i][j] * x[j];
        y[i] = acc;
    }
}\n";

const PY_MM: &str = "N = 64

def matmul(A, B, C):
    for i in range(N):
        for j in range(N):
            for k in range(N):
                C[i][j] += A[i][k] * B[k][j]\n";

fn gemmscope(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        // A store of this test run's own: `gemmscope calibrate` or a
        // measurement in the user's ~/.cache must not change what
        // `--bench off` says here.
        .env(
            "GEMMSCOPE_CACHE_DIR",
            std::env::temp_dir().join(format!("gemmscope-test-store-{}", std::process::id())),
        )
        .output()
        .expect("run gemmscope")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

fn codes(doc: &Value, key: &str) -> Vec<String> {
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn select_and_ignore_by_code_prefix() {
    let d = project(&[("m.c", MIXED_C)]);
    let all = json(&gemmscope(&["check", "--format", "json", "m.c"], d.path()));
    assert_eq!(codes(&all, "findings"), ["GS101", "GS201"]);
    let o = gemmscope(
        &["check", "--format", "json", "--select", "GS2", "m.c"],
        d.path(),
    );
    assert_eq!(codes(&json(&o), "findings"), ["GS201"]);
    assert_eq!(o.status.code(), Some(1));
    let o = gemmscope(
        &["check", "--format", "json", "--ignore", "GS1,GS2", "m.c"],
        d.path(),
    );
    assert_eq!(codes(&json(&o), "findings"), Vec::<String>::new());
    assert_eq!(o.status.code(), Some(0));
    // The most specific selector wins.
    let o = gemmscope(
        &[
            "check", "--format", "json", "--select", "GS101", "--ignore", "GS1", "m.c",
        ],
        d.path(),
    );
    assert_eq!(codes(&json(&o), "findings"), ["GS101"]);
    // An unknown code is a usage error naming it.
    let o = gemmscope(&["check", "--select", "GS9", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`GS9`"), "{}", stderr(&o));
}

#[test]
fn severity_levels_and_fail_on() {
    let d = project(&[
        ("m.c", MIXED_C),
        (
            "gemmscope.toml",
            "[severity]\nGS = \"note\"\nGS201 = \"error\"\n",
        ),
    ]);
    let o = gemmscope(&["check", "--format", "json", "m.c"], d.path());
    let doc = json(&o);
    assert_eq!(doc["findings"][0]["level"], "note");
    assert_eq!(doc["findings"][0]["fails"], false);
    assert_eq!(doc["findings"][1]["level"], "error");
    assert_eq!(doc["findings"][1]["fails"], true);
    assert_eq!(o.status.code(), Some(1));
    let o = gemmscope(&["check", "--format", "github", "m.c"], d.path());
    let out = stdout(&o);
    assert!(
        out.contains("::notice file=m.c,line=5,endLine=8,title=GS101 gemm-loop-nest::"),
        "{out}"
    );
    assert!(out.contains("::error file=m.c,line=12,"), "{out}");
    // Only errors fail with --fail-on error; with GS201 ignored nothing does.
    let o = gemmscope(
        &["check", "--fail-on", "error", "--ignore", "GS201", "m.c"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("= level: note"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("0 of 1 finding fail the run."),
        "{}",
        stdout(&o)
    );
    let o = gemmscope(
        &["check", "--fail-on", "note", "--ignore", "GS201", "m.c"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    // --exit-zero.
    let o = gemmscope(&["check", "--exit-zero", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn speedup_gate_without_estimates_does_not_fire_and_says_so() {
    let d = project(&[("m.c", MIXED_C)]);
    let o = gemmscope(
        &[
            "check",
            "--no-estimates",
            "--fail-on-speedup",
            "10",
            "--bench",
            "off",
            "m.c",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("speed-up: no estimate, so --fail-on-speedup 10× does not fire here"),
        "{out}"
    );
    assert!(
        out.contains("2 findings have no estimate (--bench off)"),
        "{out}"
    );
    let doc = json(&gemmscope(
        &[
            "check",
            "--no-estimates",
            "--format",
            "json",
            "--fail-on-speedup",
            "3x",
            "m.c",
        ],
        d.path(),
    ));
    assert_eq!(doc["findings"][0]["estimate"], Value::Null);
    assert_eq!(doc["summary"]["no_estimate"], 2);
    assert_eq!(doc["summary"]["fail_on_speedup"][0], 3.0);
    // Bad values are usage errors.
    for bad in ["0", "-2", "fast", "inf"] {
        let o = gemmscope(&["check", "--fail-on-speedup", bad, "m.c"], d.path());
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
    let o = gemmscope(&["check", "--bench", "sometimes", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn speedup_gate_fires_where_the_source_has_a_big_enough_estimate() {
    use gemmscope::check::{run, CheckOptions};
    let d = project(&[("m.c", MIXED_C)]);
    let file = d.path().join("m.c");
    // `--bench off`: the model and the shipped reference data, the same
    // numbers on every run.
    let mut opts = CheckOptions::new(vec![file.clone()]);
    opts.overrides.no_config = true;
    // The GEMM's library speed-up is tens of × (NumPy 42× at 256³ on the
    // shipped EPYC curves), the GEMV's a few ×.
    opts.overrides.fail_on_speedup = Some(20.0);
    let mut buf = Vec::new();
    let s = run(&opts, &mut gemmscope::report::json::Json::new(&mut buf)).unwrap();
    assert_eq!((s.active, s.failing, s.no_estimate), (2, 1, 0));
    assert_eq!(s.exit_code(), 1);
    let doc: Value = serde_json::from_slice(&buf).unwrap();
    let f = &doc["findings"][0];
    let factor = f["estimate"]["speedup"].as_f64().unwrap();
    assert!(factor > 20.0, "{f}");
    assert!(f["estimate"]["provenance"]
        .as_str()
        .unwrap()
        .contains("accuracy cost"));
    assert_eq!(f["fails"], true);
    assert_eq!(doc["findings"][1]["fails"], false);
    // Above the estimate: nothing fails.
    opts.overrides.fail_on_speedup = Some(factor * 2.0);
    let s = run(&opts, &mut gemmscope::report::json::Json::new(Vec::new())).unwrap();
    assert_eq!(s.failing, 0);
    // The same estimate is in SARIF's properties, and the log is valid.
    opts.overrides.fail_on_speedup = Some(2.0);
    let mut buf = Vec::new();
    run(&opts, &mut gemmscope::report::sarif::Sarif::new(&mut buf)).unwrap();
    let log: Value = serde_json::from_slice(&buf).unwrap();
    let r = &log["runs"][0]["results"][0];
    assert_eq!(r["properties"]["estimate"]["speedup"], factor);
    assert_eq!(
        r["properties"]["estimate"]["provenance"],
        f["estimate"]["provenance"]
    );
    validate_sarif(&log);
    // Text shows its headline, every number with its provenance.
    let mut buf = Vec::new();
    run(
        &opts,
        &mut gemmscope::report::text::Text::new(&mut buf, false),
    )
    .unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(
        text.contains("= estimate: ~") && text.contains("faster (reference data: "),
        "{text}"
    );
}

pub fn validate_sarif(log: &Value) {
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:#?}");
}

#[test]
fn suppression_comments_keep_their_reason_and_do_not_count() {
    let c = MIXED_C.replace(
        "void mm(void) {\n",
        "void mm(void) {\n    // gemmscope: ignore[GS101] reference version for the tests\n",
    );
    let c = c.replace(
        "    for (int i = 0; i < N; i++) {\n",
        "    for (int i = 0; i < N; i++) { /* gemmscope: ignore[GS2] tiny */\n",
    );
    let py = PY_MM.replace(
        "    for i in range(N):\n",
        "    for i in range(N):  # gemmscope: ignore[GS101]\n",
    );
    let d = project(&[("m.c", &c), ("mm.py", &py)]);
    let o = gemmscope(&["check", "--format", "json", "."], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(codes(&doc, "findings"), Vec::<String>::new());
    assert_eq!(codes(&doc, "suppressed"), ["GS101", "GS201", "GS101"]);
    let s = &doc["suppressed"][0]["suppression"];
    assert_eq!(s["reason"], "reference version for the tests");
    assert_eq!(s["line"], 5);
    assert_eq!(doc["suppressed"][1]["suppression"]["reason"], "tiny");
    assert_eq!(doc["suppressed"][2]["suppression"]["reason"], Value::Null);
    assert_eq!(doc["summary"]["suppressed"], 3);
    let o = gemmscope(&["check", "."], d.path());
    assert!(
        stdout(&o).contains("3 findings suppressed by"),
        "{}",
        stdout(&o)
    );
    // SARIF lists them as suppressed, with the justification.
    let o = gemmscope(&["check", "--format", "sarif", "m.c"], d.path());
    let log = json(&o);
    let r = &log["runs"][0]["results"][0];
    assert_eq!(r["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        r["suppressions"][0]["justification"],
        "reference version for the tests"
    );
    validate_sarif(&log);
    // A comment two lines above, or naming another code, does not apply;
    // a malformed one is a warning.
    let c2 = MIXED_C.replace(
        "void mm(void) {\n",
        "// gemmscope: ignore[GS101] too far\nvoid mm(void) {\n// gemmscope: ignore[GS201] wrong code\n// gemmscope: ignore GS101\n",
    );
    let d = project(&[("m.c", &c2)]);
    let o = gemmscope(&["check", "--format", "json", "m.c"], d.path());
    assert_eq!(codes(&json(&o), "findings"), ["GS101", "GS201"]);
    assert!(
        stderr(&o).contains("m.c: suppression comment: line 7:"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn baseline_fails_only_on_new_findings_and_survives_edits_above() {
    let d = project(&[("src/m.c", MIXED_C)]);
    let o = gemmscope(
        &["check", "--write-baseline", "gs-baseline.json", "src"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("Wrote 2 findings to the baseline gs-baseline.json."));
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("gs-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(b["gemmscope_baseline"], 1);
    assert_eq!(b["findings"][0]["path"], "src/m.c");
    assert_eq!(b["findings"][0]["function"], "mm");
    let o = gemmscope(
        &["check", "--baseline", "gs-baseline.json", "src"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("2 findings already in the baseline"),
        "{}",
        stdout(&o)
    );
    // Lines inserted above and re-indentation do not make them new; run
    // from another folder, the paths still match.
    let edited = format!(
        "// a new header comment\n#include <stdio.h>\n\n{}",
        MIXED_C.replace(
            "C[i][j] += A[i][k] * B[k][j];",
            "C[i][j]   +=   A[i][k]*B[k][j];"
        )
    );
    std::fs::write(d.path().join("src/m.c"), &edited).unwrap();
    let o = gemmscope(
        &["check", "--baseline", "../gs-baseline.json", "."],
        &d.path().join("src"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A second GEMM is new: only it is shown and fails.
    let more = format!(
        "{edited}\nvoid mm2(void) {{\n    for (int i = 0; i < N; i++)\n        for (int k = 0; k < N; k++)\n            for (int j = 0; j < N; j++)\n                C[i][j] += A[i][k] * B[k][j];\n}}\n"
    );
    std::fs::write(d.path().join("src/m.c"), more).unwrap();
    let o = gemmscope(
        &[
            "check",
            "--format",
            "json",
            "--baseline",
            "gs-baseline.json",
            "src",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let doc = json(&o);
    let states: Vec<(&str, &str, bool)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap(),
                f["baseline_state"].as_str().unwrap(),
                f["fails"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("mm", "unchanged", false),
            ("mv", "unchanged", false),
            ("mm2", "new", true)
        ]
    );
    let o = gemmscope(
        &[
            "check",
            "--format",
            "sarif",
            "--baseline",
            "gs-baseline.json",
            "src",
        ],
        d.path(),
    );
    let log = json(&o);
    assert_eq!(log["runs"][0]["results"][2]["baselineState"], "new");
    validate_sarif(&log);
    // A missing or malformed baseline is an error.
    let o = gemmscope(&["check", "--baseline", "nope.json", "src"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nope.json: cannot read the baseline"),
        "{}",
        stderr(&o)
    );
    std::fs::write(d.path().join("bad.json"), "{\"findings\": 3}").unwrap();
    let o = gemmscope(&["check", "--baseline", "bad.json", "src"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.json: not a gemmscope baseline"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_is_found_by_walking_up_and_flags_win() {
    let d = project(&[
        ("a/m.c", MIXED_C),
        ("a/gemmscope.toml", "select = [\"GS2\"]\n"),
        ("b/deep/m.c", MIXED_C),
        ("pyproject.toml", "[tool.gemmscope]\nignore = [\"GS201\"]\n"),
        ("c/pyproject.toml", "[tool.black]\nline-length = 100\n"),
        ("c/m.c", MIXED_C),
    ]);
    let doc = json(&gemmscope(&["check", "--format", "json", "."], d.path()));
    let got: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // a/ has its own file; b/deep/ and c/ (a pyproject.toml without the
    // table) use the top pyproject.toml.
    assert_eq!(
        got,
        [
            ("./a/m.c".to_string(), "GS201".to_string()),
            ("./b/deep/m.c".to_string(), "GS101".to_string()),
            ("./c/m.c".to_string(), "GS101".to_string()),
        ]
    );
    // A flag replaces the key's value.
    let doc = json(&gemmscope(
        &["check", "--format", "json", "--select", "GS1", "a"],
        d.path(),
    ));
    assert_eq!(codes(&doc, "findings"), ["GS101"]);
    // --no-config and --config.
    let doc = json(&gemmscope(
        &["check", "--format", "json", "--no-config", "a"],
        d.path(),
    ));
    assert_eq!(codes(&doc, "findings"), ["GS101", "GS201"]);
    let doc = json(&gemmscope(
        &[
            "check",
            "--format",
            "json",
            "--config",
            "a/gemmscope.toml",
            "b",
        ],
        d.path(),
    ));
    assert_eq!(codes(&doc, "findings"), ["GS201"]);
}

#[test]
fn config_errors_name_the_key_and_the_file() {
    let d = project(&[
        ("m.c", MIXED_C),
        (
            "gemmscope.toml",
            "select = [\"GS1\"]\nfail_on_speedup = 3\n",
        ),
    ]);
    let o = gemmscope(&["check", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("gemmscope.toml") && e.contains("`fail_on_speedup`"),
        "{e}"
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let d = project(&[
        ("m.c", MIXED_C),
        ("pyproject.toml", "[tool.gemmscope]\nselect = [\"GS77\"]\n"),
    ]);
    let o = gemmscope(&["check", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("pyproject.toml: `select`: `GS77` is not a rule code"),
        "{}",
        stderr(&o)
    );
    let d = project(&[("m.c", MIXED_C), ("gemmscope.toml", "select = \"GS1\"\n")]);
    let o = gemmscope(&["check", "m.c"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("gemmscope.toml"), "{}", stderr(&o));
}

#[test]
fn exclude_patterns_and_output_file() {
    let d = project(&[
        ("src/m.c", MIXED_C),
        ("third_party/blas/ref.c", MIXED_C),
        ("gemmscope.toml", "exclude = [\"third_party/\"]\n"),
    ]);
    let o = gemmscope(
        &[
            "check",
            "--format",
            "sarif",
            "-o",
            "out.sarif",
            ".",
            "third_party/blas/ref.c",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("out.sarif")).unwrap())
            .unwrap();
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["src/m.c", "src/m.c"]);
}

/// Sizes that only the build defines: `-DN=512` on the command line and
/// `M` in a header found through `-I`.
const BUILD_C: &str = "#include <sizes/dims.h>
void mm(float *A, float *B, float *C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < N; k++)
                C[i*N + j] += A[i*N + k] * B[k*N + j];
}\n";

fn dims(doc: &Value) -> (Value, Value) {
    let f = &doc["findings"][0]["dims"];
    (f["m"]["value"].clone(), f["n"]["value"].clone())
}

#[test]
fn compile_commands_defines_and_include_dirs_resolve_sizes() {
    let d = project(&[
        ("src/mm.c", BUILD_C),
        ("include/sizes/dims.h", "#define M 128\n"),
    ]);
    let root = d.path().display().to_string();
    // Without the build: no values.
    let doc = json(&gemmscope(
        &["check", "--format", "json", "src/mm.c"],
        d.path(),
    ));
    assert_eq!(dims(&doc), (Value::Null, Value::Null));
    // Found as clangd finds it, in build/ of a parent folder.
    let db = format!(
        "[{{\"directory\": \"{root}/build\", \"file\": \"../src/mm.c\", \
         \"command\": \"cc -O2 -DN=512 -I ../include -c ../src/mm.c -o mm.o\"}}]"
    );
    std::fs::create_dir_all(d.path().join("build")).unwrap();
    std::fs::write(d.path().join("build/compile_commands.json"), &db).unwrap();
    let doc = json(&gemmscope(
        &["check", "--format", "json", "src/mm.c"],
        d.path(),
    ));
    assert_eq!(dims(&doc), (Value::from(128), Value::from(512)));
    // --compile-commands names another one (arguments form, a folder).
    std::fs::create_dir_all(d.path().join("other")).unwrap();
    let db2 = format!(
        "[{{\"directory\": \"{root}\", \"file\": \"src/mm.c\", \
         \"arguments\": [\"cc\", \"-D\", \"N=64\", \"-Iinclude\", \"src/mm.c\"]}}]"
    );
    std::fs::write(d.path().join("other/compile_commands.json"), &db2).unwrap();
    let doc = json(&gemmscope(
        &[
            "check",
            "--format",
            "json",
            "--compile-commands",
            "other",
            "src/mm.c",
        ],
        d.path(),
    ));
    assert_eq!(dims(&doc), (Value::from(128), Value::from(64)));
    // An unreadable explicit database is an error; a broken discovered one
    // a warning.
    let o = gemmscope(
        &["check", "--compile-commands", "nope.json", "src/mm.c"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nope.json: cannot read"),
        "{}",
        stderr(&o)
    );
    std::fs::write(d.path().join("build/compile_commands.json"), "{ not json").unwrap();
    let o = gemmscope(&["check", "src/mm.c"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not a compilation database"),
        "{}",
        stderr(&o)
    );
}

/// With the real estimator (`--bench off`: model and shipped reference data,
/// nothing measured) a naive 1024³ GEMM gets a labelled estimate, and the
/// speed-up gate fires on it; the GEMV gets its own, from the shipped GEMV
/// curves, with a speed-up too small for that gate.
#[test]
fn bench_off_estimates_come_from_reference_data_and_fire_the_gate() {
    let src = MIXED_C.replace("#define N 256", "#define N 1024");
    let d = project(&[("m.c", &src)]);
    let doc = json(&gemmscope(
        &["check", "--format", "json", "--bench", "off", "m.c"],
        d.path(),
    ));
    let gemm = &doc["findings"][0];
    assert_eq!(gemm["code"], "GS101");
    let e = &gemm["estimate"];
    assert!(e["speedup"].as_f64().unwrap() > 10.0, "{e}");
    let headline = e["headline"].as_str().unwrap();
    assert!(headline.contains("per output"), "{headline}");
    assert!(
        headline.contains("reference data") || headline.contains("predicted"),
        "every number says how it is known: {headline}"
    );
    assert!(
        e["provenance"].as_str().unwrap().contains("accuracy"),
        "{e}"
    );
    let gemv = &doc["findings"][1];
    assert_eq!(gemv["code"], "GS201");
    let v = &gemv["estimate"];
    let h = v["headline"].as_str().unwrap();
    // On a reference machine the ± is the curve's leave-one-size-out error;
    // on any other (this test runs wherever CI does) the error is unknown
    // and the headline says why, never "one reference machine".
    assert!(h.contains("reference data"), "{h}");
    assert!(
        h.contains("leave-one-size-out") || h.contains("error unknown (measured on"),
        "{h}"
    );
    let gemv_factor = v["speedup"].as_f64().unwrap();
    assert!(gemv_factor > 1.0 && gemv_factor < 100.0, "{v}");
    // The gate fires on the GEMM only.
    let o = gemmscope(
        &[
            "check",
            "--bench",
            "off",
            "--fail-on-speedup",
            "100",
            "--format",
            "json",
            "m.c",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let gated = json(&o);
    assert_eq!(gated["findings"][0]["fails"], true);
    assert_eq!(gated["findings"][1]["fails"], false);
    let o = gemmscope(
        &["check", "--bench", "off", "--fail-on-speedup", "100", "m.c"],
        d.path(),
    );
    assert!(stdout(&o).contains("= estimate: ~"), "{}", stdout(&o));
    let o = gemmscope(
        &["check", "--bench", "off", "--fail-on-speedup", "1e9", "m.c"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn several_output_formats_in_one_run() {
    let d = project(&[("m.c", MIXED_C)]);
    let o = gemmscope(
        &[
            "check",
            "--bench",
            "off",
            "--output-format",
            "sarif=out.sarif",
            "--output-format",
            "json=out.json",
            "--output-format",
            "text",
            "m.c",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("GS101"), "{}", stdout(&o));
    let log: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out.sarif")).unwrap()).unwrap();
    validate_sarif(&log);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out.json")).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), codes(&doc, "findings").len());
    assert_eq!(results[0]["ruleId"], "GS101");
    // The same SARIF as --format sarif gives alone.
    let alone = gemmscope(
        &["check", "--bench", "off", "--format", "sarif", "m.c"],
        d.path(),
    );
    assert_eq!(json(&alone), log);
    // Two to stdout, an unknown format, an empty file name, and mixing
    // with --format are usage errors.
    for args in [
        &["--output-format", "json", "--output-format", "text"][..],
        &["--output-format", "xml"],
        &["--output-format", "sarif="],
        &["--format", "json", "--output-format", "text"],
    ] {
        let mut a = vec!["check"];
        a.extend_from_slice(args);
        a.push("m.c");
        let o = gemmscope(&a, d.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn sarif_fingerprints_are_stable_and_the_log_keeps_to_code_scanning_limits() {
    use gemmscope::check::{run, CheckOptions};
    use gemmscope::report::sarif::Sarif;
    let fingerprints = |text: &str| -> Vec<Value> {
        let d = project(&[("m.c", text)]);
        let o = gemmscope(&["check", "--format", "sarif", "m.c"], d.path());
        let log = json(&o);
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    let before = fingerprints(MIXED_C);
    assert_eq!(before.len(), 2);
    assert!(before[0]["gemmscope/v1"].as_str().unwrap().len() >= 16);
    assert_ne!(before[0], before[1]);
    // Lines added above move every finding but change no fingerprint.
    let moved = format!("// a comment\n#include <stdio.h>\n\n{MIXED_C}");
    assert_eq!(fingerprints(&moved), before);

    // Past the result limit: the most severe kept, and the run says so.
    let d = project(&[("m.c", MIXED_C)]);
    let mut opts = CheckOptions::new(vec![d.path().join("m.c")]);
    opts.overrides.no_config = true;
    let sarif = |max_results, max_bytes| -> Value {
        let mut buf = Vec::new();
        run(
            &opts,
            &mut Sarif::with_limits(&mut buf, max_results, max_bytes),
        )
        .unwrap();
        serde_json::from_slice(&buf).unwrap()
    };
    let full = sarif(25_000, 10_000_000);
    assert_eq!(full["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert!(full["runs"][0].get("properties").is_none());
    let one = sarif(1, 10_000_000);
    validate_sarif(&one);
    let run0 = &one["runs"][0];
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let rank = |l: &Value| ["error", "warning", "note"].iter().position(|x| l == x);
    let levels: Vec<_> = full["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| rank(&r["level"]))
        .collect();
    assert_eq!(
        rank(&results[0]["level"]),
        levels.iter().copied().min().unwrap()
    );
    assert_eq!(run0["properties"]["truncated"]["written"], 1);
    assert_eq!(run0["properties"]["truncated"]["total"], 2);
    let notes = run0["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["message"]["text"]
            .as_str()
            .unwrap()
            .contains("1 of 2 results written: code scanning takes at most 1 results")),
        "{notes:#?}"
    );
    // Past the size limit: results left out until the log fits.
    let skeleton = serde_json::to_vec_pretty(&sarif(0, 10_000_000))
        .unwrap()
        .len();
    let whole = serde_json::to_vec_pretty(&full).unwrap().len();
    let limit = (skeleton + whole) / 2 + 400;
    let small = sarif(25_000, limit);
    validate_sarif(&small);
    assert!(serde_json::to_vec_pretty(&small).unwrap().len() <= limit);
    let n = small["runs"][0]["results"].as_array().unwrap().len();
    assert!(n < 2, "{n}");
    assert_eq!(small["runs"][0]["properties"]["truncated"]["total"], 2);
}
