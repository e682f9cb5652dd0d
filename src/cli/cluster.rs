//! `--processes N --process I --hostfile FILE`: timely's cluster configuration, shared by
//! `replay`, `run` and `bench` (issue 7; DESIGN.md §5).

use anyhow::{bail, Context};
use eventflow::engine::run::Communication;
use std::path::PathBuf;

/// Cluster flags, flattened into a command's arguments.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Cluster mode: number of processes (timely's cluster; needs --process and --hostfile).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Cluster mode: this process's index, 0..processes. Process 0 holds the output (the
    /// delivery log and report of `replay`/`run`, the tables of `bench`).
    #[arg(long, default_value_t = 0)]
    pub process: usize,
    /// Cluster mode: a file with one `host:port` per process, the same on every process.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// Serialize every record exchanged between workers, as a cluster would (a test guard).
    #[arg(long, hide = true)]
    pub binary_exchange: bool,
}

impl ClusterArgs {
    /// `true` on process 0 (and outside a cluster): the process that holds the delivery log,
    /// the report and the summary.
    pub fn leader(&self) -> bool {
        self.process == 0
    }

    /// `true` when more than one process takes part.
    pub fn is_cluster(&self) -> bool {
        self.processes > 1
    }

    /// Timely communication for these flags.
    ///
    /// # Errors
    /// A missing or unreadable hostfile, a hostfile whose address count differs from
    /// `--processes`, or `--process` out of range.
    pub fn communication(&self) -> anyhow::Result<Communication> {
        if self.process >= self.processes.max(1) {
            bail!(
                "--process {} is out of range 0..{} (--processes is the cluster's size)",
                self.process,
                self.processes.max(1)
            );
        }
        if self.processes <= 1 {
            return Ok(if self.binary_exchange {
                Communication::ProcessBinary
            } else {
                Communication::Process
            });
        }
        let Some(path) = &self.hostfile else {
            bail!(
                "--processes {} needs --hostfile FILE (one host:port per process)",
                self.processes
            );
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --hostfile {}", path.display()))?;
        let addresses: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        if addresses.len() != self.processes {
            bail!(
                "--hostfile {} lists {} address(es) but --processes is {}",
                path.display(),
                addresses.len(),
                self.processes
            );
        }
        Ok(Communication::Cluster {
            process: self.process,
            addresses,
        })
    }
}

/// The delivery log's own handle on standard output, with file descriptor 1 then pointed at
/// standard error: timely prints "awaiting connections" on stdout while a cluster connects,
/// which would otherwise end up inside a `--out -` delivery log.
///
/// # Errors
/// The I/O error when the descriptors cannot be duplicated.
#[cfg(unix)]
pub fn private_stdout() -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsFd;
    std::io::Write::flush(&mut std::io::stdout())?;
    let own = std::io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two descriptors this process owns (stderr onto stdout); no memory is
    // shared, and Rust's `Stdout` keeps using descriptor 1, now a copy of stderr.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(std::fs::File::from(own))
}

/// Without Unix descriptors, standard output as it is.
#[cfg(not(unix))]
pub fn private_stdout() -> anyhow::Result<std::io::Stdout> {
    Ok(std::io::stdout())
}
