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
    /// Replay a log with the event registry on: event types per Broker/channel, declared vs seen.
    Registry(cli::registry::Args),
    /// Explain where one event goes: each Trigger's filter trace and the path through the graph.
    Explain(cli::explain::Args),
    /// Serve Knative-compatible HTTP ingress and route events live (Ctrl-C / SIGTERM drains).
    Run(cli::run::Args),
    /// Measure throughput, latency and memory beside baselines, as ratios to the targets.
    Bench(cli::bench::Args),
}

fn main() -> ExitCode {
    quiet_engine_panics();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => cli::validate::run(a),
        Command::Plan(a) => cli::plan::run(a),
        Command::Replay(a) => cli::replay::run(a),
        Command::Registry(a) => cli::registry::run(a),
        Command::Explain(a) => cli::explain::run(a),
        Command::Bench(a) => cli::bench::run(a),
        Command::Run(a) => cli::run::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// A lost cluster peer makes timely's threads panic one after another ("timely communication
/// error", "MergeQueue poisoned"); `run` then reports the loss in plain words. Print those
/// panics as one warning line each, without backtraces; other panics (a bug) keep the default
/// report.
fn quiet_engine_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("");
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        const LOST_PEER: [&str; 4] = [
            "timely communication error",
            "MergeQueue poisoned",
            "Send thread panic",
            "Recv thread panic",
        ];
        let engine = name.starts_with("timely:") || name == "eventflow-engine";
        if engine && LOST_PEER.iter().any(|p| msg.contains(p)) {
            eprintln!("warning: engine thread {name} stopped: {msg}");
        } else {
            default(info);
        }
    }));
}
