//! The `eventflow` command line: validate, plan and replay Knative manifests (DESIGN.md §5).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Knative Eventing without Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "eventflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check manifests; exit 0 when valid, 1 when not (diagnostics on stderr).
    Validate(cli::validate::Args),
    /// Print the dataflow plan the manifests compile to.
    Plan(cli::plan::Args),
    /// Replay a JSON Lines CloudEvents log through the topology.
    Replay(cli::replay::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => cli::validate::run(a),
        Command::Plan(a) => cli::plan::run(a),
        Command::Replay(a) => cli::replay::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
