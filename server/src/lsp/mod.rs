//! `gemmscope serve`: the language server. LSP over stdio on tokio
//! (tower-lsp-server). Only this module knows LSP types; the trait methods
//! of [`Backend`] forward to [`Core`], whose logic lives in plain functions
//! in the submodules (documents, diagnostics, hover, inlay hints,
//! progress) and which never blocks the reactor: analyses run on a
//! snapshot in `spawn_blocking`, benchmarks on their own thread.

pub mod analysis;
pub mod codeaction;
pub mod config;
pub mod diagnostics;
pub mod documents;
pub mod file_settings;
pub mod frames;
pub mod hover;
pub mod inlay;
pub mod measure;
pub mod progress;

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use gemmscope_analyzers::{Finding, Lang};

use gemmscope_microbench::store::problem_key;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::jsonrpc::Result as RpcResult;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::advice::{Advisor, StoreSource};
use crate::file_check::{self, FileReport, Reported};
use file_settings::ConfigCache;
use gemmscope_analyzers::Analysis;
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::toolchain::Toolchain;

use analysis::{Limits, Outcome};
use config::Settings;
use documents::Documents;
use measure::{Event, MeasureConfig, Measurer};

/// How the server is started.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The benchmark child command (`gemmscope __bench-child`).
    pub bench_child: Vec<OsString>,
}

impl ServeOptions {
    /// The child is this executable.
    pub fn from_current_exe() -> ServeOptions {
        let exe = std::env::current_exe()
            .map(PathBuf::into_os_string)
            .unwrap_or_else(|_| "gemmscope".into());
        ServeOptions {
            bench_child: vec![exe, "__bench-child".into()],
        }
    }
}

/// Serves LSP on `input`/`output` until `exit`.
pub async fn serve<I, O>(input: I, output: O, opts: ServeOptions)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite,
{
    // The core, to stop a running benchmark once the session is over.
    let slot: Arc<Mutex<Option<Arc<Core>>>> = Arc::default();
    let keep = slot.clone();
    let (service, socket) = LspService::build(move |client| {
        let b = Backend::new(client, opts);
        *lock(&keep) = Some(b.core.clone());
        b
    })
    .custom_method("window/workDoneProgress/cancel", Backend::cancel_progress)
    .custom_method(frames::MALFORMED_METHOD, Backend::malformed)
    .finish();
    // Malformed frames are answered, not fatal: see `frames`.
    let (to_server, from_filter) = tokio::io::duplex(1 << 20);
    let filter = tokio::spawn(frames::filter(input, to_server));
    Server::new(from_filter, output, socket)
        .serve(service)
        .await;
    filter.abort();
    // `exit`, or the input closed: a benchmark child still running is
    // killed now rather than left to its wall-clock limit.
    let core = lock(&slot).take();
    if let Some(core) = core {
        core.stop_measuring().await;
    }
}

