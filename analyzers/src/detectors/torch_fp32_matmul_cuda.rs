//! GS602 torch-fp32-matmul-cuda: PyTorch FP32 matmuls on a CUDA device in a
//! file that never enables TF32 or a reduced-precision dtype.

use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
use crate::fixes::{self, FixContext, FixResult};
use crate::ir::{BinOp, ElemType, Expr, File, Function, Lang, Stmt, StmtKind};

declare_rule! {
    /// FP32 PyTorch matmul on a CUDA device with TF32 and autocast off.
    ///
    /// **What it finds.** A Python file that puts work on a CUDA device
    /// (`device="cuda"`, `"cuda:0"`, `.cuda()`, `.to("cuda")`,
    /// `torch.device("cuda")`, `torch.cuda.*` calls other than the queries
    /// `is_available`, `get_device_properties`, ...) and multiplies FP32
    /// tensors (`a @ b`, `torch.mm/bmm/matmul/einsum/addmm/baddbmm`,
    /// `x.mm(y)`, `F.linear`, `nn.Linear` modules), but nowhere sets
    /// `torch.backends.cuda.matmul.allow_tf32 = True`,
    /// `torch.set_float32_matmul_precision("high")` / `("medium")`, uses
    /// `torch.autocast` / `torch.cuda.amp.autocast`, or converts to
    /// `.half()` / `.bfloat16()` / `dtype=torch.float16` / `torch.bfloat16`.
    /// One finding per statement holding a matmul.
    ///
    /// **Why it is slow.** Since PyTorch 1.12 `allow_tf32` defaults to
    /// `False` for matmuls (the default float32 matmul precision is
    /// `"highest"`), so every FP32 matmul runs as full FP32 on the CUDA cores.
    /// The tensor cores run the same GEMM in TF32 at several times the FP32
    /// peak (A100 datasheet: 19.5 TFLOPS FP32, 156 TFLOPS TF32, 312 TFLOPS
    /// BF16/FP16).
    ///
    /// **Example.**
    ///
    /// ```python
    /// a = torch.randn(4096, 4096, device="cuda")
    /// b = torch.randn(4096, 4096, device="cuda")
    /// c = a @ b                       # GS602: FP32 on CUDA cores
    /// # instead, once at start-up:
    /// torch.set_float32_matmul_precision("high")     # TF32 tensor cores
    /// # or, for a region:
    /// with torch.autocast("cuda", dtype=torch.bfloat16):
    ///     c = a @ b
    /// ```
    ///
    /// **When the rewrite is safe, and its accuracy cost.** TF32 keeps FP32's
    /// range but rounds matmul inputs to a 10-bit mantissa (FP32 accumulate):
    /// relative error of a product ~1e-3 instead of ~1e-7. That is standard
    /// for training and inference; it is not for code that compares against
    /// FP32 references with tight tolerances or needs FP32-exact linear
    /// algebra. BF16 autocast (7-bit mantissa, ~1e-2) is faster still and
    /// keeps FP32 range; FP16 (10-bit mantissa, small range) may need loss
    /// scaling in training. Not flagged: CPU-only files, files with any of
    /// the settings above, tensors created as FP16/BF16 or known FP64.
    ///
    /// **The project decides, not the file.** A model module's matmuls run
    /// with the settings of the program that imports it: TF32 or autocast
    /// set in the entry point (`train.py` doing `from model import GPT`)
    /// covers `model.py`. Where the caller hands over the project's index
    /// (`check` over a tree, the editor's workspace), a file's findings are
    /// dropped when a module that imports it (directly or through up to
    /// three imports, from its own folder or one above it) turns a setting
    /// on; the findings that stay say which modules were looked at.
    pub struct TorchFp32MatmulCuda {
        code: "GS602",
        name: "torch-fp32-matmul-cuda",
        idiom: Idiom::SlowLibraryCall,
        fix: FixAvailability::Sometimes(
            "`allow_tf32` or bf16 autocast · changes precision · `torch.rs`",
        ),
    }
}

