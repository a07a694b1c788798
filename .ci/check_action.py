"""Checks action.yml and the workflows in docs: valid YAML, a composite
action whose run steps name a shell, one `gemmscope check` writing SARIF and
annotations in one run, and the upload-sarif step. Run by .ci/run."""
import sys

import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "."
with open(f"{root}/action.yml") as f:
    action = yaml.safe_load(f)
assert action["runs"]["using"] == "composite", action["runs"]
steps = action["runs"]["steps"]
for s in steps:
    assert ("run" in s) != ("uses" in s), s
    if "run" in s:
        assert s.get("shell") == "bash", f"run step without shell: {s.get('name')}"
checks = [s for s in steps if "--output-format" in s.get("run", "")]
assert len(checks) == 1, "one gemmscope check step"
assert "--output-format \"sarif=" in checks[0]["run"] and "--output-format github" in checks[0]["run"]
uploads = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
assert len(uploads) == 1 and "sarif_file" in uploads[0]["with"], uploads
for name in action["inputs"]:
    assert "description" in action["inputs"][name], name
for wf in ["docs/github/gemmscope.yml", "docs/ci/gemmscope.yml"]:
    with open(f"{root}/{wf}") as f:
        doc = yaml.safe_load(f)
    assert "jobs" in doc and doc["permissions"]["security-events"] == "write", wf
print("ci: action.yml and the docs' workflows are valid")
