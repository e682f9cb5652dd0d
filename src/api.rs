//! The library API (DESIGN.md §6): load manifests, bind closures, send events, shut down.

use eventflow_engine::live::{LiveEngine, LiveOptions};
use eventflow_engine::run::EngineError;
use eventflow_engine::{Bindings, Reply, Report};
use eventflow_planner::diagnostic::Diagnostics;
use eventflow_planner::event::Event;
use eventflow_planner::manifest::load_paths;
use eventflow_planner::plan::{Plan, PlanError};
use eventflow_planner::topology::Topology;
use std::path::Path;
use std::sync::Arc;

/// What can go wrong using the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifests are invalid (every problem, with file:line).
    #[error("invalid manifests:\n{0}")]
    Manifests(Diagnostics),
    /// A reference could not be placed in the plan.
    #[error("cannot plan: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Plan(Vec<PlanError>),
    /// `send` named no ingress (`broker/NAME`, `channel/NAME`, `sequence/NAME`, `parallel/NAME`).
    #[error("{0}")]
    Ingress(String),
    /// The engine stopped.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The engine is no longer running.
    #[error("the engine has stopped")]
    Stopped,
    /// NATS JetStream could not be reached or set up ([`Engine::nats`]).
    #[cfg(feature = "nats")]
    #[error("{0}")]
    Nats(#[from] eventflow_connectors::nats::NatsError),
    /// A JetStream-backed ingress did not store the event (not sent; retry).
    #[error("{0}")]
    NotStored(String),
}

/// Manifests loaded and lowered.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The normalised resources.
    pub topology: Topology,
    /// The dataflow plan.
    pub plan: Plan,
    /// Warnings (never errors).
    pub warnings: Diagnostics,
}

/// Loads `-f` paths (files or folders) and lowers them to a plan.
///
/// # Errors
/// [`Error::Manifests`] with every problem found, or [`Error::Plan`].
pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Loaded, Error> {
    let (topology, warnings) = load_paths(paths).map_err(Error::Manifests)?;
    let plan = Plan::lower(&topology).map_err(Error::Plan)?;
    Ok(Loaded {
        topology,
        plan,
        warnings,
    })
}

/// An engine being configured: bind subscribers, choose workers, then [`Engine::start`].
pub struct Engine {
    plan: Arc<Plan>,
    bindings: Bindings,
    workers: usize,
    #[cfg(feature = "nats")]
    nats: Option<eventflow_connectors::nats::NatsConfig>,
}

impl Engine {
    /// Loads manifests from files or folders.
    ///
    /// # Errors
    /// See [`load`].
    pub fn from_paths<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Engine, Error> {
        let paths: Vec<P> = paths.into_iter().collect();
        let loaded = load(&paths)?;
        Ok(Engine::from_plan(loaded.plan))
    }

    /// Uses an already lowered plan.
    pub fn from_plan(plan: Plan) -> Engine {
        Engine {
            plan: Arc::new(plan),
            bindings: Bindings::new(),
            workers: 1,
            #[cfg(feature = "nats")]
            nats: None,
        }
    }

    /// Backs the plan's `NatsJetStreamChannel`s and `NatsJetStreamBroker`s with the NATS
    /// JetStream server at `url` (`nats://host:4222`): [`RunningEngine::send`] to them returns
    /// once JetStream stored the event, and stored events are delivered at least once, across
    /// restarts. Without this call they run in memory like any channel.
    #[cfg(feature = "nats")]
    pub fn nats(mut self, url: &str) -> Engine {
        self.nats = Some(eventflow_connectors::nats::NatsConfig {
            url: url.to_string(),
            ..eventflow_connectors::nats::NatsConfig::default()
        });
        self
    }

    /// Binds the Service (or `uri`) `name` to a closure. Unbound subscribers acknowledge.
    pub fn bind<F>(mut self, name: &str, f: F) -> Engine
    where
        F: Fn(&Event) -> Reply + Send + Sync + 'static,
    {
        self.bindings.bind(name, Arc::new(f));
        self
    }

