//! GS602 asks the project, not the file: a model module's FP32 matmuls on
//! CUDA are not reported where the entry point that imports it turns TF32
//! or autocast on, and the findings that stay say which modules were read
//! (through the real binary, `check` over a tree and over one file).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const MODEL: &str = "import torch\n\
import torch.nn as nn\n\
\n\
class Block(nn.Module):\n\
    def __init__(self, d):\n\
        super().__init__()\n\
        self.proj = nn.Linear(d, 4 * d)\n\
\n\
    def forward(self, x):\n\
        return self.proj(x)\n\
\n\
def build(d):\n\
    return Block(d).to(torch.device(\"cuda\"))\n";

const TRAIN_TF32: &str = "import torch\n\
from model import build\n\
\n\
torch.backends.cuda.matmul.allow_tf32 = True\n\
net = build(768)\n\
print(net)\n";

const TRAIN_PLAIN: &str = "import torch\n\
from model import build\n\
\n\
net = build(768)\n\
print(net)\n";

/// An unrelated script beside them that sets TF32 but imports nothing.
const OTHER_TF32: &str = "import torch\n\
torch.set_float32_matmul_precision(\"high\")\n\
print(torch.randn(4, 4, device=\"cuda\").sum())\n";

fn gs602(dir: &Path, target: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args([
            "check",
            "--bench",
            "off",
            "--no-config",
            "--format",
            "json",
            target,
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "GS602")
        .cloned()
        .collect()
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    d
}

#[test]
fn an_entry_point_that_turns_tf32_on_covers_the_module_it_imports() {
    let d = tree(&[("model.py", MODEL), ("train.py", TRAIN_TF32)]);
    assert!(gs602(d.path(), ".").is_empty());
    // The file alone: reported, and it says only this file was read.
    let alone = gs602(d.path(), "model.py");
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(
        alone[0]["why"]
            .as_str()
            .unwrap()
            .contains("only this file was read"),
        "{}",
        alone[0]["why"]
    );
}

#[test]
fn an_importer_without_a_setting_is_named_and_an_unrelated_script_does_not_count() {
    let d = tree(&[
        ("model.py", MODEL),
        ("train.py", TRAIN_PLAIN),
        ("other.py", OTHER_TF32),
    ]);
    let found = gs602(d.path(), ".");
    let model: Vec<&Value> = found
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("model.py"))
        .collect();
    assert_eq!(model.len(), 1, "{found:?}");
    let why = model[0]["why"].as_str().unwrap();
    assert!(
        why.contains("the modules that import it (train.py)"),
        "{why}"
    );
}

#[test]
fn the_setting_may_be_two_imports_away() {
    let trainer = "from model import build\n\ndef make():\n    return build(512)\n";
    let main = "import torch\nimport trainer\n\nwith torch.autocast(\"cuda\", dtype=torch.bfloat16):\n    trainer.make()\n";
    let d = tree(&[
        ("model.py", MODEL),
        ("trainer.py", trainer),
        ("main.py", main),
    ]);
    assert!(gs602(d.path(), ".").is_empty());
}

/// `--diff` re-checks a file each round with the run's project index: the
/// GS602 that the entry point's TF32 setting answered stays answered (it
/// was printed as "not fixed" when the fix rounds checked the file alone).
#[test]
fn fix_rounds_keep_the_projects_answer() {
    let model = format!(
        "{MODEL}\n{}",
        concat!(
            "def slow(a, b, n):\n",
            "    c = np.zeros((n, n))\n",
            "    for i in range(n):\n",
            "        for j in range(n):\n",
            "            for k in range(n):\n",
            "                c[i, j] += a[i, k] * b[k, j]\n",
            "    return c\n",
        )
    );
    let model = model.replace("import torch\n", "import torch\nimport numpy as np\n");
    let d = tree(&[("model.py", &model), ("train.py", TRAIN_TF32)]);
    let out = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--bench", "off", "--no-config", "--diff", "."])
        .current_dir(d.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("model.py"),
        "no fix for the loop: {diff}\n{err}"
    );
    assert!(!err.contains("GS602"), "{err}");
}
