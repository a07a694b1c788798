// The client-side logic that needs no VS Code: settings → the server's
// settings, progress → status-bar text, a diagnostic's data → the bench
// command line. Unit-tested in test/logic.test.ts with node:test.

/** Reads one `gemmscope.*` setting (VS Code's `WorkspaceConfiguration.get`). */
export type Get = (key: string) => unknown;

/** The server's settings (docs/lsp.md "Settings"). */
export interface ServerSettings {
  trusted: boolean;
  measure?: boolean;
  calibrate?: boolean;
  budget?: number;
  candidates?: string[];
  timeout?: number;
  python?: string;
  compiler?: string;
  inlayHints?: boolean;
  maxFileBytes?: number;
  maxNesting?: number;
  analysisTimeoutMs?: number;
  rulesUrl?: string;
}

const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === "string" && x.length > 0;

/**
 * The server's settings from the extension's, for `initializationOptions`
 * and `workspace/didChangeConfiguration`. Unset (null) settings are left
 * out so the server's defaults apply. `trusted` is the workspace's trust,
 * never a setting: an untrusted workspace gets `trusted: false`, so the
 * server measures nothing and starts no configured compiler or Python.
 */
export function toServerSettings(get: Get, trusted: boolean): ServerSettings {
  const s: ServerSettings = { trusted };
  const measure = get("measure");
  if (typeof measure === "boolean") s.measure = measure;
  const calibrate = get("calibrate");
  if (typeof calibrate === "boolean") s.calibrate = calibrate;
  const budget = get("budget");
  if (isNum(budget) && budget >= 0) s.budget = budget;
  const candidates = get("candidates");
  if (Array.isArray(candidates)) {
    const ids = candidates.filter(isStr);
    if (ids.length > 0) s.candidates = ids;
  }
  const timeout = get("timeout");
  if (isNum(timeout) && timeout > 0) s.timeout = timeout;
  // Interpreter and compiler are only passed in a trusted workspace (they
  // are restricted settings, and the server would not start them anyway).
  if (trusted) {
    const python = get("python");
    if (isStr(python)) s.python = python;
    const compiler = get("compiler");
    if (isStr(compiler)) s.compiler = compiler;
  }
  const inlay = get("inlayHints");
  if (typeof inlay === "boolean") s.inlayHints = inlay;
  for (const k of ["maxFileBytes", "maxNesting", "analysisTimeoutMs"] as const) {
    const v = get(k);
    if (isNum(v) && v > 0) s[k] = Math.floor(v);
  }
  const rules = get("rulesUrl");
  if (isStr(rules)) s.rulesUrl = rules;
  return s;
}

/**
 * The server binary, in this order: the `gemmscope.path` setting when it is
 * set; else the binary bundled in a platform .vsix (`bin/<platform>-<arch>/
 * gemmscope`, when `exists` says it is there); else `gemmscope` on `PATH`.
 */
export function serverPath(get: Get, bundled?: string, exists?: (path: string) => boolean): string {
  const p = get("path");
  if (isStr(p)) return p;
  if (bundled !== undefined && exists !== undefined && exists(bundled)) return bundled;
  return "gemmscope";
}

/**
 * Where a platform .vsix keeps its binary, relative to the extension's
 * folder: `bin/linux-x64/gemmscope`, `bin/win32-x64/gemmscope.exe`, … (the
 * platform and arch are Node's, as in VS Code's target names).
 */
export function bundledBinary(platform: string, arch: string): string[] {
  return ["bin", `${platform}-${arch}`, platform === "win32" ? "gemmscope.exe" : "gemmscope"];
}

/** The LSP `WorkDoneProgress` values the status bar follows. */
export type Progress =
  | { kind: "begin"; title: string; message?: string; percentage?: number; cancellable?: boolean }
  | { kind: "report"; message?: string; percentage?: number; cancellable?: boolean }
  | { kind: "end"; message?: string };

/** What the status-bar item shows for the benchmarks in flight. */
export interface StatusView {
  text: string;
  tooltip: string;
  /** Clicking cancels the oldest running benchmark. */
  cancellable: boolean;
}

/**
 * Follows the server's work-done progresses (one per background
 * benchmark) and says what the status bar shows.
 */
export class ProgressTracker {
  private running = new Map<string, { title: string; message?: string; percentage?: number; cancellable: boolean }>();
  private last?: string;

  update(token: string | number, p: Progress): void {
    const key = String(token);
    if (p.kind === "begin") {
      this.running.set(key, {
        title: p.title,
        message: p.message,
        percentage: p.percentage,
        cancellable: p.cancellable ?? false,
      });
    } else if (p.kind === "report") {
      const r = this.running.get(key);
      if (!r) return;
      if (p.message !== undefined) r.message = p.message;
      if (p.percentage !== undefined) r.percentage = p.percentage;
      if (p.cancellable !== undefined) r.cancellable = p.cancellable;
    } else {
      const r = this.running.get(key);
      this.running.delete(key);
      if (r) this.last = p.message ? `${r.title}: ${p.message}` : r.title;
    }
  }

  /** The token of the oldest running benchmark, if any. */
  current(): string | undefined {
    return this.running.keys().next().value;
  }

  view(): StatusView {
    const first = this.current();
    if (first === undefined) {
      return {
        text: "$(check) gemmscope",
        tooltip: this.last ? `gemmscope: last benchmark — ${this.last}` : "gemmscope: no benchmark running",
        cancellable: false,
      };
    }
    const r = this.running.get(first)!;
    const pct = r.percentage !== undefined ? ` ${Math.round(r.percentage)}%` : "";
    const more = this.running.size > 1 ? ` (+${this.running.size - 1} queued)` : "";
    const tip = [r.title, r.message].filter(Boolean).join(" — ");
    return {
      text: `$(sync~spin) gemmscope: measuring${pct}${more}`,
      tooltip: r.cancellable ? `${tip}\nClick to cancel.` : tip,
      cancellable: r.cancellable,
    };
  }
}

/** A gemmscope diagnostic's `data` (server/src/lsp/diagnostics.rs). */
export interface DiagnosticData {
  benchArgs?: string[];
  noBench?: string;
}

/**
 * The `gemmscope bench` command line that measures a finding, from its
 * diagnostic's data and the settings, or the reason there is none.
 */
export function benchCommand(
  data: unknown,
  settings: ServerSettings,
  binary: string,
): { argv: string[] } | { error: string } {
  if (typeof data !== "object" || data === null) {
    return { error: "this diagnostic carries no problem to benchmark (is the server older than the extension?)" };
  }
  const d = data as DiagnosticData;
  if (typeof d.noBench === "string") return { error: d.noBench };
  if (!Array.isArray(d.benchArgs) || !d.benchArgs.every((x) => typeof x === "string")) {
    return { error: "this diagnostic carries no bench arguments" };
  }
  const argv = [binary, ...d.benchArgs];
  if (settings.budget !== undefined) argv.push("--budget", String(settings.budget));
  if (settings.timeout !== undefined) argv.push("--timeout", String(settings.timeout));
  if (settings.candidates && settings.candidates.length > 0) argv.push("--candidates", settings.candidates.join(","));
  return { argv };
}

/** Is (line, character) inside the range (inclusive of both ends)? */
export function contains(
  r: { start: { line: number; character: number }; end: { line: number; character: number } },
  p: { line: number; character: number },
): boolean {
  const afterStart = p.line > r.start.line || (p.line === r.start.line && p.character >= r.start.character);
  const beforeEnd = p.line < r.end.line || (p.line === r.end.line && p.character <= r.end.character);
  return afterStart && beforeEnd;
}