    /// Number of timely worker threads (default 1).
    pub fn workers(mut self, n: usize) -> Engine {
        self.workers = n.max(1);
        self
    }

    /// Starts the workers (and, with [`Engine::nats`], connects and starts the consumers).
    ///
    /// # Errors
    /// [`Error::Engine`] when the engine's threads cannot be started; `Error::Nats` when
    /// JetStream is unreachable.
    pub fn start(self) -> Result<RunningEngine, Error> {
        #[cfg(feature = "nats")]
        let durable = match (&self.nats, self.plan.jetstream.is_empty()) {
            (Some(cfg), false) => Some(eventflow_connectors::nats::JetStreamChannels::connect(
                &self.plan,
                cfg.clone(),
            )?),
            _ => None,
        };
        let opts = LiveOptions {
            workers: self.workers,
            ..LiveOptions::default()
        };
        let live = LiveEngine::start_with(self.plan, self.bindings, opts)?;
        #[cfg(feature = "nats")]
        if let Some(d) = &durable {
            d.start(&live.sender());
        }
        Ok(RunningEngine {
            live,
            #[cfg(feature = "nats")]
            durable,
        })
    }
}

/// A running engine: [`send`](RunningEngine::send) events, then [`shutdown`](RunningEngine::shutdown).
///
/// A thin wrapper over [`LiveEngine`] that names ingresses by `kind/name`; use
/// [`RunningEngine::live`] for the node-level, non-blocking API.
pub struct RunningEngine {
    live: LiveEngine,
    #[cfg(feature = "nats")]
    durable: Option<eventflow_connectors::nats::JetStreamChannels>,
}

impl RunningEngine {
    /// Sends one event into an ingress (`broker/NAME`, `channel/NAME`, `sequence/NAME`,
    /// `parallel/NAME`, optionally `kind/namespace/name`). Returns once the engine accepted it
    /// (waiting while its bounded queue is full).
    ///
    /// # Errors
    /// [`Error::Ingress`] for an unknown ingress, [`Error::Stopped`] after a failure.
    pub fn send(&self, into: &str, event: Event) -> Result<(), Error> {
        let (into, ns) = match into.splitn(3, '/').collect::<Vec<_>>().as_slice() {
            [k, ns, n] => (format!("{k}/{n}"), Some(ns.to_string())),
            _ => (into.to_string(), None),
        };
        let node = self
            .live
            .plan()
            .entry(Some(&into), ns.as_deref())
            .map_err(Error::Ingress)?;
        #[cfg(feature = "nats")]
        if let Some(d) = self.durable.as_ref().filter(|d| d.is_durable(node)) {
            return d
                .send(node, event)
                .map_err(|e| Error::NotStored(e.to_string()));
        }
        self.live.send(node, event).map_err(|_| Error::Stopped)
    }

    /// What the JetStream side did so far (`None` without [`Engine::nats`]).
    #[cfg(feature = "nats")]
    pub fn jetstream_stats(&self) -> Option<eventflow_connectors::nats::NatsStats> {
        self.durable.as_ref().map(|d| d.stats())
    }

    /// The underlying engine handle (non-blocking `try_send` by node id, cloneable senders).
    pub fn live(&self) -> &LiveEngine {
        &self.live
    }

    /// Stops accepting events, waits until everything sent has drained, and returns the report.
    /// With JetStream, events stored but not yet pulled stay in their stream for the next start.
    ///
    /// # Errors
    /// [`Error::Engine`] if the dataflow failed.
    pub fn shutdown(self) -> Result<Report, Error> {
        #[cfg(feature = "nats")]
        if let Some(d) = &self.durable {
            d.stop_pulling();
        }
        let report = self.live.shutdown()?;
        #[cfg(feature = "nats")]
        if let Some(d) = &self.durable {
            d.finish(std::time::Duration::from_secs(30));
        }
        Ok(report)
    }
}
