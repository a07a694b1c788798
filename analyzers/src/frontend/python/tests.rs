use super::lower;
use crate::ir::*;

fn op(o: AssignOp) -> &'static str {
    match o {
        AssignOp::Set => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
        AssignOp::Other => "?=",
    }
}

/// A compact text rendering of statements, one per line.
fn dump(stmts: &[Stmt]) -> String {
    fn go(s: &[Stmt], ind: usize, out: &mut String) {
        let pad = "  ".repeat(ind);
        for st in s {
            match &st.kind {
                StmtKind::Loop(l) => {
                    let k = match l.kind {
                        LoopKind::Serial => "",
                        LoopKind::Comprehension => " comp",
                        LoopKind::CudaThread { .. } => " cuda",
                    };
                    out.push_str(&format!(
                        "{pad}for {} in {}..{} step {}{k}\n",
                        l.var, l.start, l.end, l.step
                    ));
                    go(&l.body, ind + 1, out);
                }
                StmtKind::Assign {
                    target,
                    op: o,
                    value,
                } => out.push_str(&format!("{pad}{target} {} {value}\n", op(*o))),
                StmtKind::Decl { name, init, .. } => {
                    out.push_str(&format!("{pad}decl {name} {init:?}\n"))
                }
                StmtKind::If { cond, then, els } => {
                    out.push_str(&format!("{pad}if {cond}\n"));
                    go(then, ind + 1, out);
                    if !els.is_empty() {
                        out.push_str(&format!("{pad}else\n"));
                        go(els, ind + 1, out);
                    }
                }
                StmtKind::Expr(e) => out.push_str(&format!("{pad}{e}\n")),
                StmtKind::Return(e) => out.push_str(&format!(
                    "{pad}return {}\n",
                    e.as_ref().map(|e| e.to_string()).unwrap_or_default()
                )),
                StmtKind::Barrier => out.push_str(&format!("{pad}barrier\n")),
                StmtKind::Opaque(b) => {
                    out.push_str(&format!("{pad}opaque\n"));
                    go(b, ind + 1, out);
                }
            }
        }
    }
    let mut out = String::new();
    go(stmts, 0, &mut out);
    out
}

fn func<'f>(f: &'f File, name: &str) -> &'f Function {
    f.functions
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no function {name}: {:?}",
                f.functions.iter().map(|f| &f.name).collect::<Vec<_>>()
            )
        })
}

fn v(n: &str) -> Expr {
    Expr::var(n)
}

fn idx(base: Expr, i: Vec<Expr>) -> Expr {
    Expr::Index {
        base: Box::new(base),
        idx: i,
    }
}

fn len_call(arg: Expr) -> Expr {
    Expr::Call {
        func: "len".into(),
        recv: None,
        args: vec![arg],
        kwargs: vec![],
    }
}

fn the_loop(s: &Stmt) -> &Loop {
    match &s.kind {
        StmtKind::Loop(l) => l,
        k => panic!("not a loop: {k:?}"),
    }
}

fn assign(s: &Stmt) -> (&Expr, AssignOp, &Expr) {
    match &s.kind {
        StmtKind::Assign { target, op, value } => (target, *op, value),
        k => panic!("not an assignment: {k:?}"),
    }
}

fn access(e: &Expr) -> Access {
    Access::of(e, &|_| false).unwrap_or_else(|| panic!("not an access: {e:?}"))
}

/// The right-hand side of the only assignment to `name` in `<module>`.
fn module_value(f: &File, name: &str) -> Expr {
    let m = func(f, "<module>");
    let mut found = Vec::new();
    m.walk(&mut |s| {
        if let StmtKind::Assign {
            target: Expr::Var(t),
            value,
            ..
        } = &s.kind
        {
            if t == name {
                found.push(value.clone());
            }
        }
    });
    assert_eq!(found.len(), 1, "assignments to {name}: {found:?}");
    found.pop().unwrap()
}

#[test]
fn functions_methods_nested_decorated_async_and_module() {
    let src = "\
import torch
x = foo()

@torch.no_grad()
def f(a, b: int = 2, *args, **kw):
    def inner(y):
        return y
    return inner(a)

class Net:
    def __init__(self, n):
        self.n = n

    @staticmethod
    async def run(self, x):
        return x

    class Sub:
        def g(self):
            pass
";
    let file = lower(src);
    let names: Vec<&str> = file.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "<module>",
            "f",
            "f.inner",
            "Net.__init__",
            "Net.run",
            "Net.Sub.g"
        ]
    );
    let m = func(&file, "<module>");
    assert_eq!(m.kind, FnKind::Module);
    assert_eq!(m.body.len(), 1, "{}", dump(&m.body));
    let f = func(&file, "f");
    assert_eq!(f.kind, FnKind::Python);
    assert_eq!(f.params, ["a", "b", "args", "kw"]);
    assert_eq!(f.span.start_line, 5);
    // The nested def is not a statement of `f`.
    assert_eq!(dump(&f.body), "return inner(a)\n");
    let init = func(&file, "Net.__init__");
    assert_eq!(init.params, ["self", "n"]);
    assert_eq!(dump(&init.body), "self.n = n\n");
    assert!(init.vars.contains_key("self.n"));
    assert_eq!(dump(&func(&file, "Net.run").body), "return x\n");
    assert!(file.syntax_problems.is_empty());
}

