//! `Finding`: what a detector reports. Plain data, serialisable, with no
//! tree-sitter or LSP types in it; the server and the CLI present it, the
//! microbench turns it into a problem to measure.

use serde::Serialize;

use crate::ir::{ElemType, Span};

/// A rule's metadata: stable code, name, idiom family, documentation (the
/// doc comment of the rule's struct) and what its quick fix does. A
/// [`Finding`] carries the first three.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub idiom: Idiom,
    /// The rule's doc comment, as Markdown.
    pub doc: &'static str,
    pub fix: FixAvailability,
}

impl RuleMeta {
    /// The first line of the doc comment.
    pub fn summary(&self) -> &'static str {
        self.doc
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

/// Whether a rule's findings come with a quick fix (ruff's
/// `FixAvailability`), with the text of docs/rules.md's quick-fix column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixAvailability {
    /// Never: why not.
    None(&'static str),
    /// Where the rewrite is exact for what the analysis proved (else the
    /// fix says why not): what the rewrite is, its applicability and file.
    Sometimes(&'static str),
}

impl FixAvailability {
    /// The quick-fix column of docs/rules.md.
    pub fn column(&self) -> String {
        match self {
            FixAvailability::None(why) => format!("none ({why})"),
            FixAvailability::Sometimes(what) => what.to_string(),
        }
    }
}

/// The idiom family (the JSON field `idiom`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Idiom {
    Gemm,
    Gemv,
    Conv,
    Attention,
    SlowLibraryCall,
}

impl Idiom {
    pub fn as_str(self) -> &'static str {
        match self {
            Idiom::Gemm => "gemm",
            Idiom::Gemv => "gemv",
            Idiom::Conv => "conv",
            Idiom::Attention => "attention",
            Idiom::SlowLibraryCall => "slow-library-call",
        }
    }
}

/// The BLAS-style routine that does the same work (the JSON field `routine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Routine {
    Gemm,
    GemmBatched,
    Syrk,
    Syr2k,
    Symm,
    Trmm,
    Gemv,
    /// Direct convolution (im2col + GEMM, cuDNN, `torch.nn.functional.conv2d`).
    Conv,
    /// Scaled dot-product attention.
    Sdpa,
}

impl Routine {
    pub fn as_str(self) -> &'static str {
        match self {
            Routine::Gemm => "gemm",
            Routine::GemmBatched => "gemm_batched",
            Routine::Syrk => "syrk",
            Routine::Syr2k => "syr2k",
            Routine::Symm => "symm",
            Routine::Trmm => "trmm",
            Routine::Gemv => "gemv",
            Routine::Conv => "conv",
            Routine::Sdpa => "sdpa",
        }
    }
}

/// One problem dimension: as written and, where it is known, its value and
/// where the value came from ([`SizeSource`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dim {
    /// The symbolic extent as written (`N`, `len(A)`, `M - 1`, `1024`).
    pub expr: String,
    /// The value where the code, the project or the user gives it (a
    /// literal, `#define N 1024`, a module-level constant, a call site, an
    /// annotation, the configuration's `[sizes]`).
    pub value: Option<u64>,
    /// Where `value` came from (absent when there is no value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SizeSource>,
    /// Other values the call sites give (the value is the dominant one:
    /// the most frequent, else the largest), smallest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<u64>,
    /// The extent as an expression, for the size inference
    /// (`crate::sizes`); not serialised.
    #[serde(skip)]
    pub(crate) sym: Option<crate::sizes::Sym>,
}

impl Dim {
    /// A dim as a detector makes it: its expression and its value from the
    /// file alone (literals and constants; `crate::sizes` says where from
    /// and fills in what the call sites and the user give).
    pub(crate) fn of(file: &crate::ir::File, e: &crate::ir::Expr) -> Dim {
        Dim {
            expr: e.to_string(),
            value: file.eval(e).and_then(|v| u64::try_from(v).ok()),
            source: None,
            others: Vec::new(),
            sym: Some(crate::sizes::Sym(e.clone())),
        }
    }

    /// A dim with no source (tests; callers that assume a size).
    pub fn new(expr: &str, value: Option<u64>) -> Dim {
        Dim {
            expr: expr.to_string(),
            value,
            ..Dim::default()
        }
    }

    /// A dim with a known value and source (tests, callers that assume).
    pub fn known(expr: &str, value: u64, source: SizeSource) -> Dim {
        Dim {
            expr: expr.to_string(),
            value: Some(value),
            source: Some(source),
            ..Dim::default()
        }
    }

    pub fn display(&self) -> String {
        match self.value {
            Some(v) => v.to_string(),
            None => self.expr.clone(),
        }
    }

