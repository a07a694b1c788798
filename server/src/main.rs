//! The `gemmscope` binary: the CLI (`check`) and, with later work, the
//! language server (`serve`), `bench` and `explain`. Everything here is
//! presentation: analysis lives in `gemmscope-analyzers`.

mod check;
mod report;

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
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or folders to check.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
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
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    let outcome = check::check_paths(&args.paths);
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Text => {
            use std::io::IsTerminal;
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            report::text::write(&mut stdout, &outcome, color)
        }
        Format::Json => report::json::write(&mut stdout, &outcome),
    };
    for e in &outcome.errors {
        eprintln!("gemmscope: error: {}: {}", e.path, e.message);
    }
    for w in &outcome.warnings {
        eprintln!("gemmscope: warning: {}: {}", w.path, w.message);
    }
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("gemmscope: error: writing output: {e}");
            return ExitCode::from(2);
        }
    }
    if !outcome.errors.is_empty() {
        ExitCode::from(2)
    } else if outcome.files.iter().any(|f| !f.findings.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
