//! The `gemmscope` binary: `check`, `report`, `bench`, `serve` (the
//! language server) and the hidden `__bench-child`. Everything here is
//! argument parsing and exit codes: the per-file check lives in
//! `gemmscope::file_check`, the analysis in `gemmscope-analyzers`, the
//! measurements in `gemmscope-microbench`.

use gemmscope::{advice, bench, check, config, fix, report, report_html};

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "gemmscope",
    version,
    about = "Finds hand-written matrix multiplies in C, CUDA and Python, and says what they cost"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse files and folders (.gitignore honoured) and report findings.
    ///
    /// Exit status: 0 no findings, 1 findings, 2 usage or I/O error.
    Check(CheckArgs),
    /// Measure candidate implementations of a problem on this machine.
    Bench(BenchArgs),
    /// Measure a small fixed set of generated kernels here (a few seconds;
    /// no user code) so that the default advice (`check --bench off`, the
    /// editor) predicts from this machine's own points (docs/model.md).
    Calibrate,
    /// Write one self-contained HTML page with the speed ladder, the size
    /// curve and this machine's roofline of every finding (docs/report.md).
    Report(ReportArgs),
    /// The language server: LSP over stdin/stdout (see docs/lsp.md).
    Serve,
    /// The sandboxed benchmark child (job JSON on stdin, reply on stdout).
    #[command(name = "__bench-child", hide = true)]
    BenchChild,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchWhat>,
    /// Print this machine's fingerprint and measured ceilings.
    #[arg(long)]
    machine: bool,
    /// Print the leave-one-out validation error of this machine's fitted
    /// models (one per candidate), from the measurements in the store.
    #[arg(long)]
    validate: bool,
    /// Output format of --validate.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// C[M×N] = A[M×K]·B[K×N]: every candidate this machine can run.
    Gemm(GemmArgs),
    /// y[M] = A x[K] (a GEMV, `n = 1`): the candidates that have a GEMV.
    Gemv(GemvArgs),
    /// softmax(Q Kᵀ / √d) V per head: attention written out (NumPy,
    /// PyTorch) and PyTorch's fused scaled_dot_product_attention.
    Attention(AttentionArgs),
    /// Measure cubes size³ for each size into the store (what the model
    /// fits on), then print the models' validation.
    Sweep(SweepArgs),
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Cube sizes, comma-separated (64,128,256,...).
    #[arg(long, value_delimiter = ',', required = true)]
    sizes: Vec<u64>,
    /// Only these candidate ids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    #[arg(long, default_value = "f32", value_parser = parse_dtype)]
    dtype: gemmscope_microbench::DType,
    /// Seconds for each size's table.
    #[arg(long, default_value_t = 5.0)]
    budget: f64,
    /// Wall-clock limit per candidate in seconds.
    #[arg(long)]
    timeout: Option<f64>,
    /// Measure again even where the store has a result.
    #[arg(long)]
    no_cache: bool,
}

/// How `bench gemm` may measure.
#[derive(Clone, Copy, ValueEnum)]
enum Measure {
    /// Model and reference data only: nothing runs.
    Never,
    /// Results in the store count as measured; the rest is predicted.
    Cached,
    /// Measure every candidate (results in the store are reused unless --no-cache).
    Always,
}

#[derive(clap::Args)]
struct GemmArgs {
    #[arg(long)]
    m: u64,
    #[arg(long)]
    n: u64,
    #[arg(long)]
    k: u64,
    /// Batch count (a batched GEMM when above 1).
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Element type: f32, f64, f16, bf16.
    #[arg(long, default_value = "f32", value_parser = parse_dtype)]
    dtype: gemmscope_microbench::DType,
    /// Operand storage with row-major C: nn, nt, tn, tt (t = stored transposed).
    #[arg(long, default_value = "nn", value_parser = parse_layout)]
    layout: gemmscope_microbench::Layout,
    /// Loop order of the naive candidates (a permutation of ijk).
    #[arg(long, default_value = "ijk", value_parser = parse_order)]
    order: gemmscope_microbench::LoopOrder,
    #[command(flatten)]
    run: RunFlags,
    /// The candidate that stands for the code as written (speed-ups are
    /// over it) with --measure never|cached.
    #[arg(long, default_value = "c-naive-O1")]
    as_written: String,
    /// Set by `bench gemv` and `bench attention`: the operation (a GEMM
    /// when unset).
    #[arg(skip)]
    op: Option<gemmscope_microbench::Operation>,
}