    /// `1000 (NI, gemm.h:38, through the call in `main`, gemm.c:121)`:
    /// the value with where it came from; the expression where unknown.
    pub fn provenance(&self) -> String {
        match (self.value, &self.source) {
            (Some(v), Some(s)) => {
                let mut out = format!("{v} ({})", s.describe(&self.expr));
                if !self.others.is_empty() {
                    let o: Vec<String> = self.others.iter().map(u64::to_string).collect();
                    out.push_str(&format!(" [other call sites: {}]", o.join(", ")));
                }
                out
            }
            (Some(v), None) => v.to_string(),
            (None, _) => format!("{} (unknown)", self.expr),
        }
    }
}

/// Where a dim's value came from, most certain first. The JSON field
/// `source` of a dim (docs/json-output.md): `{"kind": "constant", ...}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SizeSource {
    /// A literal in the code (`i < 1024`).
    Literal,
    /// A macro or named constant (`#define NI 1000`, `const int N = 64;`,
    /// Python `N = 1024`), with where it is defined when known (a header
    /// reached through `#include`, or the command line's `-D`).
    Constant {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
    },
    /// A local initialised once (`int n = 512;`).
    Local { name: String, line: usize },
    /// The call sites of the enclosing function: the argument for
    /// parameter `param` is this constant at `sites` of the `total` sites
    /// that pass it (at least half of which give a constant); `file:line`
    /// is the first of them, in `caller`. `via`: what gave that argument
    /// its value.
    CallSite {
        callee: String,
        param: String,
        caller: String,
        file: String,
        line: usize,
        sites: usize,
        total: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<Box<SizeSource>>,
    },
    /// The declared extents of the array a call site passes
    /// (`a = np.zeros((512, 256))`, `float a[M][K]`); `via`: what gave the
    /// extent its value.
    Shape {
        array: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<Box<SizeSource>>,
    },
    /// The allocation of the buffer passed for an operand (`malloc(M*K*
    /// sizeof(float))`, `new float[n*n]`, `cudaMalloc(&dA, bytes)`) at
    /// `file:line`: its element count divided by the operand's other, known
    /// dim, or its square root for a square operand; `via`: what gave the
    /// count its value.
    Allocation {
        array: String,
        file: String,
        line: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        via: Option<Box<SizeSource>>,
    },
    /// A configured default that the program may override when it runs:
    /// a config class's attribute (`n_embd: int = 768` in `GPTConfig`,
    /// `name` `GPTConfig.n_embd`), an argparse option's `default=` (`name`
    /// `--n`), at `line`; or a local initialised to a constant and set
    /// again only under an `if` (from the command line, say), first at
    /// `overridden`.
    Default {
        name: String,
        line: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        overridden: Option<usize>,
    },
    /// The user's `gemmscope: size NAME=VALUE` comment at `line`.
    Annotation { name: String, line: usize },
    /// The configuration's `[sizes.FUNCTION]` table.
    Config { function: String, name: String },
}

impl SizeSource {
    /// How certain, low to high: the source of a dim made of several names
    /// is its least certain ingredient's (the user's word counts as most
    /// certain: it overrides the rest).
    pub(crate) fn rank(&self) -> u8 {
        match self {
            SizeSource::Literal => 0,
            SizeSource::Constant { .. } => 1,
            SizeSource::Local { .. } | SizeSource::Shape { .. } => 2,
            SizeSource::CallSite { .. }
            | SizeSource::Allocation { .. }
            | SizeSource::Default { .. } => 3,
            SizeSource::Config { .. } => 4,
            SizeSource::Annotation { .. } => 5,
        }
    }

