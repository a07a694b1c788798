// gemmscope for VS Code: starts `gemmscope serve` for C, C++, CUDA and
// Python files, shows measurement progress in the status bar, and runs
// `gemmscope bench` for the finding under the cursor.

import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  WorkDoneProgress,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";
import { benchCommand, bundledBinary, contains, ProgressTracker, serverPath, toServerSettings } from "./logic";

const LANGUAGES = ["c", "cpp", "cuda-cpp", "cuda", "python"];

let client: LanguageClient | undefined;
let status: vscode.StatusBarItem;
let tracker = new ProgressTracker();
let progressSubs: vscode.Disposable[] = [];

function cfg(): (key: string) => unknown {
  const c = vscode.workspace.getConfiguration("gemmscope");
  return (key) => c.get(key);
}

let extensionPath = "";

/** A bundled binary that is there (made executable if the .vsix lost its mode). */
function usable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    try {
      fs.chmodSync(p, 0o755);
      return true;
    } catch {
      return false;
    }
  }
}

/** `gemmscope.path`, else the binary in this platform's .vsix, else PATH. */
function binary(): string {
  const bundled = path.join(extensionPath, ...bundledBinary(process.platform, process.arch));
  return serverPath(cfg(), bundled, usable);
}

function settings() {
  return toServerSettings(cfg(), vscode.workspace.isTrusted);
}

function showStatus(): void {
  const v = tracker.view();
  status.text = v.text;
  status.tooltip = v.tooltip;
  status.command = v.cancellable ? "gemmscope.cancelBenchmark" : undefined;
  status.show();
}

async function start(ctx: vscode.ExtensionContext): Promise<void> {
  const bin = binary();
  const serverOptions: ServerOptions = { command: bin, args: ["serve"] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.map((language) => ({ scheme: "file", language })),
    initializationOptions: settings(),
    outputChannelName: "gemmscope",
  };
  client = new LanguageClient("gemmscope", "gemmscope", serverOptions, clientOptions);
  tracker = new ProgressTracker();
  try {
    await client.start();
  } catch (e) {
    status.text = "$(error) gemmscope";
    status.tooltip = `gemmscope: the server did not start (${bin} serve): ${e}`;
    status.show();
    void vscode.window.showErrorMessage(
      `gemmscope: could not start \`${bin} serve\` — install gemmscope or set "gemmscope.path". (${e})`,
    );
    return;
  }
  // Background benchmarks are work-done progresses the server creates;
  // follow them in the status bar (instead of the default notification).
  const c = client;
  c.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
    const sub = c.onProgress(WorkDoneProgress.type, token, (value) => {
      tracker.update(token, value);
      if (value.kind === "end") sub.dispose();
      showStatus();
    });
    progressSubs.push(sub);
  });
  showStatus();
  ctx.subscriptions.push({ dispose: () => void c.stop() });
}

async function stop(): Promise<void> {
  progressSubs.forEach((s) => s.dispose());
  progressSubs = [];
  if (client) {
    const c = client;
    client = undefined;
    await c.stop().catch(() => undefined);
  }
}

function pushSettings(): void {
  if (client?.isRunning()) {
    void client.sendNotification(DidChangeConfigurationNotification.type, { settings: settings() });
  }
}

async function benchmarkLoop(): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage("gemmscope: benchmarks run only in a trusted workspace.");
    return;
  }
  const ed = vscode.window.activeTextEditor;
  if (!ed) return;
  const pos = ed.selection.active;
  const hits = vscode.languages
    .getDiagnostics(ed.document.uri)
    .filter((d) => d.source === "gemmscope")
    .filter((d) => contains(d.range, pos))
    .sort((a, b) => a.range.end.line - a.range.start.line - (b.range.end.line - b.range.start.line));
  if (hits.length === 0) {
    void vscode.window.showInformationMessage("gemmscope: no finding under the cursor.");
    return;
  }
  // vscode-languageclient keeps the LSP diagnostic's `data` on the object.
  const data = (hits[0] as vscode.Diagnostic & { data?: unknown }).data;
  const r = benchCommand(data, settings(), binary());
  if ("error" in r) {
    void vscode.window.showWarningMessage(`gemmscope: cannot benchmark this finding: ${r.error}`);
    return;
  }
  const term = vscode.window.createTerminal({
    name: "gemmscope bench",
    shellPath: r.argv[0],
    shellArgs: r.argv.slice(1),
    cwd: vscode.workspace.getWorkspaceFolder(ed.document.uri)?.uri.fsPath,
  });
  term.show();
}

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  extensionPath = ctx.extensionPath;
  status = vscode.window.createStatusBarItem("gemmscope.status", vscode.StatusBarAlignment.Left, 0);
  status.name = "gemmscope";
  ctx.subscriptions.push(status);
  ctx.subscriptions.push(
    vscode.commands.registerCommand("gemmscope.benchmarkLoop", benchmarkLoop),
    vscode.commands.registerCommand("gemmscope.restartServer", async () => {
      await stop();
      await start(ctx);
    }),
    vscode.commands.registerCommand("gemmscope.cancelBenchmark", () => {
      const token = tracker.current();
      if (token !== undefined && client?.isRunning()) {
        void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
      }
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("gemmscope.path")) {
        await stop();
        await start(ctx);
      } else if (e.affectsConfiguration("gemmscope")) {
        pushSettings();
      }
    }),
    // Trust granted while open: the server may measure from now on.
    vscode.workspace.onDidGrantWorkspaceTrust(pushSettings),
  );
  await start(ctx);
}

export async function deactivate(): Promise<void> {
  await stop();
}