#[test]
fn module_constants() {
    let src = "\
N = 1024
M, K = 64, 32
T: int = 8
NN = N * N
P = 2 ** 10
X = foo()
R = 5
for _ in range(3):
    R = 6
S = 1
S = 2
if __name__ == \"__main__\":
    Q = 16
    A = [[0.0] * N for _ in range(M)]
";
    let file = lower(src);
    let c = &file.consts;
    assert_eq!(c.get("N"), Some(&Expr::Int(1024)));
    assert_eq!(c.get("M"), Some(&Expr::Int(64)));
    assert_eq!(c.get("K"), Some(&Expr::Int(32)));
    assert_eq!(c.get("T"), Some(&Expr::Int(8)));
    assert_eq!(c.get("Q"), Some(&Expr::Int(16)));
    assert_eq!(file.const_value("NN"), Some(1024 * 1024));
    assert_eq!(file.const_value("P"), Some(1024));
    for not_const in ["X", "R", "S", "A"] {
        assert!(!c.contains_key(not_const), "{not_const} is not a constant");
    }
    // Constants are not assigned in `<module>` (their uses stay symbolic).
    let m = func(&file, "<module>");
    let body = dump(&m.body);
    assert!(!body.contains("N = 1024"), "{body}");
    assert!(body.contains("X = foo()"), "{body}");
    let a = &m.vars["A"];
    assert_eq!(a.shape, [v("M"), v("N")]);
}

#[test]
fn range_loops() {
    let src = "\
def f(A, n, a, b, s):
    for i in range(n):
        A[i] = 0
    for i in range(a, b):
        pass
    for i in range(a, b, s):
        pass
    for i in range(0, n, 32):
        pass
    for i in range(len(A)):
        pass
";
    let file = lower(src);
    let f = func(&file, "f");
    assert_eq!(f.body.len(), 5);
    let l0 = the_loop(&f.body[0]);
    assert_eq!(
        (l0.var.as_str(), &l0.start, &l0.end, &l0.step),
        ("i", &Expr::Int(0), &v("n"), &Expr::Int(1))
    );
    assert_eq!(l0.kind, LoopKind::Serial);
    assert_eq!(l0.body.len(), 1);
    let l1 = the_loop(&f.body[1]);
    assert_eq!(
        (&l1.start, &l1.end, &l1.step),
        (&v("a"), &v("b"), &Expr::Int(1))
    );
    let l2 = the_loop(&f.body[2]);
    assert_eq!((&l2.start, &l2.end, &l2.step), (&v("a"), &v("b"), &v("s")));
    let l3 = the_loop(&f.body[3]);
    assert_eq!(l3.step, Expr::Int(32));
    // `A` is a parameter with no known shape.
    let l4 = the_loop(&f.body[4]);
    assert_eq!(l4.end, len_call(v("A")));
    // Spans: the whole statement, and the header up to the colon.
    assert_eq!(f.body[0].span.start_line, 2);
    assert_eq!(f.body[0].span.end_line, 3);
    assert_eq!(l0.header.start_line, 2);
    assert_eq!(l0.header.end_line, 2);
    assert_eq!(
        &src[l0.header.start_byte..l0.header.end_byte],
        "for i in range(n):"
    );
}

#[test]
fn sequence_enumerate_and_zip_loops() {
    let src = "\
def f(A, x, y, out):
    for row in A:
        for v in row:
            out[0] += v
    for i, row in enumerate(A):
        out[i] = row[0]
    for a, b in zip(x, y):
        out[0] += a * b
    for row in A:
        row = row * 2
        out[0] += row[1]
    for k in d.items():
        out[0] += 1
";
    let file = lower(src);
    let f = func(&file, "f");
    let text = dump(&f.body);
    assert_eq!(
        text,
        "\
for __i_row in 0..len(A) step 1
  for __j_v in 0..len(A[0]) step 1
    out[0] += A[__i_row][__j_v]
for i in 0..len(A) step 1
  out[i] = A[i][0]
for __i in 0..len(x) step 1
  out[0] += x[__i]*y[__i]
for __i_row in 0..len(A) step 1
  row = A[__i_row]
  row = row*2
  out[0] += row[1]
opaque
  out[0] += 1
"
    );
    // `v` reads `A[__i_row][__j_v]`: two subscripts on A.
    let inner = the_loop(&the_loop(&f.body[0]).body[0]);
    let (t, o, val) = assign(&inner.body[0]);
    assert_eq!(o, AssignOp::Add);
    assert_eq!(access(t).base, "out");
    let a = access(val);
    assert_eq!(a.base, "A");
    assert_eq!(a.idx, [v("__i_row"), v("__j_v")]);
    assert_eq!(f.vars["A"].rank, 2);
    assert!(f.vars["A"].is_array);
}