    /// The short kind (`literal`, `constant`, `local`, `call-site`,
    /// `annotation`, `config`).
    pub fn kind(&self) -> &'static str {
        match self {
            SizeSource::Literal => "literal",
            SizeSource::Constant { .. } => "constant",
            SizeSource::Local { .. } => "local",
            SizeSource::Shape { .. } => "shape",
            SizeSource::CallSite { .. } => "call-site",
            SizeSource::Allocation { .. } => "allocation",
            SizeSource::Default { .. } => "default",
            SizeSource::Annotation { .. } => "annotation",
            SizeSource::Config { .. } => "config",
        }
    }

    /// One phrase for people: `NI, gemm.h:38`, `ni at the call
    /// kernel_gemm(…) in `main`, gemm.c:121; NI, gemm.h:38`.
    pub fn describe(&self, expr: &str) -> String {
        match self {
            SizeSource::Literal => "literal".into(),
            SizeSource::Constant { name, file, line } => match (file, line) {
                (Some(f), Some(l)) => format!("{name}, {f}:{l}"),
                (Some(f), None) => format!("{name}, {f}"),
                _ => format!("constant {name}"),
            },
            SizeSource::Local { name, line } => format!("local {name}, line {line}"),
            SizeSource::Shape { array, via } => match via {
                Some(v) => format!("the shape of {array}; {}", v.describe(array)),
                None => format!("the shape of {array}"),
            },
            SizeSource::CallSite {
                callee,
                param,
                caller,
                file,
                line,
                sites,
                total,
                via,
            } => {
                let _ = expr;
                let launch = param.starts_with("gridDim.") || param.starts_with("blockDim.");
                let mut s = if launch {
                    format!("{param} of the launch {callee}<<<…>>> in `{caller}`, {file}:{line}")
                } else {
                    format!("{param} at the call {callee}(…) in `{caller}`, {file}:{line}")
                };
                if *total > 1 {
                    s.push_str(&format!("; {sites} of {total} call sites"));
                }
                if let Some(v) = via {
                    s.push_str(&format!("; {}", v.describe(param)));
                }
                s
            }
            SizeSource::Allocation {
                array,
                file,
                line,
                via,
            } => match via {
                Some(v) => format!(
                    "the allocation of {array}, {file}:{line}; {}",
                    v.describe(array)
                ),
                None => format!("the allocation of {array}, {file}:{line}"),
            },
            SizeSource::Default {
                name,
                line,
                overridden: Some(at),
            } => format!(
                "default of {name}, line {line} (set otherwise under the `if` at line {at})"
            ),
            SizeSource::Default { name, line, .. } if name.starts_with("--") => {
                format!("argparse default {name}, line {line}")
            }
            SizeSource::Default { name, line, .. } => {
                format!("config default {name}, line {line}")
            }
            SizeSource::Annotation { name, line } => {
                format!("{name}: `gemmscope: size` comment, line {line}")
            }
            SizeSource::Config { function, name } => {
                format!("{name}: [sizes.{function}] in the configuration")
            }
        }
    }
}

/// The problem's dimensions. For GEMM-like routines C is M×N, A is M×K, B is
/// K×N; for GEMV y is M, A is M×K (N is absent); for attention M is the query
/// length, N the key length and K the head dimension; for a convolution the
/// im2col GEMM: M = output pixels, N = output channels, K = input channels ×
/// filter size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dims {
    pub m: Option<Dim>,
    pub n: Option<Dim>,
    pub k: Option<Dim>,
    pub batch: Option<Dim>,
}

impl Dims {
    /// `1024×1024×1024`, `M×N×K`, `batch 8 × 64×64×64`.
    pub fn display(&self) -> String {
        let parts: Vec<String> = [&self.m, &self.n, &self.k]
            .iter()
            .filter_map(|d| d.as_ref().map(Dim::display))
            .collect();
        let core = parts.join("×");
        match &self.batch {
            Some(b) => format!("{}×({core})", b.display()),
            None => core,
        }
    }
}

/// Storage order of one operand, relative to its logical role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Major {
    Row,
    Col,
}

/// How one operand is laid out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperandLayout {
    /// The operand's role: `C`, `A`, `B` (GEMM), `y`, `A`, `x` (GEMV).
    pub role: String,
    /// The array as named in the source (`A`, `self.w`, `d_B`).
    pub name: String,
    /// Row-major: the second logical index is contiguous. For `A` (M×K) a
    /// col-major layout is BLAS's transposed operand.
    pub major: Major,
    /// The leading dimension (the stride of the non-contiguous index), where
    /// the access is flattened (`A[i*lda + k]` → `lda`).
    pub ld: Option<String>,
    /// True for an access through `T**` / nested lists / `vector<vector<T>>`
    /// (rows are separate allocations, so no single leading dimension).
    pub jagged: bool,
}

/// Where the detected code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Compiled host code (C, C++).
    Cpu,
    /// A CUDA kernel on the GPU.
    CudaKernel,
    /// Interpreted Python loops.
    PythonLoop,
    /// NumPy / PyTorch calls.
    PythonLibrary,
    /// A cuBLAS call from host code.
    Cublas,
}

/// One detected idiom.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule code (`GS101`).
    pub code: &'static str,
    /// The rule's kebab-case name (`gemm-loop-nest`).
    pub rule: &'static str,
    pub idiom: Idiom,
    pub routine: Routine,
    pub backend: Backend,
    /// The whole nest (or kernel, or call).
    pub range: Span,
    /// The key statement (the multiply-accumulate, or the call).
    pub key_range: Span,
    /// The enclosing function, kernel or `Class.method`.
    pub function: Option<String>,
    pub dims: Dims,
    pub dtype: Option<ElemType>,
    pub layouts: Vec<OperandLayout>,
    /// Loop order outer to inner in role letters (`ijk`, `ikj`, ...), or
    /// `thread-per-output` / `tiled` for CUDA kernels.
    pub loop_order: Option<String>,
    /// Scaling seen in the nest (`alpha`, `beta`), as written.
    pub alpha: Option<String>,
    pub beta: Option<String>,
    /// 0..1: how sure the detector is that this is the idiom.
    pub confidence: f32,
    /// One line: why this was recognised.
    pub why: String,
    /// The headline message.
    pub message: String,
    /// What the code is for, where that makes the finding less urgent: a
    /// CPU reference that checks a GPU or library result, or hand-written
    /// attention in the fallback branch beside a fused kernel (`purpose.rs`).
    /// Reported at note level with this reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// How the code as written runs in parallel, where it says so: the
    /// OpenMP directive on the nest (`#pragma omp parallel for`, line 80;
    /// `openmp.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel: Option<String>,
}