impl Rule for TorchFp32MatmulCuda {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::torch::fix(cx.file, cx.text, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        if cx.file.lang != Lang::Python {
            return;
        }
        let scan = FileScan::of(cx.file);
        if !scan.cuda || scan.setting {
            return;
        }
        for f in &cx.file.functions {
            f.walk(&mut |s| {
                // A statement the front end could not place (recovered from
                // broken syntax: no line) is not reported.
                if s.span.start_line == 0 {
                    return;
                }
                if matches!(
                    s.kind,
                    StmtKind::Loop(_) | StmtKind::If { .. } | StmtKind::Opaque(_)
                ) {
                    return;
                }
                let mut found = Vec::new();
                for e in s.exprs() {
                    collect_matmuls(e, &mut found);
                }
                let found: Vec<MatmulOp> = found
                    .into_iter()
                    .filter(|m| operands_fp32_on_device(f, m))
                    .collect();
                if let Some(first) = found.first() {
                    out.push(finding(cx.file, f, s, first, found.len()));
                }
            });
        }
    }
}

/// What the whole file says about devices and precision settings.
struct FileScan {
    cuda: bool,
    setting: bool,
    /// The first statement's line where `setting` became true.
    setting_line: Option<usize>,
}

/// The first line of a Python file that turns TF32, a reduced precision or
/// autocast on (what [`TorchFp32MatmulCuda`] looks for in the file itself),
/// for the project index.
pub fn precision_line(file: &File) -> Option<usize> {
    if file.lang != Lang::Python {
        return None;
    }
    FileScan::of(file).setting_line
}

/// The module name a Python path is imported as (its file stem).
fn module_of(path: &str) -> Option<&str> {
    let name = path.rsplit(['/', '\\']).next()?;
    name.strip_suffix(".py")
}

/// The folder of a path (`""` at the top).
fn folder_of(path: &str) -> &str {
    path.rfind(['/', '\\']).map_or("", |i| &path[..i])
}

/// Whether `import` (as written in `importer`) names the module at `path`:
/// its last segment is the module's name, and the importer sits in the
/// module's folder or the one above it (a package's entry point).
fn imports(importer: &str, import: &str, path: &str) -> bool {
    let (Some(m), folder) = (module_of(path), folder_of(path)) else {
        return false;
    };
    let last = import.rsplit('.').next().unwrap_or(import);
    if last != m {
        return false;
    }
    let at = folder_of(importer);
    at == folder || folder_of(folder) == at
}

/// How far imports are followed back from the module that runs the matmul.
const IMPORT_DEPTH: usize = 3;

/// GS602 over the project: which of `findings` (those of the file at
/// `path`) stay. Each GS602 finding stays only where no module that imports
/// this one ([`imports`], up to [`IMPORT_DEPTH`] steps) turns a setting on;
/// a kept one's `why` says which modules were looked at. Without a project
/// index nothing is dropped, and `why` says that only this file was read.
pub fn project_scope(
    path: &str,
    findings: &mut [Finding],
    project: Option<&crate::ProjectIndex>,
) -> Vec<bool> {
    let mut keep = vec![true; findings.len()];
    if !findings
        .iter()
        .any(|f| f.code == TorchFp32MatmulCuda::META.code)
    {
        return keep;
    }
    let (looked, setting) = match project {
        None => (Vec::new(), None),
        Some(p) => {
            let mut seen: Vec<String> = vec![path.to_string()];
            let mut frontier: Vec<String> = vec![path.to_string()];
            let mut setting = None;
            for _ in 0..IMPORT_DEPTH {
                let mut next = Vec::new();
                for (q, fi) in p.files() {
                    if seen.iter().any(|s| s == q) {
                        continue;
                    }
                    if fi
                        .imports
                        .iter()
                        .any(|i| frontier.iter().any(|m| imports(q, i, m)))
                    {
                        if setting.is_none() {
                            setting = fi.precision_line.map(|l| (q.to_string(), l));
                        }
                        next.push(q.to_string());
                    }
                }
                seen.extend(next.iter().cloned());
                if next.is_empty() || setting.is_some() {
                    break;
                }
                frontier = next;
            }
            seen.remove(0);
            (seen, setting)
        }
    };
    for (f, k) in findings.iter_mut().zip(keep.iter_mut()) {
        if f.code != TorchFp32MatmulCuda::META.code {
            continue;
        }
        if setting.is_some() {
            *k = false;
            continue;
        }
        f.why.push_str(&match (project, looked.as_slice()) {
            (None, _) => "; only this file was read for a TF32 or autocast setting (a project run also reads the modules that import it)".to_string(),
            (Some(_), []) => "; no module of the project imports this one, and it sets neither TF32 nor autocast".to_string(),
            (Some(_), m) => {
                let names: Vec<&str> = m.iter().map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p)).collect();
                format!(
                    "; neither it nor the modules that import it ({}) set TF32 or autocast",
                    names.join(", ")
                )
            }
        });
    }
    keep
}

