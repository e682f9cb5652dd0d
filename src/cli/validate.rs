//! `eventflow validate -f PATH...`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders (all *.yaml / *.yml inside, multi-document).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

/// Exit 0 when valid, 1 when not.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match super::load::load(&args.files) {
        Some((topology, plan)) => {
            let _ = writeln!(
                std::io::stdout().lock(),
                "valid: {} brokers, {} triggers, {} channels, {} subscriptions, {} sequences, {} parallels, {} sources, {} event types ({} plan edges)",
                topology.brokers.len(),
                topology.triggers.len(),
                topology.channels.len(),
                topology.subscriptions.len(),
                topology.sequences.len(),
                topology.parallels.len(),
                topology.sources.len(),
                topology.event_types.len(),
                plan.edges.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::from(1)),
    }
}