/// How `bench gemm`, `bench gemv` and `bench attention` run, the same for
/// the three.
#[derive(clap::Args)]
struct RunFlags {
    /// Seconds for the whole table.
    #[arg(long, default_value_t = 10.0)]
    budget: f64,
    /// Wall-clock limit per candidate in seconds (its process group is killed).
    #[arg(long)]
    timeout: Option<f64>,
    /// Only these candidate ids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<String>>,
    /// Measure again even where the store has a result.
    #[arg(long)]
    no_cache: bool,
    /// Neither read nor write the result store.
    #[arg(long)]
    no_store: bool,
    /// never: the table from the model and the reference data alone;
    /// cached: stored results count as measured, the rest predicted;
    /// always: measure.
    #[arg(long, value_enum, default_value_t = Measure::Always)]
    measure: Measure,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Scaled dot-product attention, `softmax(Q Kᵀ / √d) V`, per head.
#[derive(clap::Args)]
struct AttentionArgs {
    /// Heads in all (batch × heads).
    #[arg(long, default_value_t = 8)]
    heads: u64,
    /// Queries per head.
    #[arg(long)]
    t: u64,
    /// Keys per head (default: as many as queries).
    #[arg(long)]
    tk: Option<u64>,
    /// Head dim (of Q, K and V).
    #[arg(long, default_value_t = 64)]
    d: u64,
    /// Element type: f32, f64, f16, bf16.
    #[arg(long, default_value = "f32", value_parser = parse_dtype)]
    dtype: gemmscope_microbench::DType,
    #[command(flatten)]
    run: RunFlags,
    /// The candidate that stands for the code as written.
    #[arg(long, default_value = "numpy-attention")]
    as_written: String,
}

impl AttentionArgs {
    /// The same request as a `bench gemm` one: `m` queries, `n` keys, head
    /// dim `k`, `batch` heads, marked attention.
    fn into_gemm(self) -> GemmArgs {
        GemmArgs {
            m: self.t,
            n: self.tk.unwrap_or(self.t),
            k: self.d,
            batch: self.heads,
            dtype: self.dtype,
            layout: gemmscope_microbench::Layout::default(),
            order: gemmscope_microbench::LoopOrder::default(),
            run: self.run,
            as_written: self.as_written,
            op: Some(gemmscope_microbench::Operation::Attention),
        }
    }
}

#[derive(clap::Args)]
struct GemvArgs {
    #[arg(long)]
    m: u64,
    #[arg(long)]
    k: u64,
    /// Element type: f32, f64, f16, bf16.
    #[arg(long, default_value = "f32", value_parser = parse_dtype)]
    dtype: gemmscope_microbench::DType,
    /// A's storage: row (row-major M×K, `y = A x`) or col (stored K×M, the
    /// code's `y = Aᵀ x`).
    #[arg(long, default_value = "row", value_parser = ["row", "col"])]
    a: String,
    /// Loop order of the naive candidates: ik (a dot product per output)
    /// or ki (axpy-style column sweeps).
    #[arg(long, default_value = "ik", value_parser = ["ik", "ki"])]
    order: String,
    #[command(flatten)]
    run: RunFlags,
    /// The candidate that stands for the code as written.
    #[arg(long, default_value = "c-naive-O3")]
    as_written: String,
}

impl GemvArgs {
    /// The same request as a `bench gemm` one with n = 1, marked GEMV.
    fn into_gemm(self) -> GemmArgs {
        GemmArgs {
            m: self.m,
            n: 1,
            k: self.k,
            batch: 1,
            dtype: self.dtype,
            layout: gemmscope_microbench::Layout {
                trans_a: self.a == "col",
                trans_b: false,
            },
            order: gemmscope_microbench::LoopOrder::parse(if self.order == "ki" {
                "kij"
            } else {
                "ikj"
            })
            .unwrap_or_default(),
            run: self.run,
            as_written: self.as_written,
            op: Some(gemmscope_microbench::Operation::Gemv),
        }
    }
}

fn parse_dtype(s: &str) -> Result<gemmscope_microbench::DType, String> {
    gemmscope_microbench::DType::parse(s)
        .ok_or_else(|| format!("unknown dtype `{s}` (f32, f64, f16, bf16)"))
}

fn parse_layout(s: &str) -> Result<gemmscope_microbench::Layout, String> {
    gemmscope_microbench::Layout::parse(s)
        .ok_or_else(|| format!("unknown layout `{s}` (nn, nt, tn, tt)"))
}

fn parse_order(s: &str) -> Result<gemmscope_microbench::LoopOrder, String> {
    gemmscope_microbench::LoopOrder::parse(s)
        .ok_or_else(|| format!("unknown loop order `{s}` (a permutation of ijk)"))
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or folders to check.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Write the output to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// FORMAT (to stdout) or FORMAT=FILE; repeatable, so that one run
    /// writes several (`--output-format sarif=out.sarif --output-format
    /// text`). Formats: text, json, sarif, github. Replaces --format/-o.
    #[arg(
        long,
        value_name = "FORMAT[=FILE]",
        value_parser = parse_output_format,
        conflicts_with_all = ["format", "output"]
    )]
    output_format: Vec<OutputSpec>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Report only these rule codes or prefixes (`GS1` is GS1xx), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    select: Option<Vec<String>>,
    /// Do not report these rule codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    ignore: Option<Vec<String>>,
    /// The lowest level that fails the run (levels per code come from the configuration).
    #[arg(long, value_parser = parse_level, value_name = "LEVEL")]
    fail_on: Option<config::Level>,
    /// Fail only on findings where some candidate is at least X times faster
    /// (findings with no estimate do not fail).
    #[arg(long, value_parser = parse_speedup, value_name = "X")]
    fail_on_speedup: Option<f64>,
    /// A finding whose best option is less than X times faster than the code
    /// as written is a note, not a warning (default 1.5).
    #[arg(long, value_parser = parse_min_speedup, value_name = "X")]
    min_speedup: Option<f64>,
    /// Measurement: off (nothing run: shipped data, or this machine's
    /// `gemmscope calibrate` points once it has run; deterministic, for CI),
    /// cached (also results measured earlier on this machine), on (also measure).
    #[arg(long, value_parser = parse_bench, value_name = "MODE")]
    bench: Option<advice::BenchMode>,
    /// Findings only: no cost estimates (and no speed-up gate).
    #[arg(long)]
    no_estimates: bool,
    /// Fail only on findings not in this baseline file.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the findings in this baseline file (and exit 0 unless an error).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// compile_commands.json (or its folder) for -D macros and -I folders;
    /// default: found as clangd finds it.
    #[arg(long, value_name = "PATH")]
    compile_commands: Option<PathBuf>,
    /// Use this configuration file for every checked file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Use no configuration file.
    #[arg(long)]
    no_config: bool,
    /// Parse and analyse every file, also those the prefilter shows cannot
    /// hold a finding (the findings are the same; slower).
    #[arg(long)]
    no_prefilter: bool,
    /// Exit 0 even when findings fail (errors still exit 2).
    #[arg(long)]
    exit_zero: bool,
    /// Rewrite fixable findings in place with the library call (re-applied
    /// until nothing changes), then report what is left. See docs/fixes.md.
    #[arg(long, conflicts_with = "diff")]
    fix: bool,
    /// Print the fixes as a unified diff; write nothing (exit 1 when there is one).
    #[arg(long)]
    diff: bool,
    /// With --fix/--diff: also apply fixes that lower precision (TF32, bf16, tensor cores).
    #[arg(long)]
    unsafe_fixes: bool,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Files or folders to check.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the page.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "gemmscope-report.html"
    )]
    output: PathBuf,
    /// Open the page in the browser afterwards (prints its path when no
    /// browser can be started; never fails the run).
    #[arg(long)]
    open: bool,
    /// Numbers: off (model and shipped reference data only; deterministic),
    /// cached (also results measured earlier on this machine).
    #[arg(long, value_enum, default_value_t = ReportBench::Off)]
    bench: ReportBench,
    /// Measure this machine's memory bandwidth (about a second) for the
    /// roofline's memory roof.
    #[arg(long)]
    measure_bandwidth: bool,
    /// Report only these rule codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    select: Option<Vec<String>>,
    /// Do not report these rule codes or prefixes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    ignore: Option<Vec<String>>,
    /// compile_commands.json (or its folder) for -D macros and -I folders.
    #[arg(long, value_name = "PATH")]
    compile_commands: Option<PathBuf>,
    /// Use this configuration file for every checked file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Use no configuration file.
    #[arg(long)]
    no_config: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportBench {
    Off,
    Cached,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// rustc/ruff-style text with an excerpt.
    Text,
    /// The versioned JSON schema of docs/json-output.md.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
}

