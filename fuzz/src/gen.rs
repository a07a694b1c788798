//! A structure-aware input generator: `arbitrary` builds a small program
//! tree (loop nests, GEMM-shaped nests in any loop order, constants from
//! tiny to overflowing, deep bracket nesting, unterminated constructs) that
//! is rendered as C, CUDA or Python, then optionally spliced into a corpus
//! file together with invalid UTF-8.

use std::fmt::Write as _;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use gemmscope_analyzers::Lang;

/// Names the generator uses: the usual GEMM names (so detectors fire),
/// names that collide with keywords of the other language, and non-ASCII
/// ones (byte and UTF-16 offsets differ).
const NAMES: &[&str] = &[
    "M",
    "N",
    "K",
    "i",
    "j",
    "k",
    "A",
    "B",
    "C",
    "n",
    "lda",
    "x",
    "sum",
    "tmp",
    "row",
    "col",
    "batch",
    "b",
    "alpha",
    "beta",
    "np",
    "torch",
    "self",
    "float",
    "range",
    "len",
    "é",
    "𝔸",
    "_",
    "l0ng_name_with_digits_123",
];

#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Name(u8);

impl Name {
    fn s(self) -> &'static str {
        NAMES[self.0 as usize % NAMES.len()]
    }
}

#[derive(Arbitrary, Debug)]
pub enum Num {
    Small(u8),
    Huge(u64),
    Negative(i64),
    /// A literal longer than any integer type.
    Overflowing(u8),
    Float(f64),
    Hex(u64),
    WithSuffix(u16),
    Bin(Box<Num>, BinOp, Box<Num>),
    Name(Name),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Shl,
    Shr,
}