fn is_true(e: &Expr) -> bool {
    match e {
        Expr::Var(v) | Expr::Other(v) => v == "True",
        Expr::Int(1) => true,
        _ => false,
    }
}

fn last_seg(func: &str) -> &str {
    func.rsplit('.').next().unwrap_or(func)
}

/// `torch.cuda` calls that ask about the device and run nothing on it:
/// `is_available`, `device_count`, `get_device_properties`,
/// `get_device_name`, `get_device_capability`, `is_bf16_supported`.
fn is_device_query(func: &str) -> bool {
    matches!(
        func,
        "torch.cuda.is_available"
            | "torch.cuda.device_count"
            | "torch.cuda.get_device_properties"
            | "torch.cuda.get_device_name"
            | "torch.cuda.get_device_capability"
            | "torch.cuda.is_bf16_supported"
    )
}

impl FileScan {
    fn of(file: &File) -> FileScan {
        let mut scan = FileScan {
            cuda: false,
            setting: false,
            setting_line: None,
        };
        for f in &file.functions {
            if f.vars
                .values()
                .any(|i| matches!(i.elem, Some(ElemType::F16 | ElemType::Bf16)))
            {
                scan.setting = true;
            }
            f.walk(&mut |s| {
                if let StmtKind::Assign {
                    target: Expr::Var(t),
                    value,
                    ..
                } = &s.kind
                {
                    if t.ends_with("cuda.matmul.allow_tf32") && is_true(value) {
                        scan.setting = true;
                    }
                    if t.ends_with("cuda.matmul.fp32_precision")
                        && matches!(value, Expr::Str(p) if p == "tf32")
                    {
                        scan.setting = true;
                    }
                }
                for e in s.exprs() {
                    // What a device query is asked about
                    // (`get_device_properties(torch.device("cuda"))`) puts
                    // no work there.
                    e.walk_pruned(&mut |x| {
                        scan.expr(x);
                        !matches!(x, Expr::Call { func, .. } if is_device_query(func))
                    });
                }
                if scan.setting && scan.setting_line.is_none() {
                    scan.setting_line = Some(s.span.start_line);
                }
            });
        }
        scan
    }

    fn expr(&mut self, x: &Expr) {
        match x {
            Expr::Str(s) if s == "cuda" || s.starts_with("cuda:") => self.cuda = true,
            Expr::Other(t) if t.contains("\"cuda") || t.contains("'cuda") => self.cuda = true,
            Expr::Var(v) => {
                if matches!(
                    v.as_str(),
                    "torch.float16" | "torch.half" | "torch.bfloat16"
                ) {
                    self.setting = true;
                }
            }
            Expr::Call {
                func, recv, args, ..
            } => {
                let name = last_seg(func);
                if recv.is_some() && name == "cuda" {
                    self.cuda = true;
                }
                if func.starts_with("torch.cuda.") && !is_device_query(func) && name != "autocast" {
                    self.cuda = true;
                }
                if name == "autocast" {
                    self.setting = true;
                }
                if recv.is_some() && matches!(name, "half" | "bfloat16") {
                    self.setting = true;
                }
                if name == "set_float32_matmul_precision"
                    && matches!(args.first(), Some(Expr::Str(p)) if p == "high" || p == "medium")
                {
                    self.setting = true;
                }
            }
            _ => {}
        }
    }
}

