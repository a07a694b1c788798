//! Differential tests of the Python row-loop (GS401) and attention (GS501)
//! rewrites: each fixture function (and the corpus files) is run before and
//! after the rewrite with python3 on the same random inputs at several
//! sizes, non-square included; results (values, dtype, shape, type) and the
//! arguments after the call must agree within 1e-4 (float32) or 1e-10
//! (float64). NumPy cases need python3 with NumPy (`GEMMSCOPE_PYTHON`);
//! PyTorch cases need a Python with torch: `GEMMSCOPE_TEST_TORCH_PYTHON`,
//! else `python3` if it imports torch. Without them the test prints why and
//! skips that part. Negatives get no fix and the asserted reason.

use std::process::Command;

mod common;
use common::*;

/// One function to drive: `make` is Python evaluated with `mod` (the
/// loaded module), `s` (the size tuple), `rng` (a NumPy Generator, seeded
/// the same for both versions) and, for torch cases, `torch` (seeded too);
/// it gives `(callable, args)`.
struct Case {
    file: &'static str,
    make: &'static str,
    sizes: &'static str,
}

const ROW_SIZES: &str = "[(1, 1, 1), (3, 5, 7), (8, 2, 5), (13, 11, 6)]";
/// (batch, heads, queries, keys, head dim, value dim).
const ATT_SIZES: &str =
    "[(1, 1, 1, 1, 1, 1), (2, 3, 5, 7, 4, 6), (1, 2, 8, 3, 16, 5), (3, 1, 13, 11, 8, 8)]";
/// Causal masks need as many keys as queries.
const CAUSAL_SIZES: &str = "[(1, 1, 1, 1, 1, 1), (2, 3, 5, 5, 4, 6), (1, 2, 9, 9, 16, 3)]";

fn row_cases() -> Vec<Case> {
    vec![
        Case {
            file: "corpus/python/row_products_numpy.py",
            make: "setattr(mod, 'R', s[0]) or setattr(mod, 'D_OUT', s[1]) or (mod.project, [rng.standard_normal((s[0], s[2])).astype(np.float32), rng.standard_normal((s[2], s[1])).astype(np.float32)])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.dot_rows, [rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[2], s[1]))])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.accumulate_from_offset, [rng.uniform(-1, 1, (s[0] + 3, s[2])).astype(np.float32), rng.uniform(-1, 1, (s[2], s[1])).astype(np.float32), 1, s[0] + 1])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.weight_first, [rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[1], s[2]))])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.lists_weight_first, [rng.uniform(-1, 1, (s[0], s[2])).tolist(), rng.uniform(-1, 1, (s[1], s[2])).tolist()])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.columns, [rng.uniform(-1, 1, (s[2], s[0])).astype(np.float32), rng.uniform(-1, 1, (s[1], s[2])).astype(np.float32)])",
            sizes: ROW_SIZES,
        },
        Case {
            file: "fixes/python/rows_forms.py",
            make: "(mod.int_rows, [rng.integers(-9, 9, (s[0], s[2])), rng.integers(-9, 9, (s[2], s[1]))])",
            sizes: ROW_SIZES,
        },
    ]
}

fn attention_cases() -> Vec<Case> {
    // q, k, v in float64 (b, h, L, E), (b, h, S, E), (b, h, S, Ev).
    const QKV: &str = "torch.randn(s[0], s[1], s[2], s[4], dtype=torch.float64), torch.randn(s[0], s[1], s[3], s[4], dtype=torch.float64), torch.randn(s[0], s[1], s[3], s[5], dtype=torch.float64)";
    // A 0/1 int mask with every query keeping key 0 (a fully masked row
    // gives NaN by hand and 0 in SDPA; the fix says it assumes none).
    const MASK: &str =
        "(lambda m: m.index_fill_(-1, torch.tensor([0]), 1))((torch.rand(s[2], s[3]) > 0.4).int())";
    vec![
        Case {
            file: "corpus/python/attention_torch.py",
            make: "(lambda m: (m, [torch.randn(s[0], s[2], s[1] * s[4], dtype=torch.float64)]))(mod.SelfAttention(s[1] * s[4], s[1]).double())",
            sizes: ATT_SIZES,
        },
        Case {
            file: "corpus/python/attention_torch.py",
            make: "(lambda m: (m, [torch.randn(s[0], s[2], s[1] * s[4])]))(mod.SelfAttention(s[1] * s[4], s[1]))",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.default_scale, [QKV])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.default_scale, [t.float() for t in [QKV]])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.masked_scaled, [QKV, MASK, 0.37])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.causal, [QKV])",
            sizes: CAUSAL_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.additive_bias, [QKV, torch.randn(s[2], s[3], dtype=torch.float64)])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_forms.py",
            make: "(mod.unscaled_with_unrelated, [QKV])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_f_only.py",
            make: "(mod.bool_mask, [QKV, torch.rand(s[2], s[3]).index_fill_(-1, torch.tensor([0]), 1.0) < 0.4])",
            sizes: ATT_SIZES,
        },
        Case {
            file: "fixes/python/attention_f_only.py",
            make: "(mod.per_query_block, [list(torch.randn(3, s[0], s[1], s[2], s[4], dtype=torch.float64)), torch.randn(s[0], s[1], s[3], s[4], dtype=torch.float64), torch.randn(s[0], s[1], s[3], s[5], dtype=torch.float64)])",
            sizes: ATT_SIZES,
        },
    ]
    .into_iter()
    .map(|c| Case {
        make: Box::leak(
            c.make
                .replace("QKV", QKV)
                .replace("MASK", MASK)
                .into_boxed_str(),
        ),
        ..c
    })
    .collect()
}

