//! Incremental re-parsing gives exactly what a fresh parse of the final
//! text gives: the same tree, the same IR, the same findings.

use super::{lower_parsed, parse, Parsed, TextPoint, TreeEdit};
use crate::ir::Lang;
use crate::{analyze_parsed, BuildContext, NoIncludes};

/// A text being edited, with its incrementally maintained parse.
struct Editing {
    lang: Lang,
    text: String,
    parsed: Parsed,
    reparses: usize,
}

impl Editing {
    fn new(lang: Lang, text: &str) -> Editing {
        Editing {
            lang,
            text: text.to_string(),
            parsed: parse(lang, text, None),
            reparses: 0,
        }
    }

    /// Replaces `len` bytes at the `nth` occurrence of `needle` (offset
    /// `skip` bytes into it) with `insert`, edits the tree; re-parses when
    /// `reparse` (otherwise edits pile up for one later re-parse).
    fn replace(&mut self, needle: &str, skip: usize, len: usize, insert: &str, reparse: bool) {
        let at = self
            .text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {:?}", self.text))
            + skip;
        let e = TreeEdit::replace(&self.text, at, at + len, insert);
        self.text.replace_range(at..at + len, insert);
        // The edit's new end is where the inserted text ends in the new text.
        assert_eq!(e.new_end, TextPoint::at(&self.text, e.new_end_byte));
        self.parsed.edit(&e);
        if reparse {
            self.reparse();
        }
    }

    fn reparse(&mut self) {
        self.parsed = parse(self.lang, &self.text, Some(&self.parsed));
        self.reparses += 1;
    }

    /// The incremental parse agrees with a fresh one: tree, IR, findings.
    fn assert_same_as_fresh(&self, path: &str) {
        let fresh = parse(self.lang, &self.text, None);
        assert_eq!(self.parsed.sexp(), fresh.sexp(), "tree of {:?}", self.text);
        let b = BuildContext::default();
        let inc_ir = lower_parsed(&self.parsed, path, &self.text, &NoIncludes, &b);
        let fresh_ir = lower_parsed(&fresh, path, &self.text, &NoIncludes, &b);
        assert_eq!(inc_ir, fresh_ir, "IR of {:?}", self.text);
        let inc = analyze_parsed(path, &self.text, &self.parsed, &NoIncludes, &b);
        let fresh = analyze_parsed(path, &self.text, &fresh, &NoIncludes, &b);
        assert_eq!(inc.findings, fresh.findings);
        assert_eq!(inc.syntax_problems, fresh.syntax_problems);
    }

    fn dims(&self, path: &str) -> Vec<String> {
        analyze_parsed(
            path,
            &self.text,
            &self.parsed,
            &NoIncludes,
            &BuildContext::default(),
        )
        .findings
        .iter()
        .map(|f| format!("{} {:?}", f.code, f.dims))
        .collect()
    }
}

const C: &str = r#"#define M 64
#define N 48
#define K 32
float A[M][K], B[K][N], C[M][N];
/* é */
void mm(void) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < K; k++)
                C[i][j] += A[i][k] * B[k][j];
}
"#;

#[test]
fn c_incremental_edits_match_a_fresh_parse() {
    let mut e = Editing::new(Lang::C, C);
    let before = e.dims("t.c");
    assert_eq!(before.len(), 1, "{before:?}");
    // Change a dim (same length, then longer).
    e.replace("K 32", 2, 2, "40", true);
    e.assert_same_as_fresh("t.c");
    e.replace("M 64", 2, 2, "1024", true);
    e.assert_same_as_fresh("t.c");
    // Multi-byte characters: 2-, 3- and 4-byte UTF-8 in a comment, on the
    // line before the nest, so every later point shifts by bytes, not chars.
    e.replace("/* é */", 3, 2, "é中𝔸 ", true);
    e.assert_same_as_fresh("t.c");
    // Insert lines (a whole function) before the nest.
    e.replace(
        "void mm",
        0,
        0,
        "static int twice(int x) {\n    return 2 * x; /* ² */\n}\n\n",
        true,
    );
    e.assert_same_as_fresh("t.c");
    // Delete a line break and a line (join the first two macros' lines,
    // then drop the comment line).
    e.replace("#define N 48\n", 0, "#define N 48\n".len(), "", true);
    e.replace("\n#define K", 0, 1, "\n#define N 48\n", true);
    let c_line = e.text.find("/*").unwrap();
    let c_end = c_line + e.text[c_line..].find('\n').unwrap() + 1;
    let line = e.text[c_line..c_end].to_string();
    e.replace(&line, 0, line.len(), "", true);
    e.assert_same_as_fresh("t.c");
    // Several edits applied before one re-parse, one of them making the
    // text invalid and a later one repairing it.
    e.replace("j++)", 3, 1, "", false); // `j++` → `j++` missing `)`
    e.replace("for (int k", 0, 0, "// 𝔸𝔸\n            ", false);
    e.replace("j++", 3, 0, ")", false); // repaired
    e.replace("float A", 0, 0, "\n\n", false);
    e.reparse();
    e.assert_same_as_fresh("t.c");
    // Break the nest, re-parse (a syntax error), then repair it.
    e.replace("C[i][j] +=", 7, 3, "+", true);
    e.replace("C[i][j]+", 7, 1, " +=", true);
    e.assert_same_as_fresh("t.c");
    let after = e.dims("t.c");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(before, after, "the dims changed: {after:?}");
    assert!(after[0].contains("1024"), "{after:?}");
    assert!(e.reparses >= 9);
}

