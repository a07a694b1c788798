// Packages the extension.
//
//   npm run package                  → gemmscope.vsix (universal: the
//                                      binary comes from PATH or gemmscope.path)
//   GEMMSCOPE_BIN=target/release/gemmscope npm run package:platform
//                                    → gemmscope-<platform>-<arch>.vsix with
//                                      that binary at bin/<platform>-<arch>/
//
// A platform .vsix is what ruff's extension ships: VS Code installs the one
// for its platform, and gemmscope.path still overrides the bundled binary.
// GEMMSCOPE_VSIX_TARGET overrides the target (a VS Code target name such as
// linux-arm64); the binary must be built for it.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
process.chdir(here);
const platform = process.argv.includes("--platform");
const vsce = path.join("node_modules", "@vscode", "vsce", "vsce");
fs.rmSync("bin", { recursive: true, force: true });

if (!platform) {
  execFileSync(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--out", "gemmscope.vsix"], {
    stdio: "inherit",
  });
  process.exit(0);
}

const target = process.env.GEMMSCOPE_VSIX_TARGET || `${process.platform}-${process.arch}`;
const src = process.env.GEMMSCOPE_BIN;
if (!src || !fs.existsSync(src)) {
  console.error(`package:platform: set GEMMSCOPE_BIN to the release binary to bundle (got ${src ?? "nothing"})`);
  process.exit(2);
}
const name = target.startsWith("win32") ? "gemmscope.exe" : "gemmscope";
const dest = path.join("bin", target, name);
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(src, dest);
fs.chmodSync(dest, 0o755);
const out = `gemmscope-${target}.vsix`;
try {
  execFileSync(
    process.execPath,
    [vsce, "package", "--no-dependencies", "--skip-license", "--target", target, "--out", out],
    { stdio: "inherit" },
  );
} finally {
  fs.rmSync("bin", { recursive: true, force: true });
}
console.log(`package:platform: ${out} bundles ${src} as ${dest.split(path.sep).join("/")}`);