/// One `--output-format`: a format and its file (stdout when none).
#[derive(Clone)]
struct OutputSpec {
    format: CheckFormat,
    file: Option<PathBuf>,
}

fn parse_output_format(s: &str) -> Result<OutputSpec, String> {
    let (name, file) = match s.split_once('=') {
        Some((n, "")) => return Err(format!("`{n}=`: the file name is missing")),
        Some((n, f)) => (n, Some(PathBuf::from(f))),
        None => (s, None),
    };
    let format = CheckFormat::from_str(name, true).map_err(|_| {
        format!("unknown format `{name}` (text, json, sarif, github; FORMAT or FORMAT=FILE)")
    })?;
    Ok(OutputSpec { format, file })
}

fn parse_level(s: &str) -> Result<config::Level, String> {
    config::Level::parse(s).ok_or_else(|| format!("unknown level `{s}` (note, warning, error)"))
}

fn parse_bench(s: &str) -> Result<advice::BenchMode, String> {
    advice::BenchMode::parse(s).ok_or_else(|| format!("unknown bench mode `{s}` (off, cached, on)"))
}

fn parse_speedup(s: &str) -> Result<f64, String> {
    let t = s.trim_end_matches(['x', '×']);
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!(
            "`{s}` is not a positive number of times faster (e.g. 10 or 2.5)"
        )),
    }
}