#[test]
fn while_loops() {
    let src = "\
def f(A, n):
    i = 0
    while i < n:
        j = 1
        while j <= n - 1:
            A[i][j] = 0
            j += 1
        i = i + 1
    while err > tol:
        err = step(err)
    k = 0
    while k < n:
        if A[k][0]:
            continue
        k += 1
";
    let file = lower(src);
    let f = func(&file, "f");
    assert_eq!(
        dump(&f.body),
        "\
for i in 0..n step 1
  for j in 1..n step 1
    A[i][j] = 0
opaque
  err = step(err)
k = 0
opaque
  if A[k][0]
  k += 1
"
    );
}

#[test]
fn if_with_try_return() {
    let src = "\
def f(x, y):
    if x < 1:
        a = 1
    elif x == 2:
        a = 2
    else:
        a = 3
    with torch.autocast(\"cuda\", dtype=torch.bfloat16) as ac:
        b = x @ y
    try:
        c = 1
    except ValueError:
        c = 2
    finally:
        d = 4
    return a
";
    let file = lower(src);
    let f = func(&file, "f");
    assert_eq!(
        dump(&f.body),
        "\
if x<1
  a = 1
else
  if x==2
    a = 2
  else
    a = 3
ac = torch.autocast(\"cuda\", dtype=torch.bfloat16)
b = (x @ y)
c = 1
opaque
  c = 2
d = 4
return a
"
    );
    let StmtKind::If { els, .. } = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(els[0].span.start_line, 4);
}

#[test]
fn assignments_and_accesses() {
    let src = "\
class M:
    def step(self, i, k, x):
        self.t[i][k] += x
        self.t[i, k] -= x
        self.u[i] *= 2
        self.u[i] /= 2
        self.u[i] |= 1
        a, b = x, i
        p = q = 0
        r, s = self.f()
        self.w.data = x
torch.backends.cuda.matmul.allow_tf32 = True
";
    let file = lower(src);
    let f = func(&file, "M.step");
    let b = &f.body;
    let (t, o, _) = assign(&b[0]);
    assert_eq!(o, AssignOp::Add);
    let a = access(t);
    assert_eq!(
        (a.base.as_str(), a.idx.clone()),
        ("self.t", vec![v("i"), v("k")])
    );
    // `a[i, k]` is one Index with two indices.
    let (t, o, _) = assign(&b[1]);
    assert_eq!(o, AssignOp::Sub);
    assert_eq!(*t, idx(v("self.t"), vec![v("i"), v("k")]));
    assert_eq!(assign(&b[2]).1, AssignOp::Mul);
    assert_eq!(assign(&b[3]).1, AssignOp::Div);
    assert_eq!(assign(&b[4]).1, AssignOp::Other);
    assert_eq!(
        dump(&b[5..]),
        "a = x\nb = i\np = 0\nq = 0\nr = self.f()[0]\ns = self.f()[1]\nself.w.data = x\n"
    );
    assert!(f.vars["self.t"].is_array);
    assert_eq!(f.vars["self.t"].rank, 2);
    let m = func(&file, "<module>");
    let (t, o, val) = assign(&m.body[0]);
    assert_eq!(*t, v("torch.backends.cuda.matmul.allow_tf32"));
    assert_eq!(o, AssignOp::Set);
    assert_eq!(*val, Expr::Other("True".into()));
}

#[test]
fn expressions_calls_and_operators() {
    let src = "\
import torch.nn.functional as F
from numpy import dot as npdot
y = np.float32
a = x.softmax(dim=-1)
b = F.softmax(s / math.sqrt(d), dim=-1)
c = n ** 2 // 3 % 4
e = -n + (+m) - (-2)
g = 0 <= i < n and not (i == 3 or i != 4)
h = [1, 2]
k = (1, 2)
l = obj.method(1, key=\"v\").other()
z = npdot(p, q)
";
    let file = lower(src);
    assert_eq!(module_value(&file, "y"), v("np.float32"));
    assert_eq!(
        module_value(&file, "a"),
        Expr::Call {
            func: "softmax".into(),
            recv: Some(Box::new(v("x"))),
            args: vec![],
            kwargs: vec![("dim".into(), Expr::Int(-1))],
        }
    );
    assert_eq!(
        module_value(&file, "b"),
        Expr::Call {
            func: "F.softmax".into(),
            recv: None,
            args: vec![Expr::bin(
                BinOp::Div,
                v("s"),
                Expr::Call {
                    func: "math.sqrt".into(),
                    recv: None,
                    args: vec![v("d")],
                    kwargs: vec![]
                }
            )],
            kwargs: vec![("dim".into(), Expr::Int(-1))],
        }
    );
    assert_eq!(
        module_value(&file, "c"),
        Expr::bin(
            BinOp::Rem,
            Expr::bin(
                BinOp::FloorDiv,
                Expr::bin(BinOp::Pow, v("n"), Expr::Int(2)),
                Expr::Int(3)
            ),
            Expr::Int(4)
        )
    );
    assert_eq!(
        module_value(&file, "e"),
        Expr::bin(
            BinOp::Sub,
            Expr::bin(BinOp::Add, Expr::Unary(UnOp::Neg, Box::new(v("n"))), v("m")),
            Expr::Int(-2)
        )
    );
    assert_eq!(
        module_value(&file, "g").to_string(),
        "0<=i&&i<n&&!(i==3||i!=4)"
    );
    assert_eq!(module_value(&file, "h"), Expr::Other("[1, 2]".into()));
    assert_eq!(module_value(&file, "k"), Expr::Other("(1, 2)".into()));
    let Expr::Call {
        func: f1,
        recv: Some(r),
        ..
    } = module_value(&file, "l")
    else {
        panic!()
    };
    assert_eq!(f1, "other");
    assert_eq!(
        *r,
        Expr::Call {
            func: "method".into(),
            recv: Some(Box::new(v("obj"))),
            args: vec![Expr::Int(1)],
            kwargs: vec![("key".into(), Expr::Str("v".into()))],
        }
    );
    assert_eq!(
        module_value(&file, "z"),
        Expr::MatMul(Box::new(v("p")), Box::new(v("q")))
    );
}

#[test]
fn matmul_and_transpose_forms() {
    let src = "\
import numpy as np
import torch
X = torch.randn(2, 3, 4)
m1 = a @ b
m2 = np.dot(a, b)
m3 = np.matmul(a, b)
m4 = torch.matmul(a, b)
m5 = torch.mm(a, b)
m6 = torch.bmm(a, b)
m7 = a.dot(b)
t1 = a.T
t2 = a.mT
t3 = a.t()
t4 = a.transpose(-2, -1)
t5 = a.transpose(-1, -2)
t6 = np.transpose(a)
t7 = np.swapaxes(a, -1, -2)
t8 = torch.transpose(a, -2, -1)
t9 = X.transpose(1, 2)
n1 = a.transpose(0, 1)
n2 = X.transpose(0, 1)
s = q @ k.transpose(-2, -1) / math.sqrt(d)
";
    let file = lower(src);
    let mm = Expr::MatMul(Box::new(v("a")), Box::new(v("b")));
    for name in ["m1", "m2", "m3", "m4", "m5", "m6", "m7"] {
        assert_eq!(module_value(&file, name), mm, "{name}");
    }
    for (name, x) in [
        ("t1", "a"),
        ("t2", "a"),
        ("t3", "a"),
        ("t4", "a"),
        ("t5", "a"),
        ("t6", "a"),
        ("t7", "a"),
        ("t8", "a"),
        ("t9", "X"),
    ] {
        assert_eq!(
            module_value(&file, name),
            Expr::Transpose(Box::new(v(x))),
            "{name}"
        );
    }
    // Rank unknown, or not the last two axes: an ordinary method call.
    for name in ["n1", "n2"] {
        assert!(
            matches!(module_value(&file, name), Expr::Call { ref func, .. } if func == "transpose"),
            "{name}"
        );
    }
    assert_eq!(
        module_value(&file, "s"),
        Expr::bin(
            BinOp::Div,
            Expr::MatMul(
                Box::new(v("q")),
                Box::new(Expr::Transpose(Box::new(v("k"))))
            ),
            Expr::Call {
                func: "math.sqrt".into(),
                recv: None,
                args: vec![v("d")],
                kwargs: vec![]
            }
        )
    );
}

#[test]
fn convention_8_nested_comprehension() {
    let src = "C = [[sum(a*b for a, b in zip(row, col)) for col in zip(*B)] for row in A]\n";
    let file = lower(src);
    let m = func(&file, "<module>");
    assert_eq!(
        dump(&m.body),
        "\
for __i_row in 0..len(A) step 1 comp
  for __j_col in 0..len(B[0]) step 1 comp
    __acc1 = 0
    for __k in 0..len(A[0]) step 1 comp
      __acc1 += A[__i_row][__k]*B[__k][__j_col]
    C[__i_row][__j_col] = __acc1
"
    );
    let outer = the_loop(&m.body[0]);
    assert_eq!(outer.kind, LoopKind::Comprehension);
    assert_eq!(outer.end, len_call(v("A")));
    let mid = the_loop(&outer.body[0]);
    assert_eq!(mid.end, len_call(idx(v("B"), vec![Expr::Int(0)])));
    let inner = the_loop(&mid.body[1]);
    let (t, o, val) = assign(&inner.body[0]);
    assert_eq!((t, o), (&v("__acc1"), AssignOp::Add));
    let Expr::Binary(BinOp::Mul, x, y) = val else {
        panic!("{val:?}")
    };
    let (ax, ay) = (access(x), access(y));
    assert_eq!(
        (ax.base.as_str(), ax.idx.clone()),
        ("A", vec![v("__i_row"), v("__k")])
    );
    assert_eq!(
        (ay.base.as_str(), ay.idx.clone()),
        ("B", vec![v("__k"), v("__j_col")])
    );
    let (t, o, val) = assign(&mid.body[2]);
    assert_eq!(o, AssignOp::Set);
    assert_eq!(*val, v("__acc1"));
    assert_eq!(access(t).idx, [v("__i_row"), v("__j_col")]);
    // Every synthetic statement has the statement's span.
    m.walk(&mut |s| {
        assert_eq!((s.span.start_byte, s.span.end_byte), (0, src.len() - 1));
    });
    let c = &m.vars["C"];
    assert!(c.is_array && !c.ndarray);
    assert_eq!(
        c.shape,
        [len_call(v("A")), len_call(idx(v("B"), vec![Expr::Int(0)]))]
    );
}

#[test]
fn sum_generators_inside_loops() {
    let src = "\
import numpy as np
M, N, K = 8, 16, 32
A = np.random.rand(M, K)
B = np.random.rand(K, N)
C = np.zeros((M, N))
for i in range(M):
    for j in range(N):
        C[i][j] = sum(A[i][k] * B[k][j] for k in range(K))
for i in range(M):
    for j in range(N):
        C[i, j] += alpha * sum([A[i, k] * B[k, j] for k in range(K) if k > 0], 1.0)
for i in range(len(A)):
    C[i] = [sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))]
";
    let file = lower(src);
    let m = func(&file, "<module>");
    assert_eq!(
        dump(&m.body),
        "\
A = np.random.rand(M, K)
B = np.random.rand(K, N)
C = np.zeros((M, N))
for i in 0..M step 1
  for j in 0..N step 1
    __acc1 = 0
    for k in 0..K step 1 comp
      __acc1 += A[i][k]*B[k][j]
    C[i][j] = __acc1
for i in 0..M step 1
  for j in 0..N step 1
    __acc2 = 1
    for k in 0..K step 1 comp
      if k>0
        __acc2 += A[i][k]*B[k][j]
    C[i][j] += alpha*__acc2
for i in 0..M step 1
  for j in 0..N step 1 comp
    __acc3 = 0
    for k in 0..K step 1 comp
      __acc3 += A[i][k]*B[k][j]
    C[i][j] = __acc3
"
    );
    // `C[i, j]` keeps one Index with two subscripts.
    let l = the_loop(&the_loop(&m.body[4]).body[0]);
    let (t, o, _) = assign(&l.body[2]);
    assert_eq!(o, AssignOp::Add);
    assert_eq!(*t, idx(v("C"), vec![v("i"), v("j")]));
}

#[test]
fn comprehension_forms() {
    let src = "\
def matmul(A, B):
    return [[sum(a * b for a, b in zip(r, c)) for c in zip(*B)] for r in A]

def matmul_t(A, B):
    C = [[0.0 for _ in range(len(B[0]))] for _ in range(len(A))]
    Z = np.array([[np.dot(r, c) for c in B.T] for r in A])
    for i, row in enumerate(A):
        for j, col in enumerate(zip(*B)):
            C[i][j] = sum(x * y for x, y in zip(row, col))
    return C
";
    let file = lower(src);
    let f = func(&file, "matmul");
    assert_eq!(
        dump(&f.body),
        "\
for __i_r in 0..len(A) step 1 comp
  for __j_c in 0..len(B[0]) step 1 comp
    __acc1 = 0
    for __k in 0..len(A[0]) step 1 comp
      __acc1 += A[__i_r][__k]*B[__k][__j_c]
    __comp1[__i_r][__j_c] = __acc1
return __comp1
"
    );
    assert!(f.vars["__comp1"].is_array);
    let g = func(&file, "matmul_t");
    assert_eq!(
        dump(&g.body),
        "\
C = [[0.0 for _ in range(len(B[0]))] for _ in range(len(A))]
for __i_r in 0..len(A) step 1 comp
  for __j_c in 0..len(B[0]) step 1 comp
    __acc1 = 0
    for __k_dot1 in 0..B.shape[0] step 1 comp
      __acc1 += A[__i_r][__k_dot1]*B[__k_dot1][__j_c]
    __comp1[__i_r][__j_c] = __acc1
Z = np.array(__comp1)
for i in 0..len(A) step 1
  for j in 0..len(B[0]) step 1
    __acc2 = 0
    for __k in 0..len(A[0]) step 1 comp
      __acc2 += A[i][__k]*B[__k][j]
    C[i][j] = __acc2
return C
"
    );
    let c = &g.vars["C"];
    assert_eq!(c.elem, Some(ElemType::PyFloat));
    assert_eq!(
        c.shape,
        [len_call(v("A")), len_call(idx(v("B"), vec![Expr::Int(0)]))]
    );
    assert!(g.vars["Z"].ndarray);
}

#[test]
fn varinfo_from_constructors() {
    let src = "\
import numpy as np
import torch
M, K, N = 4, 8, 16
a = np.zeros((M, K), dtype=np.float32)
b = np.random.rand(M, K)
c = np.random.randn(K, N).astype(np.float32)
d = np.empty((M, N), dtype='float16')
e = np.ones(N)
f = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
g = np.array([[1.0, 2.0], [3.0, 4.0]])
h = torch.randn(M, K, device=\"cuda\")
i = torch.zeros((M, K), dtype=torch.float16)
j = torch.ones(M, K).half()
k = [[0.0] * N for _ in range(M)]
l = [[0.0 for _ in range(N)] for _ in range(M)]
m = a @ c
n = b.T
o = [0] * N
p = torch.randn(M, K).to(torch.bfloat16)
q = np.zeros((M, K), np.float32)
r = rng.standard_normal((M, K), dtype=np.float32)
s = np.random.random((M, K))
t = np.zeros(N, dtype=float)
";
    let file = lower(src);
    let m = func(&file, "<module>");
    let vi = |n: &str| {
        m.vars
            .get(n)
            .unwrap_or_else(|| panic!("no VarInfo for {n}"))
            .clone()
    };
    let mk = |a: &str, b: &str| vec![v(a), v(b)];
    let check = |n: &str, elem: ElemType, shape: Vec<Expr>, ndarray: bool| {
        let x = vi(n);
        assert_eq!(x.elem, Some(elem), "{n}");
        assert_eq!(x.shape, shape, "{n}");
        assert_eq!(x.rank, x.shape.len(), "{n}");
        assert!(x.is_array, "{n}");
        assert_eq!(x.ndarray, ndarray, "{n}");
    };
    check("a", ElemType::F32, mk("M", "K"), true);
    check("b", ElemType::F64, mk("M", "K"), true);
    check("c", ElemType::F32, mk("K", "N"), true);
    check("d", ElemType::F16, mk("M", "N"), true);
    check("e", ElemType::F64, vec![v("N")], true);
    check("f", ElemType::F32, vec![Expr::Int(2), Expr::Int(2)], true);
    check("g", ElemType::F64, vec![Expr::Int(2), Expr::Int(2)], true);
    check("h", ElemType::F32, mk("M", "K"), true);
    check("i", ElemType::F16, mk("M", "K"), true);
    check("j", ElemType::F16, mk("M", "K"), true);
    check("k", ElemType::PyFloat, mk("M", "N"), false);
    check("l", ElemType::PyFloat, mk("M", "N"), false);
    check("m", ElemType::F32, mk("M", "N"), true);
    check("n", ElemType::F64, mk("K", "M"), true);
    check("o", ElemType::I64, vec![v("N")], false);
    check("p", ElemType::Bf16, mk("M", "K"), true);
    check("q", ElemType::F32, mk("M", "K"), true);
    check("r", ElemType::F32, mk("M", "K"), true);
    check("s", ElemType::F64, mk("M", "K"), true);
    check("t", ElemType::F64, vec![v("N")], true);
    // The torch call keeps its keyword arguments.
    let Expr::Call { kwargs, .. } = module_value(&file, "h") else {
        panic!()
    };
    assert_eq!(kwargs, [("device".to_string(), Expr::Str("cuda".into()))]);
}

#[test]
fn len_and_shape_resolution_and_globals() {
    let src = "\
import numpy as np
N = 64
A = np.random.rand(N, 2 * N)
B = [[0.0] * N for _ in range(N)]

def use_globals():
    for i in range(len(A)):
        for j in range(len(A[0])):
            for k in range(A.shape[1]):
                B[i][j] += A[i][k] * A.shape[0]

def use_params(A, X):
    M, K = A.shape
    for i in range(A.shape[0]):
        for k in range(len(A[i])):
            X[i, k] = A[i, k] + A.shape[-1]
";
    let file = lower(src);
    let g = func(&file, "use_globals");
    let l1 = the_loop(&g.body[0]);
    assert_eq!(l1.end, v("N"));
    let l2 = the_loop(&l1.body[0]);
    assert_eq!(l2.end, Expr::bin(BinOp::Mul, Expr::Int(2), v("N")));
    let l3 = the_loop(&l2.body[0]);
    assert_eq!(l3.end, Expr::bin(BinOp::Mul, Expr::Int(2), v("N")));
    let (_, _, val) = assign(&l3.body[0]);
    assert_eq!(val.to_string(), "A[i][k]*N");
    // Module arrays are visible with their VarInfo.
    assert_eq!(g.vars["A"].elem, Some(ElemType::F64));
    assert_eq!(g.vars["B"].elem, Some(ElemType::PyFloat));
    assert_eq!(g.vars["B"].shape, [v("N"), v("N")]);

    let p = func(&file, "use_params");
    let shape = |d: i64| idx(v("A.shape"), vec![Expr::Int(d)]);
    assert_eq!(dump(&p.body[..2]), "M = A.shape[0]\nK = A.shape[1]\n");
    let l1 = the_loop(&p.body[2]);
    assert_eq!(l1.end, shape(0));
    let l2 = the_loop(&l1.body[0]);
    assert_eq!(l2.end, len_call(idx(v("A"), vec![Expr::Int(0)])));
    // Parameters shadow the module's `A`: no known shape, array from use.
    assert!(p.vars["A"].is_array);
    assert_eq!(p.vars["A"].rank, 2);
    assert!(p.vars["A"].shape.is_empty());
    assert!(p.vars["X"].is_array);
    assert!(!p.vars.contains_key("A.shape"));
}

#[test]
fn method_attributes_share_varinfo() {
    let src = "\
import numpy as np
class Layer:
    def __init__(self, n, m):
        self.w = np.zeros((n, m), dtype=np.float32)
    def forward(self, x, out):
        for i in range(len(x)):
            for j in range(self.w.shape[1]):
                for k in range(len(self.w)):
                    out[i][j] += x[i][k] * self.w[k][j]
";
    let file = lower(src);
    let f = func(&file, "Layer.forward");
    let w = &f.vars["self.w"];
    assert_eq!(w.elem, Some(ElemType::F32));
    assert_eq!(w.shape, [v("n"), v("m")]);
    let l = the_loop(&f.body[0]);
    let l = the_loop(&l.body[0]);
    assert_eq!(l.end, idx(v("self.w.shape"), vec![Expr::Int(1)]));
    let l = the_loop(&l.body[0]);
    let (_, _, val) = assign(&l.body[0]);
    let Expr::Binary(BinOp::Mul, _, y) = val else {
        panic!()
    };
    assert_eq!(access(y).base, "self.w");
}

#[test]
fn param_annotations() {
    let src = "\
def f(a: np.ndarray, b: list[list[float]], c: NDArray[np.float32], n: int):
    pass
";
    let file = lower(src);
    let f = func(&file, "f");
    assert!(f.vars["a"].ndarray && f.vars["a"].is_array);
    assert_eq!(f.vars["b"].rank, 2);
    assert_eq!(f.vars["b"].elem, Some(ElemType::PyFloat));
    assert_eq!(f.vars["c"].elem, Some(ElemType::F32));
    assert!(!f.vars["n"].is_array);
}

#[test]
fn syntax_errors_are_reported_and_the_rest_is_lowered() {
    let src = "\
def broken():
    x = = 1
    y = 2 +

def ok(A, n):
    for i in range(n):
        A[i] += 1
";
    let file = lower(src);
    assert!(!file.syntax_problems.is_empty());
    assert!(file.syntax_problems[0].span.start_line <= 2);
    let f = func(&file, "ok");
    assert_eq!(dump(&f.body), "for i in 0..n step 1\n  A[i] += 1\n");

    let missing = lower("x = foo(1, 2\nfor i in range(3):\n    y = i\n");
    assert!(!missing.syntax_problems.is_empty());
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "\0\0\0",
        "def",
        "for in range(:",
        "while",
        "[[[[",
        "x = [a for]",
        "class :\n  def (self):\n",
        "))))((((",
        "lambda: (yield)",
        "for row in A:\n  for col in zip(*):\n    x = sum(a*b for a, b in zip(row,))",
        "x = y[1:2, ::3, ...]",
        "async with a as (b, c): await d",
        "match x:\n  case [1, *r]: y = r\n  case _: pass\n",
        "@\ndef f(): pass",
        "f'{x!r:>{w}}'",
        "x: int",
        "a, *b = c",
        "i = 0\nwhile i < n:\n    i += 1\n",
        "\u{feff}é = 1\nπ = é ** 2\n",
        "C = [[sum(a*b for a, b in zip(r, c)) for c in zip(*B) if c] for r in A if r for s in r]",
    ];
    for s in inputs {
        let _ = lower(s);
    }
    // Every byte sequence made of Python punctuation and keywords.
    let toks = [
        "for", "in", "range(", ")", ":", "\n", "  ", "x", "[", "]", "sum(", "zip(*", "=", "+=",
        "@", ".T", ",", "if", "while", "def", "(",
    ];
    let mut seed: u64 = 12345;
    for _ in 0..200 {
        let mut s = String::new();
        for _ in 0..40 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s.push_str(toks[(seed >> 33) as usize % toks.len()]);
            s.push(' ');
        }
        let _ = lower(&s);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    // Parentheses, unary operators, a long operator chain, nested lists,
    // nested comprehensions and nested blocks, each 10,000 deep.
    let n = 10_000;
    let parens = format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    let unary = format!("x = {}1\n", "-".repeat(n));
    let chain = format!("x = {}\n", vec!["a"; n].join(" + "));
    let lists = format!("x = {}{}\n", "[".repeat(n), "]".repeat(n));
    let comps = format!("x = {}A[i]{}\n", "[".repeat(n), " for i in B]".repeat(n));
    let attrs = format!("x = a{}\n", ".b".repeat(n));
    let calls = format!("x = {}1{}\n", "f(".repeat(n), ")".repeat(n));
    let mut blocks = String::new();
    for d in 0..1000 {
        blocks.push_str(&" ".repeat(d));
        blocks.push_str("if x:\n");
    }
    blocks.push_str(&" ".repeat(1000));
    blocks.push_str("y = 1\n");
    for src in [parens, unary, chain, lists, comps, attrs, calls, blocks] {
        let f = lower(&src);
        assert!(!f.functions.is_empty());
    }
}

#[test]
fn column_iteration_reversed_ranges_and_shadowed_shapes() {
    let src = "\
import numpy as np
A = np.random.rand(n, n)
def f(B, out, n):
    for col in B.T:
        for k in range(len(col)):
            out[k] += col[k]
    for i in range(n - 1, -1, -1):
        out[i] = 0
    for _ in range(len(A)):
        pass
    for x in A:
        pass
";
    let file = lower(src);
    let f = func(&file, "f");
    assert_eq!(
        dump(&f.body),
        "\
for __i_col in 0..len(B[0]) step 1
  for k in 0..len(B) step 1
    out[k] += B[k][__i_col]
for i in n-1..-1 step -1
  out[i] = 0
for __i in 0..len(A) step 1
for __i_x in 0..len(A) step 1
"
    );
    // The module's `A` has shape `[n, n]`, but `n` is a parameter here, so
    // `len(A)` stays symbolic.
    let l = the_loop(&f.body[2]);
    assert_eq!(l.end, len_call(v("A")));
    // In `<module>` the shape is used.
    let m = lower("import numpy as np\nA = np.random.rand(n, n)\nfor r in A:\n    pass\n");
    assert_eq!(the_loop(&func(&m, "<module>").body[1]).end, v("n"));
}

#[test]
fn numpy_window_sum_is_a_nest_over_the_window() {
    let text = "import numpy as np\n\ndef conv(x, w, b, s):\n    N, C, H, W = x.shape\n    F, _, R, S = w.shape\n    out = np.zeros((N, F, H, W))\n    for n in range(N):\n        for f in range(F):\n            for i in range(H):\n                for j in range(W):\n                    out[n, f, i, j] = np.sum(x[n, :, i*s:i*s+R, j*s:j*s+S] * w[f]) + b[f]\n";
    let file = lower(text);
    let d = dump(&func(&file, "conv").body);
    eprintln!("{d}");
    assert!(d.contains("N = x.shape[0]"), "{d}");
    assert!(d.contains("_0 in 0..x.shape[1] step 1 comp"), "{d}");
    assert!(d.contains("_1 in 0..w.shape[2] step 1 comp"), "{d}");
    assert!(d.contains("][i*s+__win"), "{d}");
    assert!(d.contains("*w[f][__win"), "{d}");
    // One factor of unknown rank (`w[f]` with no shape): no window.
    let text2 = text.replace("    F, _, R, S = w.shape\n", "");
    let d2 = dump(&func(&lower(&text2), "conv").body);
    assert!(!d2.contains("__win"), "{d2}");
}

#[test]
fn counted_while_with_companion_counters() {
    // Counter stepped by `s` with a companion stepped by 1: the loop runs
    // over the companion and the counter is `s*oy`.
    let text = "def f(img, n, r, s):\n    y = oy = 0\n    while y + r <= n:\n        out[oy] = img[y]\n        y += s\n        oy += 1\n";
    let d = dump(&func(&lower(text), "f").body);
    assert!(d.starts_with("for oy in 0.."), "{d}");
    assert!(
        d.contains("out[oy] = img[s*oy]") || d.contains("out[oy] = img[oy*s]"),
        "{d}"
    );
    // Step 1 counter: the companion is bound to `c0 + (y - start)`.
    let text = "def g(a, n):\n    y = 2\n    k = 0\n    while y < n:\n        b[k] = a[y]\n        y += 1\n        k += 1\n";
    let d = dump(&func(&lower(text), "g").body);
    assert!(d.starts_with("for y in 2..n step 1"), "{d}");
    assert!(
        d.contains("b[y-2] = a[y]") || d.contains("b[-2+y] = a[y]"),
        "{d}"
    );
    // A companion assigned elsewhere in the body: not counted.
    let text = "def h(a, n):\n    y = k = 0\n    while y < n:\n        k = a[y]\n        y += 1\n        k += 1\n";
    let d = dump(&func(&lower(text), "h").body);
    assert!(d.contains("opaque"), "{d}");
}
