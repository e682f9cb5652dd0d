//! Timer sources: PingSource and CronJobSource (knative-semantics.md §1.6).
//!
//! [`timers`] turns the plan's sources into [`Timer`]s — a cron [`Schedule`](schedule::Schedule)
//! in its time zone, an [`EventTemplate`](event::EventTemplate) shaped as Knative's adapter
//! shapes the event, and the ingress node of the source's sink. They fire either on the
//! virtual clock of a replay ([`replay::fire_between`], `eventflow replay --from --until`) or on
//! real timers into a live engine ([`live::LiveSources`], `eventflow run`).
//!
//! ContainerSources are not timers: [`container`] runs each as a local process posting to its
//! sink's ingress URL (`eventflow run --image IMAGE=COMMAND`).

pub mod container;
pub mod event;
pub mod live;
pub mod replay;
pub mod schedule;

use eventflow_planner::plan::{NodeId, Plan, Target};
use eventflow_planner::topology::SourceKind;

pub use event::{EventId, EventTemplate};
pub use schedule::{Schedule, ScheduleError};

/// A source that fires on a schedule into an ingress node.
#[derive(Debug, Clone)]
pub struct Timer {
    /// `Kind/namespace/name`, for messages.
    pub name: String,
    /// The ingress node of its sink (Broker, channel, Sequence, Parallel).
    pub node: NodeId,
    /// When it fires.
    pub schedule: Schedule,
    /// What it sends.
    pub template: EventTemplate,
}

/// The timer sources of a plan, and the ones that cannot fire (with the reason).
#[derive(Debug, Clone, Default)]
pub struct Timers {
    /// Sources that fire, in manifest order.
    pub timers: Vec<Timer>,
    /// `Kind/ns/name: reason` for PingSources and CronJobSources that do not fire.
    pub skipped: Vec<String>,
}

/// Why a source cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A schedule or time zone the cron parser refuses.
    #[error("{name}: {error}")]
    Schedule {
        /// `Kind/ns/name`.
        name: String,
        /// What is wrong.
        error: ScheduleError,
    },
    /// A payload that cannot be built.
    #[error("{name}: {error}")]
    Template {
        /// `Kind/ns/name`.
        name: String,
        /// What is wrong.
        error: event::TemplateError,
    },
}

/// The PingSources and CronJobSources of `plan` whose sink is an ingress node. A source whose
/// sink is an external subscriber (a Service or URI: only `eventflow run` with HTTP
/// subscribers could reach it) or does not resolve is listed in [`Timers::skipped`].
///
/// # Errors
/// [`SourceError`] for the first schedule, time zone or payload that cannot be used.
pub fn timers(plan: &Plan) -> Result<Timers, SourceError> {
    let mut out = Timers::default();
    for (source, target) in &plan.sources {
        let (schedule, timezone) = match &source.kind {
            SourceKind::Ping {
                schedule, timezone, ..
            } => (schedule, timezone.as_deref()),
            SourceKind::CronJob { schedule, .. } => (schedule, None),
            _ => continue,
        };
        let name = format!(
            "{}/{}/{}",
            source.kind_name, source.meta.namespace, source.meta.name
        );
        let node = match target {
            Some(Target::Node(n)) => *n,
            Some(Target::External(x)) => {
                let sink = plan
                    .externals
                    .get(*x as usize)
                    .map_or("?", |e| e.name.as_str());
                out.skipped.push(format!(
                    "{name}: its sink {sink} is an external subscriber, not a Broker, channel, Sequence or Parallel"
                ));
                continue;
            }
            None => {
                out.skipped
                    .push(format!("{name}: its sink does not resolve (not ready)"));
                continue;
            }
        };
        let schedule =
            Schedule::parse(schedule, timezone).map_err(|error| SourceError::Schedule {
                name: name.clone(),
                error,
            })?;
        let template = match EventTemplate::from_source(source) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(error) => return Err(SourceError::Template { name, error }),
        };
        out.timers.push(Timer {
            name,
            node,
            schedule,
            template,
        });
    }
    Ok(out)
}