#[test]
fn cuda_incremental_edit_matches_a_fresh_parse() {
    let src = "#define T 16\n__global__ void k(const float *A, const float *B, float *C, int n) {\n    int r = blockIdx.y * blockDim.y + threadIdx.y;\n    int c = blockIdx.x * blockDim.x + threadIdx.x;\n    float s = 0.f;\n    for (int k = 0; k < n; k++) s += A[r * n + k] * B[k * n + c];\n    C[r * n + c] = s;\n}\n";
    let mut e = Editing::new(Lang::Cuda, src);
    e.replace("float s", 0, 0, "// ∑ é\n    ", true);
    e.replace("T 16", 2, 2, "32", true);
    e.assert_same_as_fresh("t.cu");
}

const PY: &str = r#"import numpy as np
N = 64
# é
def mm(A, B):
    C = [[0.0] * N for _ in range(N)]
    for i in range(N):
        for j in range(N):
            for k in range(N):
                C[i][j] += A[i][k] * B[k][j]
    return C
"#;

#[test]
fn python_incremental_edits_match_a_fresh_parse() {
    let mut e = Editing::new(Lang::Python, PY);
    let before = e.dims("t.py");
    assert_eq!(before.len(), 1, "{before:?}");
    e.replace("N = 64", 4, 2, "256", true);
    e.assert_same_as_fresh("t.py");
    // Multi-byte characters in a comment and a string.
    e.replace("# é", 2, 2, "é中𝔸", true);
    e.replace("def mm", 0, 0, "LABEL = \"𝔸×B\"\n", true);
    e.assert_same_as_fresh("t.py");
    // Insert lines into the nest (indentation matters in Python).
    e.replace(
        "            for k",
        0,
        0,
        "            # 中文 comment\n            s = 0\n",
        true,
    );
    e.assert_same_as_fresh("t.py");
    // Delete those lines again, and a line above the function.
    e.replace(
        "            # 中文",
        0,
        "            # 中文 comment\n".len(),
        "",
        true,
    );
    e.replace(
        "            s = 0\n",
        0,
        "            s = 0\n".len(),
        "",
        true,
    );
    e.replace("LABEL", 0, "LABEL = \"𝔸×B\"\n".len(), "", true);
    e.assert_same_as_fresh("t.py");
    // An edit that dedents the loop out of the function (different IR),
    // and back, with edits piled up before one re-parse.
    e.replace("    for i", 0, 4, "", false);
    e.replace("for i in range(N)", 15, 1, "N + 0", false);
    e.reparse();
    e.assert_same_as_fresh("t.py");
    e.replace("for i", 0, 0, "    ", true);
    e.replace("N + 0", 1, 4, "", true);
    e.assert_same_as_fresh("t.py");
    let after = e.dims("t.py");
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(after[0].contains("256"), "{after:?}");
}

/// A deterministic stream of edits at random places (char boundaries) with
/// random insertions, some multi-byte and some with line breaks; every few
/// edits a re-parse, compared with a fresh parse. The texts go through
/// syntax errors and back.
#[test]
fn random_edits_match_a_fresh_parse() {
    let pieces = [
        "",
        "x",
        "\n",
        "é",
        "中",
        "𝔸",
        " + 1",
        ";\n",
        "for (int q = 0; q < 4; q++) ",
        "{",
        "}",
        "\n    ",
        "/* ∑ */",
        "(",
        ")",
        "# c\n",
        "    ",
        "\r\n",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for (lang, path, start) in [(Lang::C, "t.c", C), (Lang::Python, "t.py", PY)] {
        let mut e = Editing::new(lang, start);
        for step in 0..120 {
            let len = e.text.len();
            let mut a = next(len + 1);
            while !e.text.is_char_boundary(a) {
                a -= 1;
            }
            let mut b = (a + next(8)).min(len);
            while !e.text.is_char_boundary(b) {
                b += 1;
            }
            let ins = pieces[next(pieces.len())];
            let edit = TreeEdit::replace(&e.text, a, b, ins);
            e.text.replace_range(a..b, ins);
            e.parsed.edit(&edit);
            if step % 3 == 2 {
                e.reparse();
                e.assert_same_as_fresh(path);
            }
        }
    }
}

#[test]
fn points_count_rows_and_byte_columns() {
    let t = "aé\r\n中\nx";
    assert_eq!(TextPoint::at(t, 0), TextPoint { row: 0, column: 0 });
    assert_eq!(TextPoint::at(t, 3), TextPoint { row: 0, column: 3 });
    assert_eq!(TextPoint::at(t, 5), TextPoint { row: 1, column: 0 });
    assert_eq!(TextPoint::at(t, 8), TextPoint { row: 1, column: 3 });
    assert_eq!(TextPoint::at(t, 99), TextPoint { row: 2, column: 1 });
    let p = TextPoint { row: 2, column: 4 };
    assert_eq!(p.after("é"), TextPoint { row: 2, column: 6 });
    assert_eq!(p.after("a\n中\nbc"), TextPoint { row: 4, column: 2 });
    let e = TreeEdit::replace(t, 1, 6, "𝔸\n");
    assert_eq!(e.start, TextPoint { row: 0, column: 1 });
    assert_eq!(e.old_end, TextPoint { row: 1, column: 1 });
    assert_eq!(e.new_end, TextPoint { row: 1, column: 0 });
    assert_eq!((e.old_end_byte, e.new_end_byte), (6, 6));
}
