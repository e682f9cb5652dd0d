//! # eventflow
//!
//! Knative Eventing without Kubernetes: the same manifests (Broker, Trigger, Channel,
//! Subscription, Sequence, Parallel, sources) compiled into a timely dataflow that routes
//! CloudEvents in-process, on worker threads.
//!
//! This crate is the facade: [`load`] turns manifest files into a checked
//! [`Plan`](planner::plan::Plan), and [`Engine`] runs it with Rust closures bound to the
//! Knative `Service` names the manifests refer to.
//!
//! ```
//! use eventflow::{Engine, Event, Reply};
//! # let dir = std::env::temp_dir().join(format!("eventflow-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("broker.yaml");
//! std::fs::write(&path, "
//! apiVersion: eventing.knative.dev/v1
//! kind: Broker
//! metadata: {name: default, namespace: default}
//! ---
//! apiVersion: eventing.knative.dev/v1
//! kind: Trigger
//! metadata: {name: on-push, namespace: default}
//! spec:
//!   broker: default
//!   filter: {attributes: {type: com.github.push}}
//!   subscriber: {ref: {apiVersion: v1, kind: Service, name: ci}}
//! ").unwrap();
//! let engine = Engine::from_paths([&path])?
//!     .bind("ci", |_event: &Event| Reply::None)
//!     .workers(1)
//!     .start()?;
//! engine.send("broker/default", Event::new("1", "/repo", "com.github.push"))?;
//! engine.send("broker/default", Event::new("2", "/repo", "com.github.issues"))?;
//! let report = engine.shutdown()?;
//! assert_eq!(report.per_via["Service/default/ci <- Trigger/default/on-push"], 1);
//! # Ok::<(), eventflow::Error>(())
//! ```

mod api;
pub mod bench;

pub use api::{load, Engine, Error, Loaded, RunningEngine};
pub use eventflow_connectors as connectors;
pub use eventflow_engine as engine;
pub use eventflow_engine::{Bindings, Builtin, Reply, Report};
pub use eventflow_planner as planner;
pub use eventflow_planner::event::Event;