const DRIVER: &str = r#"
import importlib.util, sys
import numpy as np
try:
    import torch
except ImportError:
    torch = None

def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m

def tol(dtype):
    return 1e-4 if str(dtype) in ("float32", "torch.float32") else 1e-10

def same(a, b, path="result"):
    if torch is not None and (isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor)):
        assert isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor), f"{path}: {type(a)} vs {type(b)}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)}"
        t = tol(a.dtype)
        assert torch.allclose(a, b, rtol=t, atol=t, equal_nan=True), f"{path}: max diff {(a - b).abs().max().item()}"
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), f"{path}: {type(a)} vs {type(b)}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        t = tol(a.dtype)
        assert np.allclose(a, b, rtol=t, atol=t), f"{path}: max diff {np.max(np.abs(a - b))}"
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-10 * (1 + abs(a)), f"{path}: {a} vs {b}"
    elif a is None or isinstance(a, (int, str, bool)):
        assert a == b, f"{path}: {a!r} vs {b!r}"

orig, new, make, sizes = sys.argv[1], sys.argv[2], sys.argv[3], eval(sys.argv[4])
runs = 0
for s in sizes:
    outs = []
    for path, name in [(orig, "gs_orig"), (new, "gs_new")]:
        if torch is not None:
            torch.manual_seed(11)
        rng = np.random.default_rng(7)
        mod = load(path, name)
        if torch is not None:
            torch.manual_seed(5)
        fn, args = eval(make)
        grad = torch.no_grad() if torch is not None else None
        if grad is not None:
            with grad:
                res = fn(*args)
        else:
            res = fn(*args)
        outs.append((res, args))
    same(outs[0][0], outs[1][0])
    same(outs[0][1], outs[1][1], "arguments after the call")
    runs += 1
print(runs)
"#;

