//! The GS602 rewrites (`fixes::torch`: TF32 for CUDA matmuls, or the
//! statement under bf16 autocast) run: each alternative is applied to
//! `tests/fixes/torch/fp32_mm.py`, and `tests/fixes/torch/compare.py` runs
//! the original and the rewritten module's `product` on the same inputs at
//! four sizes and compares the results.
//!
//! Here that runs on the CPU (`GEMMSCOPE_TORCH_DEVICE=cpu`), where both
//! settings are no-ops: it proves the rewritten module still imports, binds
//! the same names and computes the same product, not the accuracy cost.
//! The cost itself (TF32 within the title's ~1e-3) is measured on a GPU by
//! `microbench/gpu-check.sh`, which runs the same compare.py on CUDA.
//!
//! PyTorch comes from GEMMSCOPE_TEST_TORCH_PYTHON (.ci/run installs it in a
//! venv), else `python3` if it imports torch; otherwise the test prints
//! `SKIPPED ...` and why.

use std::process::Command;

use gemmscope_analyzers::fixes::{analyze_with_fixes, apply_edits, Applicability};
use gemmscope_analyzers::{BuildContext, Lang, NoIncludes};

mod common;
use common::*;

#[test]
fn tf32_and_bf16_rewrites_run_and_compute_the_same_product_on_the_cpu() {
    let path = root().join("fixes/torch/fp32_mm.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let p = path.to_string_lossy();
    let found = analyze_with_fixes(
        Lang::Python,
        &p,
        &text,
        &NoIncludes,
        &BuildContext::default(),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].finding.code, "GS602");
    let fixes = found[0].fixes.as_ref().expect("GS602 has fixes");
    assert_eq!(fixes.len(), 2, "{fixes:#?}");
    assert!(fixes
        .iter()
        .all(|f| f.applicability == Applicability::ChangesPrecision));
    let expect = [
        "import torch\ntorch.backends.cuda.matmul.allow_tf32 = True\n",
        "    with torch.autocast(device_type=\"cuda\", dtype=torch.bfloat16):\n        c = torch.mm(a, b)\n",
    ];
    let rewritten: Vec<String> = fixes
        .iter()
        .zip(expect)
        .map(|(f, want)| {
            let t = apply_edits(&text, &f.edits).unwrap();
            assert!(t.contains(want), "{}:\n{t}", f.title);
            // The finding is gone once the setting is there.
            let again =
                analyze_with_fixes(Lang::Python, &p, &t, &NoIncludes, &BuildContext::default());
            assert!(
                again.iter().all(|x| x.finding.code != "GS602"),
                "{}: GS602 still reported:\n{t}",
                f.title
            );
            t
        })
        .collect();

    let py = match torch_python() {
        Ok(p) => p,
        Err(why) => {
            gemmscope_microbench::testing::skip("running the GS602 rewrites", &why);
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("gemmscope-torch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (n, t) in rewritten.iter().enumerate() {
        let new = dir.join(format!("fixed_{n}.py"));
        std::fs::write(&new, t).unwrap();
        let out = Command::new(&py)
            .arg(root().join("fixes/torch/compare.py"))
            .arg(&path)
            .arg(&new)
            .arg("1e-12")
            .env("GEMMSCOPE_TORCH_DEVICE", "cpu")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            fixes[n].title,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.contains("relative error"))
                .count(),
            4
        );
        println!(
            "{}: {}",
            fixes[n].title,
            stdout.lines().last().unwrap_or("")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