/// One matmul-like operation in a statement.
enum MatmulOp {
    /// `a @ b`, `torch.mm(a, b)`, `a.matmul(b)`, `torch.addmm(c, a, b)`.
    Product {
        a: Expr,
        b: Expr,
        how: String,
        batched: bool,
    },
    /// `F.linear(x, W)`: `x @ W.T`.
    Linear { x: Expr, w: Expr },
    /// `torch.einsum(...)` and other contractions with no simple operands.
    Contraction { how: String },
    /// `nn.Linear(in_features, out_features)`: a module whose forward is a GEMM.
    Module {
        in_f: Option<Expr>,
        out_f: Option<Expr>,
    },
}

fn collect_matmuls(e: &Expr, out: &mut Vec<MatmulOp>) {
    e.walk(&mut |x| match x {
        Expr::MatMul(a, b) => out.push(MatmulOp::Product {
            a: a.as_ref().clone(),
            b: b.as_ref().clone(),
            how: "`@` / torch.matmul".into(),
            batched: false,
        }),
        Expr::Call {
            func,
            recv,
            args,
            kwargs,
        } => {
            let name = last_seg(func);
            let arg = |i: usize| args.get(i).cloned();
            match (recv.as_deref(), func.as_str()) {
                (None, "torch.mm" | "torch.matmul" | "torch.bmm") => {
                    if let (Some(a), Some(b)) = (arg(0), arg(1)) {
                        out.push(MatmulOp::Product {
                            a,
                            b,
                            how: func.clone(),
                            batched: name == "bmm",
                        });
                    }
                }
                (None, "torch.addmm" | "torch.baddbmm" | "torch.addbmm") => {
                    if let (Some(a), Some(b)) = (arg(1), arg(2)) {
                        out.push(MatmulOp::Product {
                            a,
                            b,
                            how: func.clone(),
                            batched: name != "addmm",
                        });
                    }
                }
                (None, "F.linear" | "torch.nn.functional.linear" | "nn.functional.linear") => {
                    if let (Some(x), Some(w)) = (arg(0), arg(1)) {
                        out.push(MatmulOp::Linear { x, w });
                    }
                }
                (
                    None,
                    "torch.einsum"
                    | "torch.tensordot"
                    | "torch.chain_matmul"
                    | "torch.linalg.multi_dot",
                ) => out.push(MatmulOp::Contraction { how: func.clone() }),
                (None, "nn.Linear" | "torch.nn.Linear" | "Linear") => {
                    let kw = |k: &str| kwargs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    out.push(MatmulOp::Module {
                        in_f: arg(0).or_else(|| kw("in_features")),
                        out_f: arg(1).or_else(|| kw("out_features")),
                    });
                }
                (Some(r), _) if matches!(name, "mm" | "matmul" | "bmm") => {
                    if let Some(b) = arg(0) {
                        out.push(MatmulOp::Product {
                            a: r.clone(),
                            b,
                            how: format!(".{name}()"),
                            batched: name == "bmm",
                        });
                    }
                }
                (Some(_), _) if matches!(name, "addmm" | "baddbmm") => {
                    if let (Some(a), Some(b)) = (arg(0), arg(1)) {
                        out.push(MatmulOp::Product {
                            a,
                            b,
                            how: format!(".{name}()"),
                            batched: name == "baddbmm",
                        });
                    }
                }
                _ => {}
            }
        }
        _ => {}
    });
}

/// The variable under a transpose, if the operand is a plain (transposed)
/// variable.
fn plain_var(e: &Expr) -> Option<(&str, bool)> {
    match e {
        Expr::Var(v) => Some((v.as_str(), false)),
        Expr::Transpose(inner) => match inner.as_ref() {
            Expr::Var(v) => Some((v.as_str(), true)),
            _ => None,
        },
        _ => None,
    }
}

fn elem(f: &Function, e: &Expr) -> Option<ElemType> {
    let (n, _) = plain_var(e)?;
    f.vars.get(n)?.elem.clone()
}