impl BinOp {
    fn s(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Index {
    Var(Name),
    Plus(Name, Num),
    Times(Name, Num),
    Flat(Name, Name, Name),
    Lit(Num),
}

#[derive(Arbitrary, Debug)]
pub enum Access {
    Two(Name, Index, Index),
    One(Name, Index),
    Ptr(Name, Index),
    Field(Name, Name, Index),
}

#[derive(Arbitrary, Debug)]
pub enum Expr {
    Num(Num),
    Access(Access),
    Bin(Box<Expr>, BinOp, Box<Expr>),
    Call(Name, Vec<Expr>),
    MatMul(Name, Name),
    Paren(Box<Expr>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum AssignOp {
    Set,
    Add,
    Mul,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Bracket {
    Brace,
    Paren,
    Square,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Unterminated {
    String,
    Comment,
    Brace,
    Paren,
    Macro,
    TripleQuote,
    Preproc,
}

/// A GEMM-shaped nest: three loops in some order over M, N, K with a
/// multiply-accumulate, as the detectors expect it.
#[derive(Arbitrary, Debug)]
pub struct Gemm {
    pub order: u8,
    pub dims: [Num; 3],
    pub trans_a: bool,
    pub trans_b: bool,
    pub flat: bool,
    pub scalar_acc: bool,
}

#[derive(Arbitrary, Debug)]
pub enum Stmt {
    For {
        var: Name,
        start: Num,
        end: Num,
        step: Option<Num>,
        body: Vec<Stmt>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    Assign(Access, AssignOp, Expr),
    Decl(Name, Expr),
    If(Expr, Vec<Stmt>),
    Gemm(Gemm),
    Return,
    Barrier,
    /// `depth` opening brackets (at most 10,000), closed or not.
    Deep {
        depth: u16,
        bracket: Bracket,
        closed: bool,
    },
    Unterminated(Unterminated),
}

#[derive(Arbitrary, Debug)]
pub enum Item {
    Const(Name, Num),
    Func {
        name: Name,
        params: Vec<Name>,
        kernel: bool,
        body: Vec<Stmt>,
    },
    Deep {
        depth: u16,
        bracket: Bracket,
        closed: bool,
    },
    Unterminated(Unterminated),
    Include(Name),
}

#[derive(Arbitrary, Debug)]
pub enum Splice {
    /// Insert raw bytes (typically invalid UTF-8) at a position.
    Bytes { at: u32, bytes: Vec<u8> },
    /// Cut the text at a position.
    Truncate(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Which {
    C,
    Cuda,
    Python,
}

#[derive(Arbitrary, Debug)]
pub struct Program {
    pub lang: Which,
    pub items: Vec<Item>,
    /// Render into this corpus file (by index) rather than alone.
    pub host: Option<u16>,
    pub host_at: u32,
    pub splices: Vec<Splice>,
}

impl Program {
    pub fn lang(&self) -> Lang {
        match self.lang {
            Which::C => Lang::C,
            Which::Cuda => Lang::Cuda,
            Which::Python => Lang::Python,
        }
    }
}

/// Renders one program; nesting of generated statements is bounded by the
/// input's size (each level costs bytes), deep brackets by `Deep`'s cap.
struct R {
    out: String,
    py: bool,
    cuda: bool,
    /// Recursion budget for nested numbers and expressions.
    fuel: u32,
}

const MAX_DEEP: usize = 10_000;

impl R {
    fn num(&mut self, n: &Num) {
        if self.fuel == 0 {
            self.out.push('1');
            return;
        }
        self.fuel -= 1;
        match n {
            Num::Small(v) => write!(self.out, "{v}").unwrap(),
            Num::Huge(v) => write!(self.out, "{v}").unwrap(),
            Num::Negative(v) => write!(self.out, "({v})").unwrap(),
            Num::Overflowing(d) => {
                self.out.push('9');
                for _ in 0..(*d as usize % 64 + 20) {
                    self.out.push('9');
                }
            }
            Num::Float(f) => write!(self.out, "{f:?}").unwrap(),
            Num::Hex(v) => write!(self.out, "{v:#x}").unwrap(),
            Num::WithSuffix(v) => {
                let s = if self.py { "" } else { "ULL" };
                write!(self.out, "{v}{s}").unwrap()
            }
            Num::Bin(a, op, b) => {
                self.out.push('(');
                self.num(a);
                write!(self.out, " {} ", op.s()).unwrap();
                self.num(b);
                self.out.push(')');
            }
            Num::Name(n) => self.out.push_str(n.s()),
        }
    }

    fn index(&mut self, i: &Index) {
        match i {
            Index::Var(n) => self.out.push_str(n.s()),
            Index::Plus(n, k) => {
                write!(self.out, "{} + ", n.s()).unwrap();
                self.num(k);
            }
            Index::Times(n, k) => {
                write!(self.out, "{} * ", n.s()).unwrap();
                self.num(k);
            }
            Index::Flat(a, ld, b) => write!(self.out, "{}*{} + {}", a.s(), ld.s(), b.s()).unwrap(),
            Index::Lit(k) => self.num(k),
        }
    }

    fn access(&mut self, a: &Access) {
        match a {
            Access::Two(n, i, j) => {
                self.out.push_str(n.s());
                if self.py && self.fuel.is_multiple_of(2) {
                    self.out.push('[');
                    self.index(i);
                    self.out.push_str(", ");
                    self.index(j);
                    self.out.push(']');
                } else {
                    self.out.push('[');
                    self.index(i);
                    self.out.push_str("][");
                    self.index(j);
                    self.out.push(']');
                }
            }
            Access::One(n, i) => {
                self.out.push_str(n.s());
                self.out.push('[');
                self.index(i);
                self.out.push(']');
            }
            Access::Ptr(n, i) => {
                if self.py {
                    self.out.push_str(n.s());
                    self.out.push('[');
                    self.index(i);
                    self.out.push(']');
                } else {
                    write!(self.out, "*({} + ", n.s()).unwrap();
                    self.index(i);
                    self.out.push(')');
                }
            }
            Access::Field(o, f, i) => {
                let dot = if self.py { "." } else { "->" };
                write!(self.out, "{}{dot}{}[", o.s(), f.s()).unwrap();
                self.index(i);
                self.out.push(']');
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        if self.fuel == 0 {
            self.out.push('0');
            return;
        }
        self.fuel -= 1;
        match e {
            Expr::Num(n) => self.num(n),
            Expr::Access(a) => self.access(a),
            Expr::Bin(a, op, b) => {
                self.expr(a);
                write!(self.out, " {} ", op.s()).unwrap();
                self.expr(b);
            }
            Expr::Call(f, args) => {
                self.out.push_str(f.s());
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(a);
                }
                self.out.push(')');
            }
            Expr::MatMul(a, b) => {
                if self.py {
                    write!(self.out, "{} @ {}", a.s(), b.s()).unwrap()
                } else {
                    write!(self.out, "{}[0] * {}[0]", a.s(), b.s()).unwrap()
                }
            }
            Expr::Paren(e) => {
                self.out.push('(');
                self.expr(e);
                self.out.push(')');
            }
        }
    }

    fn indent(&mut self, level: usize) {
        for _ in 0..level.min(400) {
            self.out.push_str("    ");
        }
    }

    fn deep(&mut self, depth: u16, b: Bracket, closed: bool) {
        let d = depth as usize % (MAX_DEEP + 1);
        let (o, c) = match b {
            Bracket::Brace if !self.py => ('{', '}'),
            Bracket::Brace | Bracket::Paren => ('(', ')'),
            Bracket::Square => ('[', ']'),
        };
        if self.py || o != '{' {
            self.out.push_str("x = ");
        }
        self.out.extend(std::iter::repeat_n(o, d));
        if o != '{' {
            self.out.push('1');
        }
        if closed {
            self.out.extend(std::iter::repeat_n(c, d));
            if !self.py && o != '{' {
                self.out.push(';');
            }
        }
        self.out.push('\n');
    }

    fn unterminated(&mut self, u: Unterminated) {
        self.out.push_str(match (u, self.py) {
            (Unterminated::String, _) => "s = \"never closed\n",
            (Unterminated::Comment, false) => "/* never closed\n",
            (Unterminated::Comment, true) => "# fine\n\"\"\"\n",
            (Unterminated::Brace, false) => "void g(void) {\n for (;;) {\n",
            (Unterminated::Brace, true) => "d = {\n",
            (Unterminated::Paren, _) => "x = f(1, (2,\n",
            (Unterminated::Macro, false) => "#define F(a, b) ((a) * \\\n",
            (Unterminated::Macro, true) => "x = \\\n",
            (Unterminated::TripleQuote, _) => "'''\n",
            (Unterminated::Preproc, false) => "#if N > 3\n#ifdef X\n",
            (Unterminated::Preproc, true) => "@decorator(\n",
        });
    }

    fn gemm(&mut self, g: &Gemm, level: usize) {
        const ORDERS: [[usize; 3]; 6] = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        let order = ORDERS[g.order as usize % 6];
        let vars = ["i", "j", "k"];
        let ends = ["M", "N", "K"];
        // The dims as constants first.
        for (d, n) in ends.iter().zip(&g.dims) {
            self.indent(level);
            if self.py {
                write!(self.out, "{d} = ").unwrap();
                self.num(n);
                self.out.push('\n');
            } else {
                write!(self.out, "const long {d} = ").unwrap();
                self.num(n);
                self.out.push_str(";\n");
            }
        }
        let a = match (g.flat, g.trans_a) {
            (false, false) => "A[i][k]".to_string(),
            (false, true) => "A[k][i]".to_string(),
            (true, false) => "A[i*K + k]".to_string(),
            (true, true) => "A[k*M + i]".to_string(),
        };
        let b = match (g.flat, g.trans_b) {
            (false, false) => "B[k][j]".to_string(),
            (false, true) => "B[j][k]".to_string(),
            (true, false) => "B[k*N + j]".to_string(),
            (true, true) => "B[j*K + k]".to_string(),
        };
        let c = if g.flat { "C[i*N + j]" } else { "C[i][j]" };
        for (depth, &o) in order.iter().enumerate() {
            self.indent(level + depth);
            if self.py {
                writeln!(self.out, "for {} in range({}):", vars[o], ends[o]).unwrap();
            } else {
                writeln!(
                    self.out,
                    "for (int {v} = 0; {v} < {e}; {v}++)",
                    v = vars[o],
                    e = ends[o]
                )
                .unwrap();
            }
        }
        self.indent(level + 3);
        let end = if self.py { "" } else { ";" };
        if g.scalar_acc {
            writeln!(self.out, "{c} = {c} + {a} * {b}{end}").unwrap();
        } else {
            writeln!(self.out, "{c} += {a} * {b}{end}").unwrap();
        }
    }

    fn stmts(&mut self, body: &[Stmt], level: usize) {
        if body.is_empty() && self.py {
            self.indent(level);
            self.out.push_str("pass\n");
        }
        for s in body {
            self.stmt(s, level);
        }
    }

    fn stmt(&mut self, s: &Stmt, level: usize) {
        if self.fuel == 0 {
            return;
        }
        self.fuel -= 1;
        match s {
            Stmt::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                self.indent(level);
                let v = var.s();
                if self.py {
                    write!(self.out, "for {v} in range(").unwrap();
                    self.num(start);
                    self.out.push_str(", ");
                    self.num(end);
                    if let Some(st) = step {
                        self.out.push_str(", ");
                        self.num(st);
                    }
                    self.out.push_str("):\n");
                    self.stmts(body, level + 1);
                } else {
                    write!(self.out, "for (int {v} = ").unwrap();
                    self.num(start);
                    write!(self.out, "; {v} < ").unwrap();
                    self.num(end);
                    match step {
                        Some(st) => {
                            write!(self.out, "; {v} += ").unwrap();
                            self.num(st);
                        }
                        None => write!(self.out, "; {v}++").unwrap(),
                    }
                    self.out.push_str(") {\n");
                    self.stmts(body, level + 1);
                    self.indent(level);
                    self.out.push_str("}\n");
                }
            }
            Stmt::While { cond, body } => {
                self.indent(level);
                self.out.push_str("while (");
                self.expr(cond);
                if self.py {
                    self.out.push_str("):\n");
                    self.stmts(body, level + 1);
                } else {
                    self.out.push_str(") {\n");
                    self.stmts(body, level + 1);
                    self.indent(level);
                    self.out.push_str("}\n");
                }
            }
            Stmt::Assign(a, op, e) => {
                self.indent(level);
                self.access(a);
                self.out.push_str(match op {
                    AssignOp::Set => " = ",
                    AssignOp::Add => " += ",
                    AssignOp::Mul => " *= ",
                });
                self.expr(e);
                self.out.push_str(if self.py { "\n" } else { ";\n" });
            }
            Stmt::Decl(n, e) => {
                self.indent(level);
                if !self.py {
                    self.out.push_str("float ");
                }
                write!(self.out, "{} = ", n.s()).unwrap();
                self.expr(e);
                self.out.push_str(if self.py { "\n" } else { ";\n" });
            }
            Stmt::If(c, body) => {
                self.indent(level);
                self.out.push_str("if (");
                self.expr(c);
                if self.py {
                    self.out.push_str("):\n");
                    self.stmts(body, level + 1);
                } else {
                    self.out.push_str(") {\n");
                    self.stmts(body, level + 1);
                    self.indent(level);
                    self.out.push_str("}\n");
                }
            }
            Stmt::Gemm(g) => self.gemm(g, level),
            Stmt::Return => {
                self.indent(level);
                self.out
                    .push_str(if self.py { "return\n" } else { "return;\n" });
            }
            Stmt::Barrier => {
                self.indent(level);
                self.out.push_str(if self.py {
                    "torch.cuda.synchronize()\n"
                } else {
                    "__syncthreads();\n"
                });
            }
            Stmt::Deep {
                depth,
                bracket,
                closed,
            } => {
                self.indent(level);
                self.deep(*depth, *bracket, *closed);
            }
            Stmt::Unterminated(u) => {
                self.indent(level);
                self.unterminated(*u);
            }
        }
    }

    fn item(&mut self, it: &Item) {
        match it {
            Item::Const(n, v) => {
                if self.py {
                    write!(self.out, "{} = ", n.s()).unwrap();
                    self.num(v);
                    self.out.push('\n');
                } else {
                    write!(self.out, "#define {} ", n.s()).unwrap();
                    self.num(v);
                    self.out.push('\n');
                }
            }
            Item::Func {
                name,
                params,
                kernel,
                body,
            } => {
                let ps: Vec<&str> = params.iter().map(|p| p.s()).collect();
                if self.py {
                    writeln!(self.out, "def {}({}):", name.s(), ps.join(", ")).unwrap();
                    if *kernel {
                        self.out.push_str("    import numpy as np\n");
                    }
                    self.stmts(body, 1);
                } else {
                    let q = if *kernel && self.cuda {
                        "__global__ void"
                    } else {
                        "void"
                    };
                    let ps: Vec<String> = ps.iter().map(|p| format!("float *{p}")).collect();
                    writeln!(self.out, "{q} {}({}) {{", name.s(), ps.join(", ")).unwrap();
                    if *kernel && self.cuda {
                        self.out.push_str(
                            "    int i = blockIdx.y * blockDim.y + threadIdx.y;\n    int j = blockIdx.x * blockDim.x + threadIdx.x;\n",
                        );
                    }
                    self.stmts(body, 1);
                    self.out.push_str("}\n");
                }
            }
            Item::Deep {
                depth,
                bracket,
                closed,
            } => self.deep(*depth, *bracket, *closed),
            Item::Unterminated(u) => self.unterminated(*u),
            Item::Include(n) => {
                if self.py {
                    writeln!(self.out, "import {}", n.s()).unwrap();
                } else {
                    writeln!(self.out, "#include \"{}.h\"", n.s()).unwrap();
                }
            }
        }
    }
}

/// The corpus files of `lang` (read once from tests/corpus).
pub fn corpus(lang: Lang) -> &'static [Vec<u8>] {
    static C: OnceLock<[Vec<Vec<u8>>; 3]> = OnceLock::new();
    let all = C.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
        let read = |d: &str| -> Vec<Vec<u8>> {
            let mut v: Vec<_> = std::fs::read_dir(root.join(d))
                .map(|r| r.flatten().map(|e| e.path()).collect())
                .unwrap_or_else(|_| Vec::new());
            v.sort();
            v.iter().filter_map(|p| std::fs::read(p).ok()).collect()
        };
        [read("c"), read("cuda"), read("python")]
    });
    match lang {
        Lang::C => &all[0],
        Lang::Cuda => &all[1],
        Lang::Python => &all[2],
    }
}

/// Renders the program to the bytes a file would hold.
pub fn render(p: &Program) -> Vec<u8> {
    let lang = p.lang();
    let mut r = R {
        out: String::new(),
        py: lang == Lang::Python,
        cuda: lang == Lang::Cuda,
        fuel: 4096,
    };
    for it in &p.items {
        r.item(it);
    }
    let mut bytes = r.out.into_bytes();
    if let Some(h) = p.host {
        let files = corpus(lang);
        if !files.is_empty() {
            let host = &files[h as usize % files.len()];
            // Insert at a line start of the host file.
            let lines: Vec<usize> = std::iter::once(0)
                .chain(
                    host.iter()
                        .enumerate()
                        .filter(|(_, b)| **b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .collect();
            let at = lines[p.host_at as usize % lines.len()];
            let mut v = host[..at].to_vec();
            v.extend_from_slice(&bytes);
            v.extend_from_slice(&host[at..]);
            bytes = v;
        }
    }
    for s in &p.splices {
        match s {
            Splice::Bytes { at, bytes: b } => {
                let at = *at as usize % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Splice::Truncate(at) => {
                let at = *at as usize % (bytes.len() + 1);
                bytes.truncate(at);
            }
        }
    }
    bytes
}