impl Finding {
    /// Replaces the Python front end's synthetic names (see
    /// `frontend/python.rs`) in the texts shown to people by what they stand
    /// for: the index of `for row in A` (`__i_row`) and of `zip` / `_`
    /// clauses (`__k`) by its letter, a `sum(...)` accumulator (`__acc1`) by
    /// `sum`, a comprehension's result (`__comp1`) by `result`.
    pub fn readable_names(&mut self) {
        self.why = readable(&self.why);
        self.message = readable(&self.message);
        for l in &mut self.layouts {
            l.name = readable(&l.name);
        }
        for s in [&mut self.alpha, &mut self.beta].into_iter().flatten() {
            *s = readable(s);
        }
    }
}

/// `s` with each synthetic identifier replaced (see
/// [`Finding::readable_names`]); dunder names (`__init__`) are left alone.
pub fn readable(s: &str) -> String {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if !ident(b[i]) {
            let ch = s[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let start = i;
        while i < b.len() && ident(b[i]) {
            i += 1;
        }
        let word = &s[start..i];
        // `self.__w` is a user's private attribute, not a synthetic name.
        let attribute = start > 0 && b[start - 1] == b'.';
        match synthetic(word).filter(|_| !attribute) {
            Some(r) => out.push_str(&r),
            None => out.push_str(word),
        }
    }
    out
}

fn synthetic(word: &str) -> Option<String> {
    let rest = word.strip_prefix("__")?;
    if rest.is_empty() || rest.ends_with("__") {
        return None;
    }
    let numbered = |p: &str| {
        rest.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    };
    if numbered("acc") {
        return Some("sum".into());
    }
    if numbered("comp") {
        return Some("result".into());
    }
    // Axis `d` of a NumPy window summed in one call
    // (`frontend/python/window.rs`): `__win3_1` → `ax1`.
    if let Some((n, d)) = rest.strip_prefix("win").and_then(|r| r.split_once('_')) {
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
        if digits(n) && digits(d) {
            return Some(format!("ax{d}"));
        }
    }
    // An x86 vector's lane loop and a rolled unroll loop
    // (`normalize/simd.rs`), numbered so that two of them stay apart.
    for (p, short) in [("vlane", "lane"), ("unroll", "u")] {
        if numbered(p) {
            return Some(format!("{short}{}", &rest[p.len()..]));
        }
    }
    // A CUDA vector's lane loop (`normalize/lanes.rs`).
    if numbered("lane") {
        return Some("lane".into());
    }
    // `__<l>` or `__<l>_<name>`, `<l>` a letter or `d<depth>`.
    let letter = rest.split('_').next().unwrap_or("");
    let is_letter = (letter.len() == 1 && letter.bytes().all(|c| c.is_ascii_lowercase()))
        || (letter.len() > 1
            && letter.starts_with('d')
            && letter[1..].bytes().all(|c| c.is_ascii_digit()));
    if is_letter && (rest.len() == letter.len() || rest.as_bytes()[letter.len()] == b'_') {
        return Some(letter.to_string());
    }
    None
}

#[cfg(test)]
mod readable_tests {
    use super::readable;

    #[test]
    fn synthetic_names_become_what_they_stand_for() {
        assert_eq!(
            readable(
                "__acc1 += A[__i_row][__k]*B[__k][__j_col]; __comp1[__i_row][__j_col] = __acc1"
            ),
            "sum += A[i][k]*B[k][j]; result[i][j] = sum"
        );
        assert_eq!(readable("x[__d12_v] + __m"), "x[d12] + m");
        // Left alone: dunders, user names, C identifiers, non-ASCII text.
        assert_eq!(
            readable("self.__init__(a_b) __global__ ×"),
            "self.__init__(a_b) __global__ ×"
        );
        assert_eq!(
            readable("__gs_unnamed0 __accx __Big"),
            "__gs_unnamed0 __accx __Big"
        );
        assert_eq!(readable("self.__w[__i_r]"), "self.__w[i]");
        assert_eq!(readable("x[c][__win2_1]"), "x[c][ax1]");
        assert_eq!(readable("r[__unroll5][__vlane10]"), "r[u5][lane10]");
    }
}