/// Runs every case; returns (cases, size runs) or the failures.
fn differential(py: &str, cases: &[Case], tag: &str) -> (usize, usize) {
    let dir = tempdir(tag);
    let driver = dir.join("driver.py");
    std::fs::write(&driver, DRIVER).unwrap();
    let mut failures = Vec::new();
    let mut total = 0;
    for (n, case) in cases.iter().enumerate() {
        let path = root().join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 8);
        if rounds == 0 {
            failures.push(format!("{}: no rewrite", case.file));
            continue;
        }
        let new = dir.join(format!("fixed_{n}.py"));
        std::fs::write(&new, &fixed).unwrap();
        let out = Command::new(py)
            .arg(&driver)
            .arg(&path)
            .arg(&new)
            .arg(case.make)
            .arg(case.sizes)
            .output()
            .unwrap();
        let count = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let expected = case.sizes.matches('(').count();
        if !out.status.success() || count != expected {
            failures.push(format!(
                "{} `{}`: {} of {expected} runs\n{}\n--- rewritten:\n{fixed}",
                case.file,
                case.make,
                count,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        total += count;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
    (cases.len(), total)
}

#[test]
fn row_loop_rewrites_compute_what_the_loops_computed() {
    let py = match numpy_python() {
        Ok(p) => p,
        Err(why) => {
            gemmscope_microbench::testing::skip(
                "row_loop_rewrites_compute_what_the_loops_computed",
                &why,
            );
            return;
        }
    };
    let (cases, runs) = differential(&py, &row_cases(), "rows");
    println!("GS401 differential: {cases} cases, {runs} size runs agree");
    assert!(runs >= 28);
}

#[test]
fn attention_rewrites_compute_what_the_statements_computed() {
    let py = match torch_python() {
        Ok(p) => p,
        Err(why) => {
            gemmscope_microbench::testing::skip(
                "attention_rewrites_compute_what_the_statements_computed",
                &why,
            );
            return;
        }
    };
    let (cases, runs) = differential(&py, &attention_cases(), "attention");
    println!("GS501 differential: {cases} cases, {runs} size runs agree");
    assert!(runs >= 38);
}

/// The rewrites themselves, checked as text (no Python needed).
#[test]
fn rewrites_read_as_expected() {
    let check = |file: &str, want: &[&str]| {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 8);
        assert_eq!(rounds, 1, "{file}: {fixed}");
        for w in want {
            assert!(fixed.contains(w), "{file}: no `{w}` in\n{fixed}");
        }
    };
    check(
        "corpus/python/row_products_numpy.py",
        &["    out[:R] = np.matmul(X[:R], W)\n    return out"],
    );
    check(
        "fixes/python/rows_forms.py",
        &[
            "out[:X.shape[0]] = np.matmul(X[:X.shape[0]], W)",
            "out[lo:hi] += X[lo:hi] @ W",
            "out[:len(X)] = X[:len(X)] @ W.T",
            "out[:len(X)] = np.matmul(X[:len(X)], np.transpose(W))",
            "out[:, :X.shape[1]] = W @ X[:, :X.shape[1]]",
            "out[:len(X)] = X[:len(X)] @ W\n",
        ],
    );
    check(
        "corpus/python/attention_torch.py",
        &["        y = F.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(self.head_dim))\n        y = y.transpose(1, 2)"],
    );
    check(
        "fixes/python/attention_forms.py",
        &[
            "    return F.scaled_dot_product_attention(q, k, v)\n",
            "y = F.scaled_dot_product_attention(q, k, v, scale=scale, attn_mask=mask != 0)",
            "out = F.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(k.size(-1)), attn_mask=torch.tril(torch.ones(t, t)) != 0)",
            "out = F.scaled_dot_product_attention(q, k, v, scale=1 / 8.0, attn_mask=bias)",
            "    n = 3\n    y = F.scaled_dot_product_attention(q, k, v, scale=1.0) * n\n",
        ],
    );
    check(
        "fixes/python/attention_f_only.py",
        &[
            "    return F.scaled_dot_product_attention(q, k, v, scale=(1.0 / math.sqrt(k.size(-1))), attn_mask=~masked)\n",
            "        ys.append(F.scaled_dot_product_attention(q, k, v, scale=1.0))\n",
        ],
    );
}

/// Each finding of a negative fixture, in order, has no fix and says why.
#[test]
fn negatives_get_no_fix_and_a_reason() {
    let cases: &[(&str, &[&str])] = &[
        (
            "fixes/python/rows_neg.py",
            &[
                "steps by `2`",
                "also does `seen.append(r)`",
                "`r` is read after the loop",
                "more than the product",
                "not known to be a NumPy array",
                "different axes",
                "computed by a call",
                "appends each product to a list",
            ],
        ),
        (
            "fixes/python/attention_neg.py",
            &[
                "dropout on the attention weights",
                "`att` (the attention weights) is also used on line 20",
                "fills with `-1e9`, not -inf",
                "runs over dim `-2`",
                "scaled after the mask",
                "`k.T` reverses every axis",
                "stored in `self.last_attention`",
            ],
        ),
        (
            "corpus/python/attention_numpy.py",
            &["NumPy has no fused attention kernel"],
        ),
    ];
    for (file, reasons) in cases {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert_eq!(v.len(), reasons.len(), "{file}: {v:#?}");
        for (f, why) in v.iter().zip(reasons.iter()) {
            match &f.fixes {
                Ok(x) => panic!(
                    "{file}:{}: unexpected fix {x:#?}",
                    f.finding.range.start_line
                ),
                Err(e) => assert!(
                    e.reason.contains(why),
                    "{file}:{}: {:?} does not say {why:?}",
                    f.finding.range.start_line,
                    e.reason
                ),
            }
        }
    }
}
