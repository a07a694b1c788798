//! The fixture corpus: every file under `tests/corpus/{c,cuda,python}` is
//! analysed and its findings are compared with the `expect:` annotations in
//! the file (see the fixture annotation format in the project brief).
//!
//! An annotation is a trailing comment on the line where a finding's `range`
//! starts:
//!
//! ```text
//! for (int i = 0; i < N; i++) {   // expect: GS101 routine=gemm dims=1024x1024x1024 order=ijk
//! ```
//!
//! Several findings on one line are separated by ` ; `. A fixture with no
//! annotation must produce no findings and must say `negative: <why>`.
//! Headers (`.h`) are support files for `#include "..."`: they are analysed
//! too, but do not count as fixtures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gemmscope_analyzers::{analyze, Finding, IncludeResolver, Major};

// ---------------------------------------------------------------------------
// Annotation parser
// ---------------------------------------------------------------------------

/// The keys an annotation may carry.
const KEYS: &[&str] = &[
    "routine", "idiom", "dims", "dtype", "order", "function", "layout", "alpha", "beta", "sources",
    "purpose",
];

/// One expected finding.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expect {
    /// 1-based line of the annotation (where the finding's range starts).
    line: usize,
    code: String,
    /// Key/value pairs in the order written.
    keys: Vec<(String, String)>,
}

impl Expect {
    fn describe(&self) -> String {
        let mut s = self.code.clone();
        for (k, v) in &self.keys {
            let _ = write!(s, " {k}={v}");
        }
        s
    }
}