/// `gemmscope serve`: a tokio runtime on stdio; the exit status.
pub fn run_stdio() -> i32 {
    // Deeply nested input recurses in the analyzers: give every thread
    // (the blocking pool included) room beyond the `maxNesting` guard.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(64 << 20)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gemmscope serve: cannot start the runtime: {e}");
            return 2;
        }
    };
    rt.block_on(serve(
        tokio::io::stdin(),
        tokio::io::stdout(),
        ServeOptions::from_current_exe(),
    ));
    // A read of stdin may still be pending on a blocking thread: do not
    // wait for it (nor for an analysis that outlived its budget).
    rt.shutdown_background();
    0
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f`, catching a panic: logged on stderr, `None` returned.
fn guard<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            eprintln!("gemmscope serve: panic in {what}: {msg}; carrying on");
            None
        }
    }
}

/// The result of the newest check of one document.
pub struct Analyzed {
    pub version: Option<i32>,
    pub text: Arc<String>,
    pub starts: Vec<usize>,
    /// Its findings as `check` reports them (advice empty: added at
    /// publish time); no findings where the file was skipped.
    pub report: FileReport,
    /// What the fixes are computed from (`None` where skipped).
    pub analysis: Option<Analysis>,
}

impl Analyzed {
    /// The findings shown: selected and not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Reported> {
        self.report.active()
    }

    /// The fixes of the `index`th finding of the analysis, from what it
    /// kept (nothing is parsed or lowered again).
    pub fn fixes(&self, index: usize) -> gemmscope_analyzers::fixes::FixResult {
        match &self.analysis {
            Some(a) => a.fixes(index, &self.text),
            None => Err(gemmscope_analyzers::fixes::NoFix::new(
                "the file was not analysed",
            )),
        }
    }
}

/// What the client said it supports.
#[derive(Clone, Copy, Debug, Default)]
struct Caps {
    pull_diagnostics: bool,
    diagnostic_refresh: bool,
    work_done_progress: bool,
    inlay_refresh: bool,
    watch_dynamic: bool,
}

/// The server's state and logic, free of the transport.
pub struct Core {
    client: Client,
    opts: ServeOptions,
    docs: Mutex<Documents>,
    analyses: Mutex<HashMap<Uri, Arc<Analyzed>>>,
    running: Mutex<HashSet<Uri>>,
    analysed: tokio::sync::Notify,
    settings: RwLock<Settings>,
    caps: Mutex<Caps>,
    advisor: RwLock<Arc<Advisor>>,
    /// gemmscope.toml / `[tool.gemmscope]` found walking up from each
    /// document, as `check` finds them; reloaded when one changes.
    configs: Mutex<ConfigCache>,
    /// This CPU's fingerprint (no software versions), for the estimator.
    machine: Machine,
    source: Mutex<Option<(Arc<gemmscope_microbench::store::Store>, String, String)>>,
    fresh: Arc<Mutex<HashSet<(String, String)>>>,
    measurer: Mutex<Option<Measurer>>,
    /// Problem keys already queued (a problem is measured once per server).
    requested: Mutex<HashSet<String>>,
    /// Outstanding jobs, and whether the client shows their progress.
    jobs: Mutex<HashMap<u64, bool>>,
    events_tx: tokio::sync::mpsc::UnboundedSender<Event>,
    events_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Event>>>,
    folders: Mutex<Vec<PathBuf>>,
    /// compile_commands.json files found walking up from each document (as
    /// `check` and clangd find them), loaded once.
    compdb: Mutex<crate::compdb::Databases>,
    /// Held while publishing, so that diagnostics go out in version order.
    publishing: tokio::sync::Mutex<()>,
    /// The workspace's functions and call sites (sizes from call sites in
    /// other files): built from the folders' files when they are scanned,
    /// each document's entry replaced when it is analysed (didOpen,
    /// didChange, didSave).
    index: Mutex<Arc<gemmscope_analyzers::ProjectIndex>>,
    /// What each open document keeps between its analyses (its lowered
    /// functions), taken by the analysis that runs.
    reuse: Mutex<HashMap<Uri, file_check::Reuse>>,
    /// Workspace indexings started (each has its progress token).
    indexings: std::sync::atomic::AtomicU64,
}

/// The `LanguageServer` implementation: one-line forwards into [`Core`].
pub struct Backend {
    core: Arc<Core>,
}

impl Backend {
    pub fn new(client: Client, opts: ServeOptions) -> Backend {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let fresh = Arc::new(Mutex::new(HashSet::new()));
        let settings = Settings::default();
        let machine = Machine::detect(&Toolchain::default());
        let advisor = Arc::new(Advisor::for_editor(
            &machine,
            None,
            settings.measurement_allowed().err().map(String::from),
            fresh.clone(),
        ));
        Backend {
            core: Arc::new(Core {
                client,
                opts,
                docs: Mutex::default(),
                analyses: Mutex::default(),
                running: Mutex::default(),
                analysed: tokio::sync::Notify::new(),
                settings: RwLock::new(settings),
                caps: Mutex::default(),
                advisor: RwLock::new(advisor),
                configs: Mutex::new(ConfigCache::new()),
                machine,
                source: Mutex::new(None),
                fresh,
                measurer: Mutex::new(None),
                requested: Mutex::default(),
                jobs: Mutex::default(),
                events_tx: tx,
                events_rx: Mutex::new(Some(rx)),
                folders: Mutex::default(),
                index: Mutex::new(Arc::default()),
                indexings: Default::default(),
                reuse: Mutex::default(),
                compdb: Mutex::new(
                    crate::compdb::Databases::new(None).expect("no explicit database to load"),
                ),
                publishing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    async fn cancel_progress(&self, params: WorkDoneProgressCancelParams) {
        self.core.cancel_progress(params)
    }

    /// A malformed message (see `frames`): a JSON-RPC parse error.
    async fn malformed(&self, params: Value) -> RpcResult<Value> {
        let reason = params["reason"].as_str().unwrap_or("malformed message");
        eprintln!("gemmscope serve: malformed message: {reason}");
        Err(tower_lsp_server::jsonrpc::Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::ParseError,
            message: format!("malformed message: {reason}").into(),
            data: None,
        })
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, p: InitializeParams) -> RpcResult<InitializeResult> {
        Ok(self.core.initialize(p))
    }
    async fn initialized(&self, _: InitializedParams) {
        self.core.clone().initialized().await
    }
    async fn shutdown(&self) -> RpcResult<()> {
        self.core.stop_measuring().await;
        Ok(())
    }
    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        self.core.clone().did_open(p)
    }
    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        self.core.clone().did_change(p)
    }
    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        self.core.clone().did_close(p).await
    }
    async fn did_change_configuration(&self, p: DidChangeConfigurationParams) {
        self.core.clone().did_change_configuration(p).await
    }
    async fn did_change_watched_files(&self, p: DidChangeWatchedFilesParams) {
        self.core.clone().did_change_watched_files(p).await
    }
    async fn did_change_workspace_folders(&self, p: DidChangeWorkspaceFoldersParams) {
        self.core.clone().did_change_workspace_folders(p).await
    }
    async fn hover(&self, p: HoverParams) -> RpcResult<Option<Hover>> {
        Ok(self.core.hover(p).await)
    }
    async fn inlay_hint(&self, p: InlayHintParams) -> RpcResult<Option<Vec<InlayHint>>> {
        Ok(self.core.inlay_hint(p).await)
    }
    async fn code_action(&self, p: CodeActionParams) -> RpcResult<Option<CodeActionResponse>> {
        Ok(self.core.code_action(p).await)
    }
    async fn diagnostic(
        &self,
        p: DocumentDiagnosticParams,
    ) -> RpcResult<DocumentDiagnosticReportResult> {
        Ok(self.core.diagnostic(p).await)
    }
}

/// Files indexed per blocking task while the workspace is indexed (a
/// progress report after each).
const INDEX_CHUNK: usize = 100;

/// Whether call sites elsewhere can change a finding of `a`: one with a
/// size that is unknown or comes from call sites, in a function whose call
/// sites changed (`changed`; `None`: any function).
fn sizes_may_change(a: &Analyzed, changed: Option<&HashSet<String>>) -> bool {
    a.report.findings.iter().any(|r| {
        r.finding
            .function
            .as_ref()
            .is_some_and(|f| changed.is_none_or(|c| c.contains(f)))
            && [&r.finding.dims.m, &r.finding.dims.n, &r.finding.dims.k]
                .into_iter()
                .flatten()
                .any(|d| {
                    d.value.is_none() || d.source.as_ref().is_some_and(|s| s.kind() == "call-site")
                })
    })
}

/// The analyzers' path for a URI: the file path, or the URI's path for
/// unsaved documents (`untitled:a.c`).
fn path_of(uri: &Uri) -> (String, bool) {
    match uri.to_file_path() {
        Some(p) if uri.scheme().as_str() == "file" => (p.to_string_lossy().into_owned(), true),
        _ => (uri.path().as_str().to_string(), false),
    }
}

impl Core {
    async fn log(&self, typ: MessageType, msg: String) {
        eprintln!("gemmscope serve: {msg}");
        self.client.log_message(typ, msg).await;
    }

    fn limits(&self) -> Limits {
        let s = read(&self.settings);
        Limits {
            max_bytes: s.max_file_bytes,
            max_nesting: s.max_nesting,
        }
    }

    fn initialize(&self, p: InitializeParams) -> InitializeResult {
        let caps = &p.capabilities;
        let c = Caps {
            pull_diagnostics: caps
                .text_document
                .as_ref()
                .and_then(|t| t.diagnostic.as_ref())
                .is_some(),
            diagnostic_refresh: caps
                .workspace
                .as_ref()
                .and_then(|w| w.diagnostics.as_ref())
                .and_then(|d| d.refresh_support)
                .unwrap_or(false),
            work_done_progress: caps
                .window
                .as_ref()
                .and_then(|w| w.work_done_progress)
                .unwrap_or(false),
            inlay_refresh: caps
                .workspace
                .as_ref()
                .and_then(|w| w.inlay_hint.as_ref())
                .and_then(|i| i.refresh_support)
                .unwrap_or(false),
            watch_dynamic: caps
                .workspace
                .as_ref()
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|d| d.dynamic_registration)
                .unwrap_or(false),
        };
        *lock(&self.caps) = c;
        if let Some(o) = &p.initialization_options {
            for bad in write(&self.settings).update(o) {
                eprintln!("gemmscope serve: {bad}");
            }
        }
        let mut folders: Vec<PathBuf> = p
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        #[allow(deprecated)]
        if folders.is_empty() {
            if let Some(root) = p.root_uri.as_ref().and_then(|u| u.to_file_path()) {
                folders.push(root.into_owned());
            }
        }
        *lock(&self.folders) = folders;
        InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..Default::default()
                    },
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                inlay_hint_provider: Some(OneOf::Left(true)),
                diagnostic_provider: c.pull_diagnostics.then(|| {
                    DiagnosticServerCapabilities::Options(DiagnosticOptions {
                        identifier: Some("gemmscope".into()),
                        inter_file_dependencies: false,
                        workspace_diagnostics: false,
                        work_done_progress_options: Default::default(),
                    })
                }),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "gemmscope".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        }
    }

    async fn initialized(self: Arc<Self>) {
        if let Some(rx) = lock(&self.events_rx).take() {
            tokio::spawn(self.clone().pump(rx));
        }
        let allowed = read(&self.settings).measurement_allowed();
        self.log(
            MessageType::INFO,
            match allowed {
                Ok(()) => "gemmscope ready; measurement on".into(),
                Err(why) => format!("gemmscope ready; not measuring: {why}"),
            },
        )
        .await;
        if allowed.is_ok() {
            self.start_measurer();
        }
        if lock(&self.caps).watch_dynamic {
            let opts = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![
                    FileSystemWatcher {
                        glob_pattern: GlobPattern::String(
                            "**/*.{c,h,cu,cuh,cc,cpp,cxx,hpp,hh,hxx,py,pyi}".into(),
                        ),
                        kind: None,
                    },
                    FileSystemWatcher {
                        glob_pattern: GlobPattern::String(
                            "**/{gemmscope.toml,pyproject.toml}".into(),
                        ),
                        kind: None,
                    },
                ],
            };
            let reg = Registration {
                id: "gemmscope-watch".into(),
                method: "workspace/didChangeWatchedFiles".into(),
                register_options: serde_json::to_value(opts).ok(),
            };
            if let Err(e) = self.client.register_capability(vec![reg]).await {
                eprintln!("gemmscope serve: cannot register file watchers: {e}");
            }
        }
        let folders = lock(&self.folders).clone();
        self.scan_folders(folders);
    }

    /// The compile_commands.json flags of the file at `path` (only for
    /// files on disk); a broken database is logged once and ignored.
    pub(super) async fn build_flags(
        &self,
        path: &str,
        on_disk: bool,
    ) -> Option<Arc<crate::compdb::Flags>> {
        if !on_disk || matches!(Lang::from_path(path), None | Some(Lang::Python)) {
            return None;
        }
        let mut warnings = Vec::new();
        let flags = lock(&self.compdb).flags_for(Path::new(path), None, &mut warnings);
        for w in warnings {
            self.log(MessageType::WARNING, format!("compile_commands.json: {w}"))
                .await;
        }
        flags
    }

    /// The gemmscope.toml settings of the document at `path` (defaults for
    /// unsaved documents); a broken configuration is logged.
    async fn file_settings(&self, path: &str, on_disk: bool) -> Arc<crate::config::Settings> {
        let (s, err) = lock(&self.configs).for_file(path, on_disk);
        if let Some(e) = err {
            self.log(MessageType::WARNING, format!("{e}; using the defaults"))
                .await;
        }
        s
    }

    /// Indexes the supported files under `folders` (honouring .gitignore)
    /// in the background, then analyses them; returns at once. The index is
    /// filled chunk by chunk (an analysis started meanwhile uses what is
    /// there), with `$/progress` begin/report/end where the client shows
    /// progress; at the end, the open documents whose sizes may come from
    /// call sites are analysed again.
    fn scan_folders(self: &Arc<Self>, folders: Vec<PathBuf>) {
        if folders.is_empty() {
            return;
        }
        tokio::spawn(self.clone().index_folders(folders));
    }

    async fn index_folders(self: Arc<Self>, folders: Vec<PathBuf>) {
        let n = self
            .indexings
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let show = lock(&self.caps).work_done_progress
            && self
                .client
                .create_work_done_progress(progress::index_token(n))
                .await
                .is_ok();
        if show {
            self.client
                .send_notification::<notification::Progress>(progress::index_begin(
                    n,
                    folders.len(),
                ))
                .await;
        }
        let max = read(&self.settings).max_file_bytes as u64;
        let found = tokio::task::spawn_blocking(move || {
            let mut v = Vec::new();
            for f in folders {
                for e in ignore::WalkBuilder::new(&f).build().flatten() {
                    let p = e.path();
                    if v.len() >= 5000 {
                        break;
                    }
                    if e.file_type().is_some_and(|t| t.is_file())
                        && Lang::from_path(&p.to_string_lossy()).is_some()
                        && e.metadata().is_ok_and(|m| m.len() <= max)
                    {
                        v.push(p.to_path_buf());
                    }
                }
            }
            v
        })
        .await
        .unwrap_or_default();
        let limits = self.limits();
        let total = found.len();
        let mut done = 0;
        // One blocking thread at a time, so an opened document's analysis
        // keeps a core.
        for chunk in found.chunks(INDEX_CHUNK) {
            let chunk = chunk.to_vec();
            let entries = tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity(chunk.len());
                for p in chunk {
                    let Some(uri) = Uri::from_file_path(&p) else {
                        continue;
                    };
                    let (path, _) = path_of(&uri);
                    let Ok(bytes) = std::fs::read(&p) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&bytes);
                    if analysis::over_limits(&path, &text, limits).is_none() {
                        let entry = file_check::index_text(&path, &text, None, None);
                        out.push((uri, path, entry));
                    }
                }
                out
            })
            .await
            .unwrap_or_default();
            done = (done + INDEX_CHUNK).min(total);
            {
                // The editor's text of an open document wins over the disk's
                // (its own analyses keep its entry).
                let open: HashSet<Uri> = {
                    let docs = lock(&self.docs);
                    entries
                        .iter()
                        .filter(|(u, _, _)| docs.get(u).is_some_and(|d| d.open))
                        .map(|(u, _, _)| u.clone())
                        .collect()
                };
                let mut guard = lock(&self.index);
                let index = Arc::make_mut(&mut guard);
                for (uri, path, entry) in entries {
                    if open.contains(&uri) {
                        continue;
                    }
                    match entry {
                        Some(e) => index.insert(&path, e),
                        None => index.remove(&path),
                    }
                }
            }
            if show {
                self.client
                    .send_notification::<notification::Progress>(progress::index_report(
                        n, done, total,
                    ))
                    .await;
            }
        }
        if show {
            let files = lock(&self.index).len();
            self.client
                .send_notification::<notification::Progress>(progress::index_end(
                    n,
                    &format!("{total} files read; {files} in the index"),
                ))
                .await;
        }
        let again: Vec<Uri> = lock(&self.analyses)
            .iter()
            .filter(|(_, a)| sizes_may_change(a, None))
            .map(|(u, _)| u.clone())
            .collect();
        for u in again {
            self.schedule(u);
        }
        for p in found {
            self.load_from_disk(&p).await;
        }
    }

    /// Replaces `path`'s entry in the workspace index by that of `text`;
    /// where its call sites changed, the other documents with a finding of
    /// unknown size in a function called there are analysed again.
    fn reindex(self: &Arc<Self>, path: &str, entry: Option<gemmscope_analyzers::FileIndex>) {
        let changed: HashSet<String> = {
            let mut guard = lock(&self.index);
            let old_calls: Vec<_> = guard
                .calls()
                .filter(|(p, _)| *p == path)
                .map(|(_, c)| c.clone())
                .collect();
            let index = Arc::make_mut(&mut guard);
            let new_calls = entry.as_ref().map(|e| e.calls.clone()).unwrap_or_default();
            match entry {
                Some(e) => index.insert(path, e),
                None => index.remove(path),
            }
            old_calls
                .iter()
                .filter(|c| !new_calls.contains(c))
                .chain(new_calls.iter().filter(|c| !old_calls.contains(c)))
                .map(|c| c.callee.clone())
                .collect()
        };
        if changed.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let again: Vec<Uri> = lock(&self.analyses)
            .iter()
            .filter(|(u, _)| path_of(u).0 != path)
            .filter(|(_, a)| sizes_may_change(a, Some(&changed)))
            .map(|(u, _)| u.clone())
            .collect();
        for u in again {
            self.schedule(u);
        }
    }

    async fn load_from_disk(self: &Arc<Self>, p: &Path) {
        let Some(uri) = Uri::from_file_path(p) else {
            return;
        };
        let path = p.to_path_buf();
        let text = tokio::task::spawn_blocking(move || std::fs::read(&path))
            .await
            .ok()
            .and_then(|r| r.ok());
        let Some(bytes) = text else { return };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if lock(&self.docs).set_from_disk(uri.clone(), text) {
            self.schedule(uri);
        }
    }

    fn did_open(self: Arc<Self>, p: DidOpenTextDocumentParams) {
        let d = p.text_document;
        lock(&self.docs).open(d.uri.clone(), d.text, d.version);
        self.schedule(d.uri);
    }

    fn did_change(self: Arc<Self>, p: DidChangeTextDocumentParams) {
        let uri = p.text_document.uri;
        let r = guard("didChange", || {
            lock(&self.docs).change(&uri, p.text_document.version, &p.content_changes)
        });
        match r {
            Some(Ok(())) => self.schedule(uri),
            Some(Err(e)) => eprintln!("gemmscope serve: {}: {e}", uri.as_str()),
            None => {}
        }
    }

    async fn did_close(self: Arc<Self>, p: DidCloseTextDocumentParams) {
        let uri = p.text_document.uri;
        lock(&self.docs).close(&uri);
        lock(&self.analyses).remove(&uri);
        lock(&self.reuse).remove(&uri);
        self.update_wanted();
        if !lock(&self.caps).pull_diagnostics {
            self.client.publish_diagnostics(uri, vec![], None).await;
        }
    }

    async fn did_change_configuration(self: Arc<Self>, p: DidChangeConfigurationParams) {
        let (before, after, bad) = {
            let mut s = write(&self.settings);
            let before = s.clone();
            let bad = s.update(&p.settings);
            (before, s.clone(), bad)
        };
        for b in bad {
            self.log(MessageType::WARNING, b).await;
        }
        if before == after {
            return;
        }
        match after.measurement_allowed() {
            Ok(()) => self.start_measurer(),
            Err(why) => {
                // Stop what is queued; a later `trusted`/`measure` asks again.
                if let Some(m) = lock(&self.measurer).as_ref() {
                    for j in lock(&self.jobs).keys() {
                        m.cancel(*j);
                    }
                }
                lock(&self.requested).clear();
                self.set_advisor(None, Some(why.into()));
            }
        }
        self.request_all();
        self.republish_all().await;
        if before.inlay_hints != after.inlay_hints && lock(&self.caps).inlay_refresh {
            let _ = self.client.inlay_hint_refresh().await;
        }
    }

    async fn did_change_watched_files(self: Arc<Self>, p: DidChangeWatchedFilesParams) {
        let configs_changed = p.changes.iter().any(|ch| {
            ch.uri
                .to_file_path()
                .is_some_and(|p| file_settings::is_config_file(&p))
        });
        if configs_changed {
            lock(&self.configs).reset();
            let open: Vec<Uri> = lock(&self.analyses).keys().cloned().collect();
            for uri in open {
                self.schedule(uri);
            }
        }
        for ch in p.changes {
            let Some(path) = ch.uri.to_file_path().map(|p| p.into_owned()) else {
                continue;
            };
            if Lang::from_path(&path.to_string_lossy()).is_none() {
                continue;
            }
            if ch.typ == FileChangeType::DELETED {
                let removed = {
                    let mut d = lock(&self.docs);
                    let on_disk_only = d.get(&ch.uri).is_some_and(|x| !x.open);
                    on_disk_only && d.close(&ch.uri)
                };
                if removed {
                    lock(&self.analyses).remove(&ch.uri);
                    self.client.publish_diagnostics(ch.uri, vec![], None).await;
                }
            } else {
                self.load_from_disk(&path).await;
            }
        }
    }

    async fn did_change_workspace_folders(self: Arc<Self>, p: DidChangeWorkspaceFoldersParams) {
        let added: Vec<PathBuf> = p
            .event
            .added
            .iter()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        lock(&self.folders).extend(added.iter().cloned());
        self.scan_folders(added);
    }

    /// Analyses `uri` now unless an analysis of it is running (that one
    /// runs again on the newest text when it finishes).
    fn schedule(self: &Arc<Self>, uri: Uri) {
        if !lock(&self.running).insert(uri.clone()) {
            return;
        }
        tokio::spawn(self.clone().analyse_loop(uri));
    }

    async fn analyse_loop(self: Arc<Self>, uri: Uri) {
        loop {
            let snap = lock(&self.docs).snapshot(&uri);
            let Some(doc) = snap else {
                lock(&self.running).remove(&uri);
                return;
            };
            let (path, on_disk) = path_of(&uri);
            let limits = self.limits();
            let timeout = Duration::from_millis(read(&self.settings).analysis_timeout_ms);
            let text = doc.text.clone();
            let old = doc.parsed.clone();
            let flags = self.build_flags(&path, on_disk).await;
            let settings = self.file_settings(&path, on_disk).await;
            let empty = FileReport::empty(&path, settings.clone());
            let project = Some(lock(&self.index).clone());
            // What this open document kept from its previous analysis (taken
            // for this one; given back with its result). A file from disk
            // gets an empty one, kept by nobody: its index entry then comes
            // from the same lowering.
            let mut reuse = Some(if doc.open {
                lock(&self.reuse).remove(&uri).unwrap_or_default()
            } else {
                file_check::Reuse::default()
            });
            let index_flags = flags.clone();
            let job = tokio::task::spawn_blocking(move || {
                let o = analysis::run(
                    &path,
                    &text,
                    old,
                    on_disk,
                    flags,
                    &settings,
                    limits,
                    project,
                    reuse.as_mut(),
                );
                (o, reuse)
            });
            let (path, _) = path_of(&uri);
            let outcome = match tokio::time::timeout(timeout, job).await {
                Ok(Ok((o, reuse))) => {
                    if let Some(r) = reuse.filter(|_| doc.open) {
                        if lock(&self.docs).get(&uri).is_some_and(|d| d.open) {
                            lock(&self.reuse).insert(uri.clone(), r);
                        }
                    }
                    o
                }
                Ok(Err(e)) => Outcome::Skipped(format!(
                    "{}: the analysis failed ({e}); not analysed",
                    uri.as_str()
                )),
                Err(_) => Outcome::Skipped(format!(
                    "{}: the analysis took longer than {} ms (analysisTimeoutMs); abandoned",
                    uri.as_str(),
                    timeout.as_millis()
                )),
            };
            let mut entry = None;
            let (report, analysis) = match outcome {
                Outcome::Checked(c) => {
                    let file_check::Checked {
                        report,
                        analysis,
                        tree,
                        index,
                    } = *c;
                    entry = index;
                    // Kept even if the text moved on: the edits since the
                    // snapshot are applied to it.
                    if doc.open {
                        lock(&self.docs).keep_parse(&uri, &doc, tree);
                    }
                    for p in &report.comment_problems {
                        self.log(
                            MessageType::WARNING,
                            format!("{}: suppression comment: {p}", uri.as_str()),
                        )
                        .await;
                    }
                    (report, Some(analysis))
                }
                Outcome::Skipped(why) => {
                    self.log(MessageType::WARNING, why).await;
                    (empty, None)
                }
            };
            // Commit only if no newer text arrived meanwhile.
            let analyzed = {
                let docs = lock(&self.docs);
                let current = docs
                    .get(&uri)
                    .is_some_and(|d| Arc::ptr_eq(&d.text, &doc.text) && d.version == doc.version);
                if !current {
                    continue;
                }
                let a = Arc::new(Analyzed {
                    version: doc.version,
                    starts: documents::line_starts(&doc.text),
                    text: doc.text.clone(),
                    report,
                    analysis,
                });
                let before = lock(&self.analyses).insert(uri.clone(), a.clone());
                lock(&self.running).remove(&uri);
                (a, before)
            };
            // The previous analysis (a whole lowered file) is freed after the
            // diagnostics are out, not before.
            let (analyzed, before) = analyzed;
            self.analysed.notify_waiters();
            self.update_wanted();
            let findings: Vec<Finding> = analyzed.active().map(|r| r.finding.clone()).collect();
            self.request_measurements(&findings);
            self.publish(&uri, analyzed.clone()).await;
            // Then the document's entry in the workspace index (for the
            // sizes of the other documents), from this analysis's lowering
            // where it gave one. Within the server's limits only.
            if analysis::over_limits(&path, &analyzed.text, limits).is_none() {
                let entry = match entry {
                    Some(e) => e,
                    None => {
                        let text = analyzed.text.clone();
                        let p = path.clone();
                        tokio::task::spawn_blocking(move || {
                            file_check::index_text(&p, &text, index_flags.as_deref(), None)
                        })
                        .await
                        .unwrap_or_default()
                    }
                };
                self.reindex(&path, entry);
            }
            if let Some(b) = before {
                let _ = tokio::task::spawn_blocking(move || drop(b)).await;
            }
            return;
        }
    }

    /// The diagnostics of one analysis, with the current advice (and the
    /// levels it gives, as `check` decides them).
    async fn diagnostics_of(&self, uri: &Uri, a: Arc<Analyzed>) -> Vec<Diagnostic> {
        let advisor = read(&self.advisor).clone();
        let settings = read(&self.settings).clone();
        let uri = uri.clone();
        tokio::task::spawn_blocking(move || {
            let mut report = a.report.clone();
            let file_settings = report.settings.clone();
            if let Err(why) = file_check::advise(&mut report, &file_settings, &advisor) {
                eprintln!("gemmscope serve: panic while estimating: {why}; carrying on");
            }
            guard("diagnostics", || {
                report
                    .active()
                    .map(|r| diagnostics::diagnostic(&uri, &a.text, &a.starts, r, &settings))
                    .collect()
            })
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
    }

    async fn publish(&self, uri: &Uri, a: Arc<Analyzed>) {
        let caps = *lock(&self.caps);
        if caps.pull_diagnostics {
            if caps.diagnostic_refresh {
                let _ = self.client.workspace_diagnostic_refresh().await;
            }
            return;
        }
        let version = a.version;
        let d = self.diagnostics_of(uri, a.clone()).await;
        // Another task may have committed (and published) a newer analysis
        // while these diagnostics were computed: then these are stale.
        let _turn = self.publishing.lock().await;
        let newest = lock(&self.analyses)
            .get(uri)
            .is_some_and(|x| Arc::ptr_eq(x, &a));
        if !newest {
            return;
        }
        self.client
            .publish_diagnostics(uri.clone(), d, version)
            .await;
    }

    async fn republish_all(&self) {
        let all: Vec<(Uri, Arc<Analyzed>)> = lock(&self.analyses)
            .iter()
            .map(|(u, a)| (u.clone(), a.clone()))
            .collect();
        for (u, a) in all {
            self.publish(&u, a).await;
        }
    }

    /// The problems present in some file now.
    fn update_wanted(&self) {
        let keys: HashSet<String> = lock(&self.analyses)
            .values()
            .flat_map(|a| a.active().map(|r| &r.finding).collect::<Vec<_>>())
            .filter_map(|f| crate::advice::problem_for(f).ok())
            .map(|p| problem_key(&p))
            .collect();
        if let Some(m) = lock(&self.measurer).as_ref() {
            *lock(&m.wanted) = keys;
        }
    }

    fn measure_config(&self) -> MeasureConfig {
        let s = read(&self.settings);
        MeasureConfig {
            budget_s: s.budget_s,
            candidates: s.candidates.clone(),
            timeout_s: s.timeout_s,
            python: s.python.clone(),
            compiler: s.compiler.clone(),
            calibrate: s.calibrate,
        }
    }

    fn start_measurer(&self) {
        let mut m = lock(&self.measurer);
        if m.is_none() {
            *m = Some(Measurer::start(
                self.opts.bench_child.clone(),
                self.measure_config(),
                self.events_tx.clone(),
            ));
            if lock(&self.source).is_none() {
                drop(m);
                self.set_advisor(None, Some("probing this machine's compilers".into()));
            }
        }
    }

    /// Queues the problems of `findings` not measured by this server yet.
    fn request_measurements(&self, findings: &[Finding]) {
        if read(&self.settings).measurement_allowed().is_err() {
            return;
        }
        let cfg = self.measure_config();
        let m = lock(&self.measurer);
        let Some(m) = m.as_ref() else { return };
        for f in findings {
            let Ok(p) = crate::advice::problem_for(f) else {
                continue;
            };
            if lock(&self.requested).insert(problem_key(&p)) {
                let job = m.enqueue(p, cfg.clone());
                lock(&self.jobs).insert(job, false);
            }
        }
    }

    fn request_all(&self) {
        self.update_wanted();
        let all: Vec<Finding> = lock(&self.analyses)
            .values()
            .flat_map(|a| a.active().map(|r| r.finding.clone()).collect::<Vec<_>>())
            .collect();
        self.request_measurements(&all);
    }

    fn set_advisor(&self, source: Option<StoreSource>, not_measured: Option<String>) {
        let a = Advisor::for_editor(&self.machine, source, not_measured, self.fresh.clone());
        *write(&self.advisor) = Arc::new(a);
    }

    /// Rebuilds the advisor from the store as it is now (after a
    /// measurement: its rows replace the predictions).
    fn refresh_advisor(&self) {
        let source = lock(&self.source)
            .clone()
            .map(|(store, machine, machine_text)| StoreSource {
                store,
                machine,
                machine_text,
            });
        let not_measured = read(&self.settings)
            .measurement_allowed()
            .err()
            .map(String::from);
        self.set_advisor(source, not_measured);
    }

    /// Kills a running benchmark and ends the measurement worker for good;
    /// waits (up to 3 s) for the worker to have reaped its child.
    async fn stop_measuring(&self) {
        if let Some(m) = lock(&self.measurer).as_ref() {
            m.stop();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let done = lock(&self.measurer).as_ref().is_none_or(|m| m.stopped());
            if done || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn cancel_progress(&self, p: WorkDoneProgressCancelParams) {
        let Some(job) = progress::job_of(&p.token) else {
            return;
        };
        if let Some(m) = lock(&self.measurer).as_ref() {
            m.cancel(job);
        }
    }

    /// Turns the measurement worker's events into progress and refreshed
    /// diagnostics.
    async fn pump(self: Arc<Self>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>) {
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Ready {
                    machine,
                    machine_text,
                    store,
                    warnings,
                } => {
                    for w in warnings {
                        self.log(MessageType::WARNING, w).await;
                    }
                    self.log(
                        MessageType::INFO,
                        format!("measuring on machine {machine}: {machine_text}"),
                    )
                    .await;
                    *lock(&self.source) =
                        Some((store.clone(), machine.clone(), machine_text.clone()));
                    let allowed = read(&self.settings).measurement_allowed().err();
                    self.set_advisor(
                        Some(StoreSource {
                            store,
                            machine,
                            machine_text,
                        }),
                        allowed.map(String::from),
                    );
                    self.republish_all().await;
                }
                Event::SetupFailed(why) => {
                    self.log(MessageType::WARNING, format!("not measuring: {why}"))
                        .await;
                    self.set_advisor(None, Some(why));
                    self.republish_all().await;
                }
                Event::Begin {
                    job,
                    title,
                    total,
                    unit,
                } => {
                    let show = lock(&self.caps).work_done_progress
                        && self
                            .client
                            .create_work_done_progress(progress::token(job))
                            .await
                            .is_ok();
                    lock(&self.jobs).insert(job, show);
                    if show {
                        self.client
                            .send_notification::<notification::Progress>(progress::begin(
                                job, &title, total, unit,
                            ))
                            .await;
                    }
                }
                Event::Candidate {
                    job,
                    index,
                    total,
                    label,
                } => {
                    if lock(&self.jobs).get(&job).copied().unwrap_or(false) {
                        self.client
                            .send_notification::<notification::Progress>(progress::report(
                                job, index, total, &label,
                            ))
                            .await;
                    }
                }
                Event::End {
                    job,
                    message,
                    measured,
                    problem,
                } => {
                    if lock(&self.jobs).remove(&job).unwrap_or(false) {
                        self.client
                            .send_notification::<notification::Progress>(progress::end(
                                job, &message,
                            ))
                            .await;
                    }
                    let key = problem_key(&problem);
                    lock(&self.fresh).extend(measured.into_iter().map(|id| (key.clone(), id)));
                    self.log(
                        MessageType::INFO,
                        format!("{}: {message}", problem.describe()),
                    )
                    .await;
                    self.refresh_advisor();
                    self.republish_all().await;
                    if lock(&self.caps).inlay_refresh {
                        let _ = self.client.inlay_hint_refresh().await;
                    }
                }
                Event::Calibrated {
                    job,
                    message,
                    points,
                } => {
                    if lock(&self.jobs).remove(&job).unwrap_or(false) {
                        self.client
                            .send_notification::<notification::Progress>(progress::end(
                                job, &message,
                            ))
                            .await;
                    }
                    let level = if points > 0 {
                        MessageType::INFO
                    } else {
                        MessageType::WARNING
                    };
                    self.log(
                        level,
                        format!("{message} (the `calibrate` setting turns this off)"),
                    )
                    .await;
                    if points > 0 {
                        self.refresh_advisor();
                        self.republish_all().await;
                        if lock(&self.caps).inlay_refresh {
                            let _ = self.client.inlay_hint_refresh().await;
                        }
                    }
                }
                Event::Answered { job, problem, why } => {
                    lock(&self.jobs).remove(&job);
                    self.log(MessageType::INFO, format!("{}: {why}", problem.describe()))
                        .await;
                }
            }
        }
    }

    fn analysis_of(&self, uri: &Uri) -> Option<Arc<Analyzed>> {
        lock(&self.analyses).get(uri).cloned()
    }

    async fn hover(&self, p: HoverParams) -> Option<Hover> {
        let pp = p.text_document_position_params;
        let a = self.analysis_of(&pp.text_document.uri)?;
        let advisor = read(&self.advisor).clone();
        let doc = path_of(&pp.text_document.uri);
        tokio::task::spawn_blocking(move || {
            guard("hover", || {
                let active: Vec<&Reported> = a.active().collect();
                let built = a.report.flags.as_deref().map(crate::advice::Built::of);
                hover::hover(
                    &a.text,
                    &a.starts,
                    &active,
                    pp.position,
                    &advisor,
                    built.as_ref(),
                    doc.1.then(|| std::path::Path::new(&doc.0)),
                )
            })
        })
        .await
        .ok()
        .flatten()
        .flatten()
    }

    async fn inlay_hint(&self, p: InlayHintParams) -> Option<Vec<InlayHint>> {
        if !read(&self.settings).inlay_hints {
            return Some(vec![]);
        }
        let a = self.analysis_of(&p.text_document.uri)?;
        let advisor = read(&self.advisor).clone();
        tokio::task::spawn_blocking(move || {
            guard("inlayHint", || {
                let active: Vec<&Reported> = a.active().collect();
                let built = a.report.flags.as_deref().map(crate::advice::Built::of);
                inlay::hints(
                    &a.text,
                    &a.starts,
                    &active,
                    p.range,
                    &advisor,
                    built.as_ref(),
                )
            })
        })
        .await
        .ok()
        .flatten()
    }

    /// Pull diagnostics: waits (up to the analysis timeout) for the
    /// analysis of the current text.
    async fn diagnostic(&self, p: DocumentDiagnosticParams) -> DocumentDiagnosticReportResult {
        let uri = p.text_document.uri;
        let timeout = Duration::from_millis(read(&self.settings).analysis_timeout_ms);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let wait = self.analysed.notified();
            let ready = {
                let docs = lock(&self.docs);
                let d = docs.get(&uri);
                let a = lock(&self.analyses).get(&uri).cloned();
                match (d, a) {
                    (Some(d), Some(a)) if Arc::ptr_eq(&d.text, &a.text) => Some(Some(a)),
                    (None, _) => Some(None),
                    _ => None,
                }
            };
            if let Some(a) = ready {
                let items = match a {
                    Some(a) => self.diagnostics_of(&uri, a).await,
                    None => vec![],
                };
                return full_report(items);
            }
            if tokio::time::timeout_at(deadline, wait).await.is_err() {
                let a = self.analysis_of(&uri);
                let items = match a {
                    Some(a) => self.diagnostics_of(&uri, a).await,
                    None => vec![],
                };
                return full_report(items);
            }
        }
    }
}

fn full_report(items: Vec<Diagnostic>) -> DocumentDiagnosticReportResult {
    DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
        RelatedFullDocumentDiagnosticReport {
            related_documents: None,
            full_document_diagnostic_report: FullDocumentDiagnosticReport {
                result_id: None,
                items,
            },
        },
    ))
}

/// Settings JSON as a client would send it (for tests and docs).
pub fn settings_json(v: Value) -> Value {
    serde_json::json!({ "gemmscope": v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_handler_is_caught_and_the_caller_goes_on() {
        assert_eq!(guard("ok", || 3), Some(3));
        let r: Option<()> = guard("boom", || panic!("handler bug"));
        assert_eq!(r, None);
        // State behind a poisoned mutex stays usable.
        let m = Mutex::new(1);
        let _ = guard("poison", || {
            let _g = m.lock().unwrap();
            panic!("while holding the lock");
        });
        assert_eq!(*lock(&m), 1);
    }
}