/// False for operands known not to be FP32 CUDA tensors: NumPy arrays and
/// host copies (`np.*`, `.numpy()`, `.cpu()`), or a known non-FP32 dtype.
fn operands_fp32_on_device(f: &Function, m: &MatmulOp) -> bool {
    let ops: Vec<&Expr> = match m {
        MatmulOp::Product { a, b, .. } => vec![a, b],
        MatmulOp::Linear { x, w } => vec![x, w],
        MatmulOp::Contraction { .. } | MatmulOp::Module { .. } => return true,
    };
    for e in ops {
        let mut host = false;
        e.walk(&mut |x| match x {
            Expr::Call { func, recv, .. }
                if func.starts_with("np.")
                    || func.starts_with("numpy.")
                    || (recv.is_some() && matches!(func.as_str(), "numpy" | "cpu")) =>
            {
                host = true
            }
            Expr::Var(v) if v.starts_with("np.") => host = true,
            _ => {}
        });
        if host {
            return false;
        }
        if let Some(t) = elem(f, e) {
            if t != ElemType::F32 {
                return false;
            }
        }
    }
    true
}

fn dim(file: &File, e: &Expr) -> Dim {
    Dim::of(file, e)
}

/// The declared shape of a (transposed) variable, last two axes swapped for
/// a transpose.
fn shape(f: &Function, e: &Expr) -> Option<Vec<Expr>> {
    let (n, t) = plain_var(e)?;
    let info = f.vars.get(n)?;
    if info.shape.is_empty() {
        return None;
    }
    let mut s = info.shape.clone();
    if t && s.len() >= 2 {
        let l = s.len();
        s.swap(l - 1, l - 2);
    }
    Some(s)
}

fn layout(role: &str, e: &Expr, major_if_plain: Major) -> OperandLayout {
    let (name, transposed) = match plain_var(e) {
        Some((n, t)) => (n.to_string(), t),
        None => (e.to_string(), false),
    };
    let flip = |m: Major| match m {
        Major::Row => Major::Col,
        Major::Col => Major::Row,
    };
    OperandLayout {
        role: role.into(),
        name,
        major: if transposed {
            flip(major_if_plain)
        } else {
            major_if_plain
        },
        ld: None,
        jagged: false,
    }
}

