//! `eventflow plan -f PATH... [--format text|dot|json]`

use std::path::PathBuf;
use std::process::ExitCode;

/// Output formats of `plan`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Indented text.
    Text,
    /// Graphviz DOT.
    Dot,
    /// JSON.
    Json,
}

/// Arguments of `plan`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Manifest files or folders.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Prints the plan; exit 1 when the manifests are invalid.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some((_, plan)) = super::load::load(&args.files) else {
        return Ok(ExitCode::from(1));
    };
    let text = match args.format {
        Format::Text => plan.to_text(),
        Format::Dot => plan.to_dot(),
        Format::Json => serde_json::to_string_pretty(&plan.to_json())? + "\n",
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
