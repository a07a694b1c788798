import { test } from "node:test";
import * as assert from "node:assert/strict";
import { benchCommand, bundledBinary, contains, ProgressTracker, serverPath, toServerSettings } from "../src/logic";

const from = (m: Record<string, unknown>) => (k: string) => m[k];

test("defaults give only trust; unset settings are left to the server", () => {
  assert.deepEqual(toServerSettings(from({}), false), { trusted: false });
  assert.deepEqual(
    toServerSettings(from({ candidates: null, timeout: null, python: null, maxNesting: null }), true),
    { trusted: true },
  );
});

test("settings map onto the server's keys", () => {
  const s = toServerSettings(
    from({
      measure: false,
      calibrate: false,
      budget: 2.5,
      candidates: ["c-naive-O1", "openblas", 3],
      timeout: 7,
      python: "/usr/bin/python3",
      compiler: "clang",
      inlayHints: false,
      maxFileBytes: 1000.7,
      maxNesting: 50,
      analysisTimeoutMs: 500,
      rulesUrl: "https://x/rules.md",
    }),
    true,
  );
  assert.deepEqual(s, {
    trusted: true,
    measure: false,
    calibrate: false,
    budget: 2.5,
    candidates: ["c-naive-O1", "openblas"],
    timeout: 7,
    python: "/usr/bin/python3",
    compiler: "clang",
    inlayHints: false,
    maxFileBytes: 1000,
    maxNesting: 50,
    analysisTimeoutMs: 500,
    rulesUrl: "https://x/rules.md",
  });
});

test("an untrusted workspace passes trusted:false and no interpreter or compiler", () => {
  const s = toServerSettings(from({ python: "/evil/python", compiler: "/evil/cc", measure: true }), false);
  assert.equal(s.trusted, false);
  assert.equal(s.python, undefined);
  assert.equal(s.compiler, undefined);
  assert.equal(s.measure, true);
});

test("bad values are dropped", () => {
  assert.deepEqual(
    toServerSettings(from({ budget: -1, timeout: 0, candidates: [], rulesUrl: "" }), true),
    { trusted: true },
  );
});

test("server path", () => {
  assert.equal(serverPath(from({})), "gemmscope");
  assert.equal(serverPath(from({ path: "" })), "gemmscope");
  assert.equal(serverPath(from({ path: "/opt/gs/gemmscope" })), "/opt/gs/gemmscope");
});

test("server path: the setting, else the bundled binary, else PATH", () => {
  const bundled = "/ext/bin/linux-x64/gemmscope";
  const there = (p: string) => p === bundled;
  const nowhere = () => false;
  // The setting overrides a bundled binary.
  assert.equal(serverPath(from({ path: "/opt/gs/gemmscope" }), bundled, there), "/opt/gs/gemmscope");
  // Unset (the default is empty): the bundled one, when the .vsix has it.
  assert.equal(serverPath(from({ path: "" }), bundled, there), bundled);
  assert.equal(serverPath(from({}), bundled, there), bundled);
  // A universal .vsix (no bin/): PATH.
  assert.equal(serverPath(from({ path: "" }), bundled, nowhere), "gemmscope");
  assert.deepEqual(bundledBinary("linux", "x64"), ["bin", "linux-x64", "gemmscope"]);
  assert.deepEqual(bundledBinary("darwin", "arm64"), ["bin", "darwin-arm64", "gemmscope"]);
  assert.deepEqual(bundledBinary("win32", "x64"), ["bin", "win32-x64", "gemmscope.exe"]);
});

test("status bar follows begin/report/end and queued benchmarks", () => {
  const t = new ProgressTracker();
  assert.equal(t.view().text, "$(check) gemmscope");
  assert.equal(t.view().cancellable, false);
  t.update("a", { kind: "begin", title: "gemmscope: measuring 64×64×64 f32", percentage: 0, cancellable: true });
  assert.equal(t.view().text, "$(sync~spin) gemmscope: measuring 0%");
  assert.equal(t.view().cancellable, true);
  t.update("a", { kind: "report", message: "openblas", percentage: 42.4 });
  assert.equal(t.view().text, "$(sync~spin) gemmscope: measuring 42%");
  assert.match(t.view().tooltip, /64×64×64 f32 — openblas\nClick to cancel\./);
  t.update(7, { kind: "begin", title: "second" });
  assert.equal(t.view().text, "$(sync~spin) gemmscope: measuring 42% (+1 queued)");
  assert.equal(t.current(), "a");
  t.update("a", { kind: "end", message: "6 candidates in 4.9 s" });
  assert.equal(t.current(), "7");
  assert.equal(t.view().text, "$(sync~spin) gemmscope: measuring");
  assert.equal(t.view().cancellable, false);
  t.update(7, { kind: "end" });
  assert.equal(t.view().text, "$(check) gemmscope");
  assert.equal(t.view().tooltip, "gemmscope: last benchmark — second");
  // A report for an unknown token changes nothing.
  t.update("zz", { kind: "report", percentage: 5 });
  assert.equal(t.current(), undefined);
});

test("bench command from the diagnostic's data", () => {
  const data = { m: 64, benchArgs: ["bench", "gemm", "--m", "64", "--n", "64", "--k", "64"] };
  assert.deepEqual(benchCommand(data, { trusted: true }, "gemmscope"), {
    argv: ["gemmscope", "bench", "gemm", "--m", "64", "--n", "64", "--k", "64"],
  });
  assert.deepEqual(benchCommand(data, { trusted: true, budget: 2, timeout: 9, candidates: ["a", "b"] }, "/x/gs"), {
    argv: ["/x/gs", "bench", "gemm", "--m", "64", "--n", "64", "--k", "64", "--budget", "2", "--timeout", "9", "--candidates", "a,b"],
  });
  assert.deepEqual(benchCommand({ noBench: "M = `n` has no value in this file" }, { trusted: true }, "gs"), {
    error: "M = `n` has no value in this file",
  });
  assert.ok("error" in benchCommand(undefined, { trusted: true }, "gs"));
  assert.ok("error" in benchCommand({ benchArgs: [1, 2] }, { trusted: true }, "gs"));
});

test("range containment is inclusive", () => {
  const r = { start: { line: 7, character: 4 }, end: { line: 10, character: 45 } };
  assert.ok(contains(r, { line: 7, character: 4 }));
  assert.ok(contains(r, { line: 9, character: 0 }));
  assert.ok(contains(r, { line: 10, character: 45 }));
  assert.ok(!contains(r, { line: 7, character: 3 }));
  assert.ok(!contains(r, { line: 10, character: 46 }));
  assert.ok(!contains(r, { line: 11, character: 0 }));
});