/// Parses every `expect:` annotation in `text`. `comment` is the language's
/// line-comment marker (`//` or `#`). Errors name the line and the problem.
fn parse_expectations(text: &str, comment: &str) -> Result<Vec<Expect>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        match parse_line(line, comment, lineno) {
            Ok(mut v) => out.append(&mut v),
            Err(e) => errors.push(format!("line {lineno}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parses the annotations on one line (none if it has no `expect:`).
fn parse_line(line: &str, comment: &str, lineno: usize) -> Result<Vec<Expect>, String> {
    let Some(at) = line.find("expect:") else {
        return Ok(Vec::new());
    };
    let before = &line[..at];
    let Some(cpos) = before.rfind(comment) else {
        return Err(format!("`expect:` must be inside a `{comment}` comment"));
    };
    if !before[cpos + comment.len()..].trim().is_empty() {
        return Err(format!(
            "`expect:` must start the comment (found `{}` before it)",
            before[cpos + comment.len()..].trim()
        ));
    }
    let rest = &line[at + "expect:".len()..];
    if rest.contains("expect:") {
        return Err("more than one `expect:` on a line; separate findings with ` ; `".into());
    }
    let rest = rest.trim().trim_end_matches("*/").trim();
    if rest.is_empty() {
        return Err("empty `expect:`".into());
    }
    let mut out = Vec::new();
    for item in rest.split(" ; ") {
        out.push(parse_item(item.trim(), lineno)?);
    }
    Ok(out)
}

/// Parses `GS101 key=value key=value`.
fn parse_item(item: &str, lineno: usize) -> Result<Expect, String> {
    let mut toks = item.split_whitespace();
    let code = toks.next().ok_or("empty finding between ` ; `")?;
    if !is_code(code) {
        return Err(format!(
            "`{code}` is not a rule code (expected GS followed by three digits)"
        ));
    }
    let mut keys: Vec<(String, String)> = Vec::new();
    for tok in toks {
        let (k, v) = tok
            .split_once('=')
            .ok_or_else(|| format!("`{tok}` is not key=value"))?;
        if !KEYS.contains(&k) {
            return Err(format!("unknown key `{k}` (known: {})", KEYS.join(", ")));
        }
        if v.is_empty() {
            return Err(format!("key `{k}` has an empty value"));
        }
        if keys.iter().any(|(seen, _)| seen == k) {
            return Err(format!("key `{k}` given twice"));
        }
        if k == "layout" {
            parse_layout(v)?;
        }
        keys.push((k.to_string(), normalize_dims(v, k)));
    }
    Ok(Expect {
        line: lineno,
        code: code.to_string(),
        keys,
    })
}

fn is_code(s: &str) -> bool {
    s.len() == 5 && s.starts_with("GS") && s[2..].bytes().all(|b| b.is_ascii_digit())
}

/// `A:row,B:col` → [("A", Row), ("B", Col)].
fn parse_layout(v: &str) -> Result<Vec<(String, Major)>, String> {
    v.split(',')
        .map(|pair| {
            let (role, major) = pair
                .split_once(':')
                .ok_or_else(|| format!("layout entry `{pair}` is not role:major"))?;
            let major = match major {
                "row" => Major::Row,
                "col" => Major::Col,
                other => return Err(format!("layout major `{other}` is not row or col")),
            };
            if role.is_empty() {
                return Err(format!("layout entry `{pair}` has no role"));
            }
            Ok((role.to_string(), major))
        })
        .collect()
}

/// Dims are compared with `×` written as `x`.
fn normalize_dims(v: &str, key: &str) -> String {
    if key == "dims" {
        v.replace('×', "x")
    } else {
        v.to_string()
    }
}

// ---------------------------------------------------------------------------
// Comparing findings with expectations
// ---------------------------------------------------------------------------

/// The value of `key` in a finding, as the annotation writes it.
fn finding_value(f: &Finding, key: &str) -> Option<String> {
    match key {
        "routine" => Some(f.routine.as_str().to_string()),
        "idiom" => Some(f.idiom.as_str().to_string()),
        "dims" => {
            let d = f.dims.display().replace('×', "x");
            (!d.is_empty()).then_some(d)
        }
        "dtype" => f.dtype.as_ref().map(|t| t.short()),
        // Where each dim's value came from, M, N, K (and batch) in order:
        // `call-site,constant,literal`; `-` for a dim without a value.
        "sources" => {
            let d = &f.dims;
            let kinds: Vec<&str> = [&d.m, &d.n, &d.k, &d.batch]
                .into_iter()
                .flatten()
                .map(|d| d.source.as_ref().map_or("-", |s| s.kind()))
                .collect();
            (!kinds.is_empty()).then(|| kinds.join(","))
        }
        "order" => f.loop_order.clone(),
        "function" => f.function.clone(),
        // `purpose=reference` (a CPU reference), `purpose=fallback` (a
        // branch beside a fused kernel) or `purpose=none`.
        "purpose" => Some(
            f.purpose
                .as_deref()
                .map_or("none", gemmscope_analyzers::purpose::kind)
                .to_string(),
        ),
        "alpha" => f.alpha.clone(),
        "beta" => f.beta.clone(),
        "layout" => Some(
            f.layouts
                .iter()
                .map(|l| format!("{}:{}", l.role, major_str(l.major)))
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

fn major_str(m: Major) -> &'static str {
    match m {
        Major::Row => "row",
        Major::Col => "col",
    }
}

/// Checks one key of a matched finding; returns a message on mismatch.
fn check_key(f: &Finding, key: &str, want: &str) -> Option<String> {
    if key == "layout" {
        let wanted = parse_layout(want).expect("validated when parsed");
        let mut bad = Vec::new();
        for (role, major) in wanted {
            match f.layouts.iter().find(|l| l.role == role) {
                Some(l) if l.major == major => {}
                Some(l) => bad.push(format!(
                    "{role}:{} (got {role}:{})",
                    major_str(major),
                    major_str(l.major)
                )),
                None => bad.push(format!(
                    "{role}:{} (no operand with role {role})",
                    major_str(major)
                )),
            }
        }
        if bad.is_empty() {
            return None;
        }
        return Some(format!(
            "layout: expected {}, got [{}]",
            bad.join(", "),
            finding_value(f, "layout").unwrap_or_default()
        ));
    }
    let got = finding_value(f, key);
    if got.as_deref() == Some(want) {
        None
    } else {
        Some(format!(
            "{key}: expected `{want}`, got {}",
            got.map(|g| format!("`{g}`"))
                .unwrap_or_else(|| "nothing".to_string())
        ))
    }
}

fn describe_finding(f: &Finding) -> String {
    let mut s = format!(
        "{} routine={} idiom={}",
        f.code,
        f.routine.as_str(),
        f.idiom.as_str()
    );
    for key in [
        "dims", "dtype", "order", "function", "layout", "alpha", "beta",
    ] {
        if let Some(v) = finding_value(f, key) {
            if !v.is_empty() {
                let _ = write!(s, " {key}={v}");
            }
        }
    }
    let _ = write!(s, "\n        why: {}", f.why);
    s
}

/// Compares a file's findings with its expectations; returns one message per
/// mismatch, each prefixed with `path:line`.
fn compare(path: &str, expects: &[Expect], findings: &[Finding]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut used = vec![false; findings.len()];
    let mut matched: Vec<(&Expect, &Finding)> = Vec::new();
    let mut missing: Vec<&Expect> = Vec::new();
    for e in expects {
        let hit = findings
            .iter()
            .enumerate()
            .find(|(n, f)| !used[*n] && f.range.start_line == e.line && f.code == e.code);
        match hit {
            Some((n, f)) => {
                used[n] = true;
                matched.push((e, f));
            }
            None => missing.push(e),
        }
    }
    for e in missing {
        let mut msg = format!("{path}:{}: missing {}", e.line, e.describe());
        let same_code: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(n, f)| !used[*n] && f.code == e.code)
            .map(|(_, f)| f.range.start_line)
            .collect();
        if !same_code.is_empty() {
            let _ = write!(msg, " (a {} was found at line(s) {same_code:?})", e.code);
        }
        problems.push(msg);
    }
    for (n, f) in findings.iter().enumerate() {
        if !used[n] {
            problems.push(format!(
                "{path}:{}: unexpected {}",
                f.range.start_line,
                describe_finding(f)
            ));
        }
    }
    for (e, f) in matched {
        let bad: Vec<String> = e
            .keys
            .iter()
            .filter_map(|(k, v)| check_key(f, k, v))
            .collect();
        if !bad.is_empty() {
            problems.push(format!(
                "{path}:{}: {} differs:\n        {}\n        why: {}",
                e.line,
                e.code,
                bad.join("\n        "),
                f.why
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// The corpus on disk
// ---------------------------------------------------------------------------

/// Reads `#include "x.h"` relative to the including file's directory.
struct DirResolver;

impl IncludeResolver for DirResolver {
    fn resolve(&self, from_path: &str, include: &str) -> Option<String> {
        let dir = Path::new(from_path).parent()?;
        std::fs::read_to_string(dir.join(include)).ok()
    }
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

const LANG_DIRS: &[&str] = &["c", "cuda", "python"];
const EXTENSIONS: &[&str] = &["c", "h", "cpp", "cc", "cu", "cuh", "py"];

#[derive(Debug)]
struct Fixture {
    /// Path relative to the crate (`corpus/c/gemm.c`), for messages.
    display: String,
    path: PathBuf,
    lang_dir: &'static str,
    text: String,
    header: bool,
}

impl Fixture {
    fn comment(&self) -> &'static str {
        if self.path.extension().is_some_and(|e| e == "py") {
            "#"
        } else {
            "//"
        }
    }
}

fn load_corpus() -> Vec<Fixture> {
    let root = corpus_root();
    let mut out = Vec::new();
    for dir in LANG_DIRS {
        let d = root.join(dir);
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_string();
            assert!(
                EXTENSIONS.contains(&ext.as_str()),
                "unexpected file in the corpus: {} (known extensions: {EXTENSIONS:?})",
                path.display()
            );
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            out.push(Fixture {
                display: format!(
                    "tests/corpus/{dir}/{}",
                    path.file_name().unwrap().to_string_lossy()
                ),
                path,
                lang_dir: dir,
                text,
                header: ext == "h" || ext == "cuh",
            });
        }
    }
    out
}

/// Whether the first comment block of a fixture says `negative:`.
fn says_negative(text: &str) -> bool {
    text.lines().take(6).any(|l| l.contains("negative:"))
}

/// Checks the annotations of every fixture (parse errors, negatives saying
/// why, positives not saying `negative:`); returns problems.
fn annotation_problems(corpus: &[Fixture]) -> Vec<String> {
    let mut problems = Vec::new();
    for fx in corpus {
        match parse_expectations(&fx.text, fx.comment()) {
            Err(errs) => {
                for e in errs {
                    problems.push(format!("{}: bad annotation: {e}", fx.display));
                }
            }
            Ok(exps) if fx.header => {
                if !exps.is_empty() {
                    problems.push(format!(
                        "{}: headers are support files; put expectations in the including file",
                        fx.display
                    ));
                }
            }
            Ok(exps) if exps.is_empty() && !says_negative(&fx.text) => problems.push(format!(
                "{}: no `expect:` annotation, so it is a negative, but it does not start with a `negative: <why>` comment",
                fx.display
            )),
            Ok(exps) if !exps.is_empty() && says_negative(&fx.text) => problems.push(format!(
                "{}: says `negative:` but has {} `expect:` annotation(s)",
                fx.display,
                exps.len()
            )),
            Ok(_) => {}
        }
    }
    problems
}

#[test]
fn corpus_annotations_are_well_formed() {
    let corpus = load_corpus();
    let problems = annotation_problems(&corpus);
    assert!(
        problems.is_empty(),
        "{} annotation problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn corpus_is_large_enough() {
    let corpus = load_corpus();
    let fixtures: Vec<&Fixture> = corpus.iter().filter(|f| !f.header).collect();
    let mut per_lang: BTreeMap<&str, usize> = BTreeMap::new();
    let mut negatives = 0usize;
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for fx in &fixtures {
        *per_lang.entry(fx.lang_dir).or_default() += 1;
        let exps = parse_expectations(&fx.text, fx.comment()).unwrap_or_default();
        if exps.is_empty() {
            negatives += 1;
        }
        for e in exps {
            *codes.entry(e.code).or_default() += 1;
        }
    }
    let total = fixtures.len();
    assert!(
        total >= 60,
        "the corpus shrank to {total} fixtures (need at least 60)"
    );
    for dir in LANG_DIRS {
        let n = per_lang.get(dir).copied().unwrap_or(0);
        assert!(
            n >= 10,
            "tests/corpus/{dir} has {n} fixtures (need at least 10)"
        );
    }
    assert!(
        negatives * 4 >= total,
        "only {negatives} of {total} fixtures are negatives (need at least a quarter)"
    );
    // Every rule has at least one positive fixture.
    for code in [
        "GS101", "GS102", "GS103", "GS104", "GS105", "GS106", "GS107", "GS108", "GS201", "GS301",
        "GS401", "GS501", "GS601", "GS602",
    ] {
        assert!(
            codes.contains_key(code),
            "no fixture expects {code}; every rule needs at least one positive (have {codes:?})"
        );
    }
}

#[test]
fn corpus_findings_match_annotations() {
    let corpus = load_corpus();
    assert!(
        !corpus.is_empty(),
        "no corpus found under {}",
        corpus_root().display()
    );
    let mut problems = annotation_problems(&corpus);
    let mut files_ok = 0usize;
    let mut files_bad = 0usize;
    for fx in &corpus {
        let Ok(expects) = parse_expectations(&fx.text, fx.comment()) else {
            files_bad += 1;
            continue; // already reported by annotation_problems
        };
        let path = fx.path.to_string_lossy().to_string();
        let text = fx.text.clone();
        let result = std::panic::catch_unwind(move || analyze(&path, &text, &DirResolver));
        let file_problems = match result {
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(non-string panic)".into());
                vec![format!("{}: the analyzer panicked: {msg}", fx.display)]
            }
            Ok(Err(e)) => vec![format!("{}: analyze failed: {e}", fx.display)],
            Ok(Ok(analysis)) => compare(&fx.display, &expects, &analysis.findings),
        };
        if file_problems.is_empty() {
            files_ok += 1;
        } else {
            files_bad += 1;
            problems.extend(file_problems);
        }
    }
    assert!(
        problems.is_empty(),
        "corpus: {files_bad} of {} file(s) differ from their annotations ({files_ok} match), {} problem(s):\n\n  {}\n",
        files_ok + files_bad,
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Tests of the annotation parser itself
// ---------------------------------------------------------------------------

#[test]
fn parses_one_annotation_with_keys() {
    let text = "int x;\nfor (i = 0; i < N; i++) {   // expect: GS101 routine=gemm dims=1024x1024x1024 dtype=f32 order=ijk layout=A:row,B:col\n}\n";
    let v = parse_expectations(text, "//").unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].line, 2);
    assert_eq!(v[0].code, "GS101");
    assert_eq!(
        v[0].keys,
        vec![
            ("routine".to_string(), "gemm".to_string()),
            ("dims".to_string(), "1024x1024x1024".to_string()),
            ("dtype".to_string(), "f32".to_string()),
            ("order".to_string(), "ijk".to_string()),
            ("layout".to_string(), "A:row,B:col".to_string()),
        ]
    );
}

#[test]
fn parses_several_findings_on_one_line() {
    let text = "x = 1\nfor i in range(n):  # expect: GS101 order=ijk ; GS201 routine=gemv\n";
    let v = parse_expectations(text, "#").unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!((v[0].line, v[0].code.as_str()), (2, "GS101"));
    assert_eq!((v[1].line, v[1].code.as_str()), (2, "GS201"));
    assert_eq!(v[1].keys, vec![("routine".to_string(), "gemv".to_string())]);
}

#[test]
fn bare_code_and_times_sign_in_dims() {
    let v = parse_expectations("f();  // expect: GS601\n", "//").unwrap();
    assert_eq!(v[0].code, "GS601");
    assert!(v[0].keys.is_empty());
    let v = parse_expectations("g();  // expect: GS104 dims=8×(64×64×64)\n", "//").unwrap();
    assert_eq!(v[0].keys[0].1, "8x(64x64x64)");
}

#[test]
fn lines_without_expect_give_nothing() {
    let v = parse_expectations(
        "int main() { return 0; }\n// negative: nothing here\n",
        "//",
    )
    .unwrap();
    assert!(v.is_empty());
}

fn parse_err(line: &str, comment: &str) -> String {
    let errs = parse_expectations(line, comment).expect_err("should be rejected");
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs[0].clone()
}

#[test]
fn rejects_unknown_key() {
    let e = parse_err("for (;;) {  // expect: GS101 rutine=gemm\n", "//");
    assert!(e.contains("unknown key `rutine`"), "{e}");
    assert!(e.starts_with("line 1:"), "{e}");
}

#[test]
fn rejects_malformed_annotations() {
    let cases = [
        ("x;  // expect:\n", "//", "empty `expect:`"),
        ("x;  // expect: gemm\n", "//", "is not a rule code"),
        ("x;  // expect: GS1010\n", "//", "is not a rule code"),
        ("x;  // expect: GS101 routine\n", "//", "is not key=value"),
        ("x;  // expect: GS101 dims=\n", "//", "empty value"),
        (
            "x;  // expect: GS101 order=ijk order=ikj\n",
            "//",
            "given twice",
        ),
        (
            "x;  // expect: GS101 layout=A-row\n",
            "//",
            "not role:major",
        ),
        (
            "x;  // expect: GS101 layout=A:rows\n",
            "//",
            "not row or col",
        ),
        ("x;  // expect: GS101 ;  ; GS102\n", "//", "empty finding"),
        ("x = 1  // expect: GS101\n", "#", "inside a `#` comment"),
        ("x;  // see expect: GS101\n", "//", "must start the comment"),
        (
            "x;  // expect: GS101 expect: GS102\n",
            "//",
            "more than one `expect:`",
        ),
    ];
    for (text, comment, want) in cases {
        let e = parse_err(text, comment);
        assert!(
            e.contains(want),
            "{text:?}: error {e:?} should mention {want:?}"
        );
    }
}

#[test]
fn reports_every_bad_line() {
    let text = "a // expect: GS101 foo=1\nb\nc // expect: XX\n";
    let errs = parse_expectations(text, "//").unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("line 1:"));
    assert!(errs[1].starts_with("line 3:"));
}

#[test]
fn resolver_reads_relative_to_the_including_file() {
    let c = corpus_root().join("c").join("gemm_header_sizes.c");
    let text = DirResolver
        .resolve(&c.to_string_lossy(), "sizes.h")
        .expect("sizes.h next to gemm_header_sizes.c");
    assert!(text.contains("#define M_SIZE"));
    assert!(DirResolver
        .resolve(&c.to_string_lossy(), "missing.h")
        .is_none());
}

#[test]
fn negative_marker_is_found_in_the_header_comment() {
    assert!(says_negative("/* negative: not a product */\nint x;\n"));
    assert!(!says_negative("int x;\n"));
}

fn sample_finding(line: usize) -> Finding {
    use gemmscope_analyzers::{Backend, Dim, Dims, Idiom, OperandLayout, Routine, Span};
    let dim = |e: &str, v: Option<u64>| Some(Dim::new(e, v));
    let layout = |role: &str, major| OperandLayout {
        role: role.to_string(),
        name: role.to_string(),
        major,
        ld: None,
        jagged: false,
    };
    Finding {
        code: "GS101",
        rule: "gemm-loop-nest",
        idiom: Idiom::Gemm,
        routine: Routine::Gemm,
        backend: Backend::Cpu,
        range: Span {
            start_line: line,
            end_line: line + 4,
            ..Span::default()
        },
        key_range: Span::default(),
        function: Some("matmul".into()),
        dims: Dims {
            m: dim("N", Some(1024)),
            n: dim("N", Some(1024)),
            k: dim("K", None),
            batch: None,
        },
        dtype: Some(gemmscope_analyzers::ir::ElemType::F32),
        layouts: vec![
            layout("C", Major::Row),
            layout("A", Major::Row),
            layout("B", Major::Col),
        ],
        loop_order: Some("ikj".into()),
        alpha: None,
        beta: None,
        confidence: 0.9,
        why: "three loops, C[i][j] += A[i][k]*B[k][j]".into(),
        message: "GEMM loop nest".into(),
        purpose: None,
        parallel: None,
    }
}

#[test]
fn compare_accepts_matching_findings() {
    let text = "\n\nfor (;;) // expect: GS101 routine=gemm idiom=gemm dims=1024×1024xK dtype=f32 order=ikj function=matmul layout=B:col,A:row\n";
    let exps = parse_expectations(text, "//").unwrap();
    assert_eq!(
        compare("t.c", &exps, &[sample_finding(3)]),
        Vec::<String>::new()
    );
}

#[test]
fn compare_reports_missing_unexpected_and_wrong_keys() {
    // Wrong line: one missing (with a hint) and one unexpected.
    let exps = parse_expectations("\nx // expect: GS101\n", "//").unwrap();
    let p = compare("t.c", &exps, &[sample_finding(5)]);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("t.c:2: missing GS101") && p[0].contains("line(s) [5]"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("t.c:5: unexpected GS101") && p[1].contains("why: three loops"),
        "{p:#?}"
    );

    // Right place, wrong keys: every differing key is listed, with the why.
    let exps = parse_expectations(
        "x // expect: GS101 dims=1024x1024x1024 order=ijk layout=B:row alpha=alpha dtype=f32\n",
        "//",
    )
    .unwrap();
    let p = compare("t.c", &exps, &[sample_finding(1)]);
    assert_eq!(p.len(), 1, "{p:#?}");
    let msg = &p[0];
    assert!(
        msg.contains("dims: expected `1024x1024x1024`, got `1024x1024xK`"),
        "{msg}"
    );
    assert!(msg.contains("order: expected `ijk`, got `ikj`"), "{msg}");
    assert!(msg.contains("layout: expected B:row (got B:col)"), "{msg}");
    assert!(
        msg.contains("alpha: expected `alpha`, got nothing"),
        "{msg}"
    );
    assert!(!msg.contains("dtype"), "{msg}");
    assert!(msg.contains("why: three loops"), "{msg}");

    // A negative file (no expectations) with a finding, and a wrong code.
    assert_eq!(compare("t.c", &[], &[sample_finding(1)]).len(), 1);
    let exps = parse_expectations("x // expect: GS102\n", "//").unwrap();
    assert_eq!(compare("t.c", &exps, &[sample_finding(1)]).len(), 2);
}
