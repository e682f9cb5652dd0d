//! ContainerSource as a local process (`eventflow run --image IMAGE=COMMAND`).
//!
//! Knative runs a ContainerSource's pod template as a Deployment and injects, through its
//! SinkBinding, `K_SINK` (the sink's resolved URL) and `K_CE_OVERRIDES` (JSON
//! `{"extensions":{…}}` of `spec.ceOverrides`) (knative-semantics.md §1.6;
//! `knative/eventing:pkg/apis/sources/v1/container_types.go`, `sinkbinding_lifecycle.go`).
//! There are no containers here: each image is mapped to a local command, run as
//! `sh -c 'COMMAND "$@"'` with the container's `args` appended and this environment, in order
//! (later entries win): eventflow's own, `POD_NAME` = the source's name and `POD_NAMESPACE` =
//! its namespace (what the Knative samples read through the downward API), `K_SINK`,
//! `K_CE_OVERRIDES` (only when `ceOverrides` has extensions), then the container's `env` (an
//! entry with an empty value — a `valueFrom` is not evaluated — does not override `POD_NAME`
//! or `POD_NAMESPACE`). Like a Deployment's pod, the process is restarted whenever it exits
//! (after 100 ms, doubling to 5 s; back to 100 ms after a run of 10 s or more) and stopped
//! with SIGTERM, then SIGKILL after a grace period, when the source set stops.

use crate::process::{self, Backoff};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use eventflow_planner::plan::{Plan, Target};
use eventflow_planner::topology::SourceKind;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A run at least this long resets the restart backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// How often a supervisor checks whether its process exited.
const POLL: Duration = Duration::from_millis(50);

/// One ContainerSource, ready to run as a local process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerProcess {
    /// `ContainerSource/namespace/name`.
    pub name: String,
    /// The image of the manifest.
    pub image: String,
    /// The local command it is mapped to (run with `sh -c`).
    pub command: String,
    /// The container's `args`, appended to the command.
    pub args: Vec<String>,
    /// Environment set on top of eventflow's (see the module docs), in order.
    pub env: Vec<(String, String)>,
}

impl ContainerProcess {
    /// The value of `K_SINK`.
    pub fn sink(&self) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == "K_SINK")
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The ContainerSources of a plan that can run, and those that cannot (with the reason).
#[derive(Debug, Clone, Default)]
pub struct Containers {
    /// Runnable, in manifest order.
    pub processes: Vec<ContainerProcess>,
    /// `ContainerSource/ns/name: reason` for sources whose sink has no URL.
    pub skipped: Vec<String>,
}

/// Why the ContainerSources cannot be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// Images with no `--image` mapping: (`ContainerSource/ns/name`, image).
    #[error("no --image mapping for {}", list(.0))]
    Unmapped(Vec<(String, String)>),
    /// A ContainerSource without an image (`spec.template.spec.containers[0].image`).
    #[error("{0}: no image in spec.template.spec.containers[0] (nothing to map to a command)")]
    NoImage(String),
}

fn list(unmapped: &[(String, String)]) -> String {
    let items: Vec<String> = unmapped
        .iter()
        .map(|(name, image)| format!("{name} (image {image})"))
        .collect();
    items.join(", ")
}

/// `ContainerSource/ns/name` of every ContainerSource in `plan`, in manifest order.
pub fn names(plan: &Plan) -> Vec<String> {
    plan.sources
        .iter()
        .filter(|(s, _)| matches!(s.kind, SourceKind::Container { .. }))
        .map(|(s, _)| format!("{}/{}/{}", s.kind_name, s.meta.namespace, s.meta.name))
        .collect()
}

/// The repository part of an image reference: without `@digest` and `:tag`
/// (`host:5000/a/b:v1` → `host:5000/a/b`).
pub fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(r, _)| r);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// The command `images` maps `image` to: an exact match, else a mapping written without tag
/// or digest for the image's repository.
fn command_for<'a>(images: &'a [(String, String)], image: &str) -> Option<&'a str> {
    images
        .iter()
        .find(|(i, _)| i == image)
        .or_else(|| {
            images
                .iter()
                .find(|(i, _)| i == repository(image) && repository(i) == i)
        })
        .map(|(_, c)| c.as_str())
}