fn finding(file: &File, f: &Function, s: &Stmt, m: &MatmulOp, count: usize) -> Finding {
    let mut dims = Dims::default();
    let mut layouts = Vec::new();
    let mut dtype = None;
    let mut routine = Routine::Gemm;
    let mut confidence: f32 = 0.65;
    let what = match m {
        MatmulOp::Product { a, b, how, batched } => {
            let (sa, sb) = (shape(f, a), shape(f, b));
            if let Some(sa) = &sa {
                if sa.len() >= 2 {
                    dims.m = Some(dim(file, &sa[sa.len() - 2]));
                }
                dims.k = sa.last().map(|e| dim(file, e));
                if sa.len() > 2 {
                    let lead = sa[..sa.len() - 2]
                        .iter()
                        .cloned()
                        .reduce(|x, y| Expr::bin(BinOp::Mul, x, y))
                        .expect("non-empty");
                    dims.batch = Some(dim(file, &lead));
                }
            }
            if let Some(sb) = &sb {
                if sb.len() >= 2 {
                    dims.n = sb.last().map(|e| dim(file, e));
                    if dims.k.is_none() {
                        dims.k = Some(dim(file, &sb[sb.len() - 2]));
                    }
                }
            }
            if *batched || dims.batch.is_some() {
                routine = Routine::GemmBatched;
            }
            layouts.push(layout("A", a, Major::Row));
            layouts.push(layout("B", b, Major::Row));
            dtype = elem(f, a).or_else(|| elem(f, b));
            format!("{how} `{a} @ {b}`")
        }
        MatmulOp::Linear { x, w } => {
            if let Some(sx) = shape(f, x).filter(|s| s.len() >= 2) {
                dims.m = Some(dim(file, &sx[sx.len() - 2]));
            }
            if let Some(sw) = shape(f, w).filter(|s| s.len() == 2) {
                dims.n = Some(dim(file, &sw[0]));
                dims.k = Some(dim(file, &sw[1]));
            }
            layouts.push(layout("A", x, Major::Row));
            // x @ W.T: W (N×K, row-major) is B (K×N) column-major.
            layouts.push(layout("B", w, Major::Col));
            dtype = elem(f, x).or_else(|| elem(f, w));
            format!("`F.linear({x}, {w})`")
        }
        MatmulOp::Contraction { how } => format!("`{how}`"),
        MatmulOp::Module { in_f, out_f } => {
            dims.k = in_f.as_ref().map(|e| dim(file, e));
            dims.n = out_f.as_ref().map(|e| dim(file, e));
            confidence = 0.75;
            "an `nn.Linear` module (its forward is x @ Wᵀ with an FP32 weight)".to_string()
        }
    };
    if dtype == Some(ElemType::F32) {
        confidence = 0.85;
    }
    let assumed = dtype.is_none();
    let dtype = dtype.or(Some(ElemType::F32));
    let dims_txt = if dims == Dims::default() {
        String::new()
    } else {
        format!(" {}", dims.display())
    };
    let why = format!(
        "{what} in a file that uses a CUDA device and never enables TF32, autocast or FP16/BF16{}{}",
        if assumed {
            " (dtype assumed float32, PyTorch's default)"
        } else {
            ""
        },
        if count > 1 {
            format!("; {count} matmuls in this statement")
        } else {
            String::new()
        }
    );
    let message = format!(
        "FP32 matmul on CUDA{dims_txt} f32 runs on the CUDA cores (matmul TF32 is off by default since \
         PyTorch 1.12): set `torch.backends.cuda.matmul.allow_tf32 = True` or \
         `torch.set_float32_matmul_precision(\"high\")` for TF32 tensor cores (10-bit mantissa: \
         relative error ~1e-3 instead of ~1e-7), or use `torch.autocast(\"cuda\", \
         dtype=torch.bfloat16)` (BF16 inputs, FP32 accumulate, ~1e-2)"
    );
    Finding {
        code: TorchFp32MatmulCuda::META.code,
        rule: TorchFp32MatmulCuda::META.name,
        idiom: Idiom::SlowLibraryCall,
        routine,
        backend: Backend::PythonLibrary,
        range: s.span,
        key_range: s.span,
        function: Some(f.name.clone()),
        dims,
        dtype,
        layouts,
        loop_order: None,
        alpha: None,
        beta: None,
        confidence,
        why,
        message,
        purpose: None,
        parallel: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil_lib::*;
    use crate::ir::{FnKind, VarInfo};

    const CONSTS: &[(&str, i64)] = &[("N", 4096)];

    fn cuda_randn(line: usize, name: &str) -> Stmt {
        let_(
            line,
            name,
            kcall(
                "torch.randn",
                vec![v("N"), v("N")],
                vec![("device", s("cuda"))],
            ),
        )
    }

    fn ab_vars() -> Vec<(&'static str, VarInfo)> {
        vec![
            ("a", nd(Some(ElemType::F32), vec![v("N"), v("N")])),
            ("b", nd(Some(ElemType::F32), vec![v("N"), v("N")])),
        ]
    }

    fn run602(fns: Vec<Function>) -> Vec<Finding> {
        run(&TorchFp32MatmulCuda, &file(Lang::Python, fns, CONSTS), "")
    }

    fn base_body() -> Vec<Stmt> {
        vec![
            cuda_randn(2, "a"),
            cuda_randn(3, "b"),
            let_(4, "c", mm(v("a"), v("b"))),
        ]
    }

    #[test]
    fn fp32_matmul_on_cuda_is_flagged() {
        let got = run602(vec![module(ab_vars(), base_body())]);
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.code, "GS602");
        assert_eq!(g.rule, "torch-fp32-matmul-cuda");
        assert_eq!(g.idiom, Idiom::SlowLibraryCall);
        assert_eq!(g.routine, Routine::Gemm);
        assert_eq!(g.backend, Backend::PythonLibrary);
        assert_eq!(g.range.start_line, 4);
        assert_eq!(g.key_range, g.range);
        assert_eq!(dims_str(g), "4096x4096x4096");
        assert_eq!(g.dtype, Some(ElemType::F32));
        assert_eq!(g.function.as_deref(), Some("<module>"));
        assert!(g.confidence >= 0.8);
        assert!(g.message.contains("allow_tf32"));
        assert!(g.message.contains("1e-3"));
        assert_eq!(g.layouts.len(), 2);
    }

    #[test]
    fn every_cuda_spelling_counts() {
        let spellings: Vec<Stmt> = vec![
            let_(2, "x", method(v("x"), "cuda", vec![])),
            let_(2, "x", method(v("x"), "to", vec![s("cuda")])),
            let_(2, "dev", call("torch.device", vec![s("cuda:0")])),
            let_(
                2,
                "dev",
                call(
                    "torch.device",
                    vec![Expr::Other(
                        "\"cuda\" if torch.cuda.is_available() else \"cpu\"".into(),
                    )],
                ),
            ),
            expr(2, call("torch.cuda.synchronize", vec![])),
        ];
        for sp in spellings {
            let body = vec![sp.clone(), let_(4, "c", mm(v("a"), v("b")))];
            let got = run602(vec![module(ab_vars(), body)]);
            assert_eq!(got.len(), 1, "{sp:?}: {got:#?}");
        }
    }

    #[test]
    fn torch_calls_linear_and_modules_in_methods() {
        // class Net(nn.Module):
        //   def __init__(self): self.fc = nn.Linear(512, 256)
        //   def forward(self, x): h = F.linear(x, self.w); y = torch.bmm(q, k); z = torch.einsum(...)
        // model = Net().cuda()
        let init = func(
            "Net.__init__",
            FnKind::Python,
            vec![],
            vec![set(
                3,
                v("self.fc"),
                call("nn.Linear", vec![int(512), int(256)]),
            )],
        );
        let fwd = func(
            "Net.forward",
            FnKind::Python,
            vec![
                ("x", nd(None, vec![v("B"), int(512)])),
                ("q", nd_rank(Some(ElemType::F32), 3)),
            ],
            vec![
                let_(6, "h", call("F.linear", vec![v("x"), v("self.w")])),
                let_(7, "y", call("torch.bmm", vec![v("q"), v("k")])),
                let_(
                    8,
                    "z",
                    call("torch.einsum", vec![s("ij,jk->ik"), v("h"), v("w2")]),
                ),
                let_(9, "u", method(v("h"), "relu", vec![])),
                ret(10, method(v("h"), "matmul", vec![v("w3")])),
            ],
        );
        let m = module(
            vec![],
            vec![let_(
                12,
                "model",
                method(call("Net", vec![]), "cuda", vec![]),
            )],
        );
        let got = run602(vec![init, fwd, m]);
        let lines: Vec<usize> = got.iter().map(|g| g.range.start_line).collect();
        assert_eq!(lines, vec![3, 6, 7, 8, 10], "{got:#?}");
        assert_eq!(dims_str(&got[0]), "x256x512");
        assert_eq!(got[0].function.as_deref(), Some("Net.__init__"));
        assert_eq!(got[1].layouts[1].major, Major::Col);
        assert_eq!(got[1].dims.m.as_ref().unwrap().expr, "B");
        assert!(got[1].why.contains("assumed float32"));
        assert_eq!(got[2].routine, Routine::GemmBatched);
    }

    #[test]
    fn cpu_only_file_is_not_flagged() {
        let body = vec![
            let_(2, "a", call("torch.randn", vec![v("N"), v("N")])),
            let_(3, "b", call("torch.randn", vec![v("N"), v("N")])),
            let_(4, "c", mm(v("a"), v("b"))),
            expr(5, call("torch.cuda.is_available", vec![])),
        ];
        assert!(run602(vec![module(ab_vars(), body)]).is_empty());
        // Asking about the device, even naming it, runs nothing there.
        let query = |func: &str| {
            vec![
                let_(4, "c", mm(v("a"), v("b"))),
                expr(5, call(func, vec![call("torch.device", vec![s("cuda")])])),
            ]
        };
        assert!(run602(vec![module(
            ab_vars(),
            query("torch.cuda.get_device_properties")
        )])
        .is_empty());
        assert_eq!(
            run602(vec![module(ab_vars(), query("torch.cuda.set_device"))]).len(),
            1
        );
    }

    #[test]
    fn any_setting_silences_the_file() {
        let settings: Vec<Stmt> = vec![
            set(1, v("torch.backends.cuda.matmul.allow_tf32"), v("True")),
            expr(
                1,
                call("torch.set_float32_matmul_precision", vec![s("high")]),
            ),
            expr(
                1,
                call("torch.set_float32_matmul_precision", vec![s("medium")]),
            ),
            // `with torch.autocast("cuda", dtype=torch.bfloat16):` header
            expr(
                1,
                kcall(
                    "torch.autocast",
                    vec![s("cuda")],
                    vec![("dtype", v("torch.bfloat16"))],
                ),
            ),
            expr(1, call("torch.cuda.amp.autocast", vec![])),
            let_(1, "m", method(v("m"), "half", vec![])),
            let_(1, "m", method(v("m"), "bfloat16", vec![])),
            let_(
                1,
                "w",
                kcall(
                    "torch.zeros",
                    vec![int(8)],
                    vec![("dtype", v("torch.float16"))],
                ),
            ),
        ];
        for st in settings {
            let mut body = vec![st.clone()];
            body.extend(base_body());
            assert!(
                run602(vec![module(ab_vars(), body)]).is_empty(),
                "{st:?} should silence the rule"
            );
        }
        // "highest" and allow_tf32 = False are not settings that help.
        for st in [
            expr(
                1,
                call("torch.set_float32_matmul_precision", vec![s("highest")]),
            ),
            set(1, v("torch.backends.cuda.matmul.allow_tf32"), v("False")),
        ] {
            let mut body = vec![st];
            body.extend(base_body());
            assert_eq!(run602(vec![module(ab_vars(), body)]).len(), 1);
        }
    }

    #[test]
    fn half_and_double_tensors_are_not_flagged() {
        let half = vec![
            ("a", nd(Some(ElemType::F16), vec![v("N"), v("N")])),
            ("b", nd(Some(ElemType::F16), vec![v("N"), v("N")])),
        ];
        assert!(run602(vec![module(half, base_body())]).is_empty());
        let double = vec![
            ("a", nd(Some(ElemType::F64), vec![v("N"), v("N")])),
            ("b", nd(Some(ElemType::F64), vec![v("N"), v("N")])),
        ];
        assert!(run602(vec![module(double, base_body())]).is_empty());
    }

    #[test]
    fn host_side_numpy_check_is_not_flagged() {
        // ref = a.cpu().numpy() @ b.cpu().numpy()
        let body = vec![
            cuda_randn(2, "a"),
            let_(
                5,
                "ref",
                mm(
                    method(method(v("a"), "cpu", vec![]), "numpy", vec![]),
                    call("np.asarray", vec![v("b")]),
                ),
            ),
        ];
        assert!(run602(vec![module(ab_vars(), body)]).is_empty());
    }

    #[test]
    fn transposed_operand_dims_and_layout() {
        let vars = vec![
            ("x", nd(Some(ElemType::F32), vec![v("M"), v("K")])),
            ("w", nd(Some(ElemType::F32), vec![v("P"), v("K")])),
        ];
        let body = vec![
            let_(2, "x", method(v("x"), "cuda", vec![])),
            let_(3, "y", mm(v("x"), tr(v("w")))),
        ];
        let got = run(
            &TorchFp32MatmulCuda,
            &file(
                Lang::Python,
                vec![module(vars, body)],
                &[("M", 64), ("K", 128), ("P", 32)],
            ),
            "",
        );
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(dims_str(&got[0]), "64x32x128");
        assert_eq!(got[0].layouts[1].name, "w");
        assert_eq!(got[0].layouts[1].major, Major::Col);
    }
}