fn parse_min_speedup(s: &str) -> Result<f64, String> {
    parse_speedup(s).and_then(|x| {
        if x >= 1.0 {
            Ok(x)
        } else {
            Err(format!("`{s}`: a speed-up threshold is at least 1"))
        }
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// rustc/ruff-style text with an excerpt.
    Text,
    /// The versioned JSON schema of docs/json-output.md.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    // Panics that a per-file check catches are reported as that file's
    // error, not printed as well.
    gemmscope::panic_guard::install();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return if usage {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Bench(args) => run_bench(args),
        Command::Calibrate => run_calibrate(),
        Command::Report(args) => run_report(args),
        Command::Serve => ExitCode::from(gemmscope::lsp::run_stdio() as u8),
        Command::BenchChild => ExitCode::from(bench::child() as u8),
    }
}

/// `--select`/`--ignore` values that name no rule are usage errors.
fn check_select_ignore(
    select: &Option<Vec<String>>,
    ignore: &Option<Vec<String>>,
) -> Result<(), ExitCode> {
    for (flag, codes) in [("--select", select), ("--ignore", ignore)] {
        if let Some(c) = codes {
            if let Err(e) = config::check_flag_codes(flag, c) {
                eprintln!("gemmscope: error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(())
}

fn run_check(args: CheckArgs) -> ExitCode {
    if let Err(code) = check_select_ignore(&args.select, &args.ignore) {
        return code;
    }
    let mut opts = check::CheckOptions::new(args.paths);
    opts.overrides = config::Overrides {
        select: args.select,
        ignore: args.ignore,
        fail_on: args.fail_on,
        fail_on_speedup: args.fail_on_speedup,
        min_speedup: args.min_speedup,
        bench: args.bench,
        baseline: args.baseline,
        compile_commands: args.compile_commands,
        no_config: args.no_config,
        config: args.config,
        no_prefilter: args.no_prefilter,
    };
    opts.write_baseline = args.write_baseline;
    if args.no_estimates {
        opts.advisors = check::no_estimates;
    }
    if args.fix || args.diff {
        let mode = if args.diff {
            fix::Mode::Diff
        } else {
            fix::Mode::Apply
        };
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        let s = match fix::run(&opts, mode, args.unsafe_fixes, &mut stdout, &mut stderr) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gemmscope: error: {e}");
                return ExitCode::from(2);
            }
        };
        if s.errors > 0 {
            return ExitCode::from(2);
        }
        if mode == fix::Mode::Diff {
            return ExitCode::from(u8::from(s.files_changed > 0));
        }
        eprintln!(
            "gemmscope: {} fixes applied in {} files",
            s.fixes_applied, s.files_changed
        );
    }
    let specs = if args.output_format.is_empty() {
        vec![OutputSpec {
            format: args.format,
            file: args.output.clone(),
        }]
    } else {
        args.output_format.clone()
    };
    let mut presenter = match presenters(&specs, args.color) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gemmscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    let summary = match check::run(&opts, presenter.as_mut()) {
        Ok(s) => s,
        Err(e) => {
            for line in e.lines() {
                eprintln!("gemmscope: error: {line}");
            }
            return ExitCode::from(2);
        }
    };
    drop(presenter);
    for e in &summary.errors {
        eprintln!("gemmscope: error: {}: {}", e.path, e.message);
    }
    for w in &summary.warnings {
        eprintln!("gemmscope: warning: {}: {}", w.path, w.message);
    }
    let code = summary.exit_code();
    if code == 1 && (args.exit_zero || opts.write_baseline.is_some()) {
        return ExitCode::SUCCESS;
    }
    ExitCode::from(code)
}

/// The presenters of `check`'s outputs (a [`report::tee::Tee`] when there
/// are several); every file is created before anything is checked.
fn presenters(specs: &[OutputSpec], color: Color) -> Result<Box<dyn check::Presenter>, String> {
    use std::io::IsTerminal;
    if specs.iter().filter(|s| s.file.is_none()).count() > 1 {
        return Err(
            "more than one --output-format writes to stdout: give all but one a file (FORMAT=FILE)"
                .into(),
        );
    }
    let mut all: Vec<Box<dyn check::Presenter>> = Vec::new();
    for spec in specs {
        let out: Box<dyn Write> = match &spec.file {
            Some(p) => match std::fs::File::create(p) {
                Ok(f) => Box::new(std::io::BufWriter::new(f)),
                Err(e) => return Err(format!("{}: cannot write: {e}", p.display())),
            },
            None => Box::new(std::io::stdout().lock()),
        };
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                spec.file.is_none()
                    && std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none()
            }
        };
        all.push(match spec.format {
            CheckFormat::Text => Box::new(report::text::Text::new(out, color)),
            CheckFormat::Json => Box::new(report::json::Json::new(out)),
            CheckFormat::Sarif => Box::new(report::sarif::Sarif::new(out)),
            CheckFormat::Github => Box::new(report::github::Github::new(out)),
        });
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one presenter")
    } else {
        Box::new(report::tee::Tee::new(all))
    })
}

fn run_report(args: ReportArgs) -> ExitCode {
    if let Err(code) = check_select_ignore(&args.select, &args.ignore) {
        return code;
    }
    let mut opts = check::CheckOptions::new(args.paths);
    opts.overrides = config::Overrides {
        select: args.select,
        ignore: args.ignore,
        compile_commands: args.compile_commands,
        no_config: args.no_config,
        config: args.config,
        ..config::Overrides::default()
    };
    let bench = match args.bench {
        ReportBench::Off => advice::BenchMode::Off,
        ReportBench::Cached => advice::BenchMode::Cached,
    };
    let r = match report_html::build(report_html::ReportOptions {
        check: opts,
        bench,
        measure_bandwidth: args.measure_bandwidth,
    }) {
        Ok(r) => r,
        Err(e) => {
            for line in e.lines() {
                eprintln!("gemmscope: error: {line}");
            }
            return ExitCode::from(2);
        }
    };
    for e in &r.errors {
        eprintln!("gemmscope: error: {e}");
    }
    for w in &r.warnings {
        eprintln!("gemmscope: warning: {w}");
    }
    let written = std::fs::File::create(&args.output).and_then(|f| {
        let mut w = std::io::BufWriter::new(f);
        report_html::write(&r, &mut w)?;
        w.flush()
    });
    if let Err(e) = written {
        eprintln!(
            "gemmscope: error: {}: cannot write: {e}",
            args.output.display()
        );
        return ExitCode::from(2);
    }
    let shown = std::fs::canonicalize(&args.output).unwrap_or(args.output.clone());
    eprintln!(
        "gemmscope: wrote {} ({} findings in {} files)",
        shown.display(),
        r.sections.len(),
        r.files_checked
    );
    if args.open {
        match report_html::open::open(&shown) {
            Ok(how) => eprintln!("gemmscope: opened with {how}"),
            Err(why) => {
                eprintln!("gemmscope: no browser could be started ({why}); the report is at:");
                println!("file://{}", shown.display());
            }
        }
    }
    if r.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn run_bench(mut args: BenchArgs) -> ExitCode {
    use std::io::IsTerminal;
    args.what = match args.what.take() {
        Some(BenchWhat::Gemv(g)) => Some(BenchWhat::Gemm(g.into_gemm())),
        Some(BenchWhat::Attention(a)) => Some(BenchWhat::Gemm(a.into_gemm())),
        other => other,
    };
    let no_store = matches!(&args.what, Some(BenchWhat::Gemm(g)) if g.run.no_store);
    if args.validate && args.what.is_some() {
        eprintln!("gemmscope: error: --validate takes no subcommand");
        return ExitCode::from(2);
    }
    let setup = match bench::setup(no_store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gemmscope: error: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &setup.warnings {
        eprintln!("gemmscope: warning: {w}");
    }
    if args.machine {
        let mut out = std::io::stdout().lock();
        return match bench::write_machine(&mut out, &setup, 5.0) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gemmscope: error: writing output: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.validate {
        let store = open_store(no_store);
        let models = bench::models(&setup.machine, &setup.engine.machine, store.as_ref());
        let mut out = std::io::stdout().lock();
        let written = match args.format {
            Format::Text => bench::write_validate(&mut out, &models),
            Format::Json => serde_json::to_writer_pretty(&mut out, &models)
                .map_err(std::io::Error::other)
                .and_then(|_| writeln!(out)),
        };
        return finish(written);
    }
    if let Some(BenchWhat::Sweep(sw)) = &args.what {
        return run_sweep(&setup, sw);
    }
    let engine = &setup.engine;
    let Some(BenchWhat::Gemm(g)) = args.what else {
        eprintln!("gemmscope: error: say what to measure: `gemmscope bench gemm --m M --n N --k K`, `gemmscope bench sweep --sizes 64,128`, `gemmscope bench --validate` or `gemmscope bench --machine`");
        return ExitCode::from(2);
    };
    let p = gemmscope_microbench::Problem {
        op: if let Some(op) = g.op {
            op
        } else if g.batch > 1 {
            gemmscope_microbench::Operation::GemmBatched
        } else {
            gemmscope_microbench::Operation::Gemm
        },
        m: g.m,
        n: g.n,
        k: g.k,
        batch: g.batch,
        dtype: g.dtype,
        layout: g.layout,
        loop_order: g.order.clone(),
    };
    if let Err(e) = p.validate() {
        eprintln!("gemmscope: error: {e}");
        return ExitCode::from(2);
    }
    if !(g.run.budget.is_finite() && g.run.budget > 0.0) {
        eprintln!("gemmscope: error: --budget must be a positive number of seconds");
        return ExitCode::from(2);
    }
    if let Some(ids) = &g.run.candidates {
        if let Err(e) = check_candidates(ids) {
            eprintln!("gemmscope: error: {e}");
            return ExitCode::from(2);
        }
    }
    if !matches!(g.run.measure, Measure::Always) {
        return run_estimate(setup, &p, &g);
    }
    let opts = gemmscope_microbench::Options {
        budget_s: g.run.budget,
        only: g.run.candidates,
        use_cache: !g.run.no_cache,
        timeout_s: g.run.timeout,
        ..Default::default()
    };
    let table = bench::measure(engine, &p, &opts, std::io::stderr().is_terminal());
    let mut out = std::io::stdout().lock();
    let written = match g.run.format {
        Format::Text => bench::write_text(&mut out, &table),
        Format::Json => serde_json::to_writer_pretty(&mut out, &bench::to_json(&table))
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
    };
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("gemmscope: error: writing output: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn run_calibrate() -> ExitCode {
    use std::io::IsTerminal;
    let mut out = std::io::stdout().lock();
    match bench::calibrate(&mut out, std::io::stderr().is_terminal()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemmscope: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn finish(written: std::io::Result<()>) -> ExitCode {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("gemmscope: error: writing output: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

fn check_candidates(ids: &[String]) -> Result<(), String> {
    let known: Vec<&str> = gemmscope_microbench::candidates::all()
        .iter()
        .map(|c| c.id())
        .collect();
    match ids.iter().find(|i| !known.contains(&i.as_str())) {
        Some(bad) => Err(format!(
            "unknown candidate `{bad}` (known: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// A second handle on the store for the model (the engine holds the first).
fn open_store(no_store: bool) -> Option<gemmscope_microbench::store::Store> {
    if no_store {
        return None;
    }
    match gemmscope_microbench::store::Store::open_default() {
        Ok((s, _)) => Some(s),
        Err(e) => {
            eprintln!("gemmscope: warning: the model cannot read the result store: {e}");
            None
        }
    }
}

fn run_sweep(setup: &bench::Setup, sw: &SweepArgs) -> ExitCode {
    use std::io::IsTerminal;
    if sw.sizes.is_empty() || sw.sizes.iter().any(|&s| s == 0 || s > 1 << 16) {
        eprintln!("gemmscope: error: --sizes takes sizes from 1 to 65536");
        return ExitCode::from(2);
    }
    if !(sw.budget.is_finite() && sw.budget > 0.0) {
        eprintln!("gemmscope: error: --budget must be a positive number of seconds");
        return ExitCode::from(2);
    }
    if let Some(ids) = &sw.candidates {
        if let Err(e) = check_candidates(ids) {
            eprintln!("gemmscope: error: {e}");
            return ExitCode::from(2);
        }
    }
    if setup.engine.cache.is_none() {
        eprintln!("gemmscope: error: the sweep fills the result store, and it cannot be opened");
        return ExitCode::from(2);
    }
    let opts = gemmscope_microbench::Options {
        budget_s: sw.budget,
        only: sw.candidates.clone(),
        use_cache: !sw.no_cache,
        timeout_s: sw.timeout,
        ..Default::default()
    };
    let mut out = std::io::stdout().lock();
    let swept = bench::sweep(
        &setup.engine,
        &sw.sizes,
        sw.dtype,
        &opts,
        std::io::stderr().is_terminal(),
        &mut out,
    );
    if let Err(e) = swept {
        return finish(Err(e));
    }
    let store = open_store(false);
    let mut models = bench::models(&setup.machine, &setup.engine.machine, store.as_ref());
    if let Some(ids) = &sw.candidates {
        models.models.retain(|m| ids.contains(&m.candidate));
    }
    let written = writeln!(out).and_then(|_| bench::write_validate(&mut out, &models));
    finish(written)
}

fn run_estimate(setup: bench::Setup, p: &gemmscope_microbench::Problem, g: &GemmArgs) -> ExitCode {
    use gemmscope_microbench::estimate::{Estimator, MeasurePolicy};
    let policy = match g.run.measure {
        Measure::Never => MeasurePolicy::Never,
        Measure::Cached => MeasurePolicy::Cached,
        Measure::Always => MeasurePolicy::Always,
    };
    if gemmscope_microbench::candidates::by_id(&g.as_written).is_none() {
        if let Err(e) = check_candidates(std::slice::from_ref(&g.as_written)) {
            eprintln!("gemmscope: error: --as-written: {e}");
            return ExitCode::from(2);
        }
    }
    let store = open_store(g.run.no_store);
    // This CPU's calibration, where the store has no rows under this
    // machine id (as `check --bench off` reads it).
    let cal = store.as_ref().and_then(|s| {
        gemmscope_microbench::calibrate::load(
            s.path(),
            &gemmscope_microbench::calibrate::cpu_key(&setup.machine),
        )
    });
    let est = Estimator::new(setup.machine, store, Some(setup.engine), None).with_calibration(cal);
    let mut e = est.estimate(p, &g.as_written, policy);
    if let Some(ids) = &g.run.candidates {
        e.alternatives.retain(|l| ids.contains(&l.candidate));
        e.unknown.retain(|(id, _)| ids.contains(id));
    }
    let mut out = std::io::stdout().lock();
    let written = match g.run.format {
        Format::Text => bench::write_estimate(&mut out, &e),
        Format::Json => serde_json::to_writer_pretty(&mut out, &e)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out)),
    };
    finish(written)
}