/// The ContainerSources of `plan` with their commands from `images` (IMAGE, COMMAND) and their
/// `K_SINK` from `sink` (a target's URL, or why it has none: those sources are skipped).
///
/// # Errors
/// [`ContainerError::Unmapped`] listing every source whose image has no mapping;
/// [`ContainerError::NoImage`] for a source without an image.
pub fn containers(
    plan: &Plan,
    images: &[(String, String)],
    sink: impl Fn(Target) -> Result<String, String>,
) -> Result<Containers, ContainerError> {
    let (mut out, mut unmapped) = (Containers::default(), Vec::new());
    for (source, target) in &plan.sources {
        let SourceKind::Container { image, args, env } = &source.kind else {
            continue;
        };
        let (ns, short) = (&source.meta.namespace, &source.meta.name);
        let name = format!("{}/{ns}/{short}", source.kind_name);
        let Some(image) = image else {
            return Err(ContainerError::NoImage(name));
        };
        let Some(command) = command_for(images, image) else {
            unmapped.push((name, image.clone()));
            continue;
        };
        let url = match target.map(&sink) {
            Some(Ok(url)) => url,
            Some(Err(why)) => {
                out.skipped.push(format!("{name}: {why}"));
                continue;
            }
            None => {
                out.skipped
                    .push(format!("{name}: its sink does not resolve (not ready)"));
                continue;
            }
        };
        let mut vars = vec![
            ("POD_NAME".to_string(), short.clone()),
            ("POD_NAMESPACE".to_string(), ns.clone()),
            ("K_SINK".to_string(), url),
        ];
        if !source.ce_overrides.is_empty() {
            let extensions: serde_json::Map<String, serde_json::Value> = source
                .ce_overrides
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let json = serde_json::json!({ "extensions": extensions }).to_string();
            vars.push(("K_CE_OVERRIDES".to_string(), json));
        }
        for (k, v) in env {
            let downward = k == "POD_NAME" || k == "POD_NAMESPACE";
            if !(downward && v.is_empty()) {
                vars.push((k.clone(), v.clone()));
            }
        }
        out.processes.push(ContainerProcess {
            name,
            image: image.clone(),
            command: command.to_string(),
            args: args.clone(),
            env: vars,
        });
    }
    if unmapped.is_empty() {
        Ok(out)
    } else {
        Err(ContainerError::Unmapped(unmapped))
    }
}

/// Counts of a running set of container processes.
#[derive(Debug, Default)]
pub struct ContainerStats {
    /// Processes started (first starts and restarts).
    pub starts: AtomicU64,
    /// Times a process exited by itself or could not start (each one is restarted).
    pub exits: AtomicU64,
}

/// ContainerSource processes, each watched by a thread that restarts it, until
/// [`LiveContainers::stop`] (or drop).
pub struct LiveContainers {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<ContainerStats>,
}

impl LiveContainers {
    /// Starts every process; on stop each gets `grace` between SIGTERM and SIGKILL.
    pub fn start(processes: Vec<ContainerProcess>, grace: Duration) -> LiveContainers {
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let stats = Arc::new(ContainerStats::default());
        let threads = processes
            .into_iter()
            .filter_map(|p| {
                let (stop, stats) = (stop_rx.clone(), stats.clone());
                let name = format!("source {}", p.name);
                let spawned = std::thread::Builder::new()
                    .name(name)
                    .spawn(move || supervise(&p, &stop, &stats, grace));
                spawned
                    .map_err(|e| tracing::error!("cannot start a container thread: {e}"))
                    .ok()
            })
            .collect();
        LiveContainers {
            stop: Some(stop_tx),
            threads,
            stats,
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &ContainerStats {
        &self.stats
    }

    /// Stops every process (SIGTERM to its process group, SIGKILL after the grace period),
    /// waits for them, and returns (starts, exits).
    pub fn stop(mut self) -> (u64, u64) {
        self.halt();
        (
            self.stats.starts.load(Ordering::Relaxed),
            self.stats.exits.load(Ordering::Relaxed),
        )
    }

    fn halt(&mut self) {
        // Dropping the only sender disconnects every supervisor's `recv_timeout`.
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LiveContainers {
    fn drop(&mut self) {
        self.halt();
    }
}

fn spawn(p: &ContainerProcess) -> std::io::Result<Child> {
    let mut cmd = process::shell(&p.command, &p.args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    for (k, v) in &p.env {
        cmd.env(k, v);
    }
    cmd.spawn()
}

/// True when the stop signal came (or its sender is gone) within `wait`.
fn stopped(stop: &Receiver<()>, wait: Duration) -> bool {
    !matches!(stop.recv_timeout(wait), Err(RecvTimeoutError::Timeout))
}

fn supervise(p: &ContainerProcess, stop: &Receiver<()>, stats: &ContainerStats, grace: Duration) {
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let outcome = match spawn(p) {
            Ok(mut child) => {
                stats.starts.fetch_add(1, Ordering::Relaxed);
                tracing::info!(source = %p.name, pid = child.id(), "started `{}`", p.command);
                loop {
                    if stopped(stop, POLL) {
                        process::stop(&mut child, grace);
                        return;
                    }
                    match child.try_wait() {
                        Ok(None) => {}
                        Ok(Some(status)) => {
                            process::stop(&mut child, Duration::ZERO); // leftovers of its group
                            break format!("exited ({status})");
                        }
                        Err(e) => {
                            process::stop(&mut child, grace);
                            break format!("cannot be watched: {e}");
                        }
                    }
                }
            }
            Err(e) => format!("cannot start `{}`: {e}", p.command),
        };
        stats.exits.fetch_add(1, Ordering::Relaxed);
        if started.elapsed() >= HEALTHY_RUN {
            backoff.reset();
        }
        let wait = backoff.step();
        tracing::warn!(source = %p.name, "process {outcome}; restarting in {wait:?}");
        if stopped(stop, wait) {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
