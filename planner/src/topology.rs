//! The Topology: every resource of a manifest set, normalised to the Knative v1 model, with
//! references resolved. Produced by [`crate::manifest::load_paths`] (+ checks), consumed by
//! [`crate::plan::Plan::lower`].

use crate::delivery::DeliverySpec;
use crate::diagnostic::Origin;
use crate::filter::Filter;
use std::fmt;

/// What a reference points at, as far as routing cares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// A `Broker` (eventing.knative.dev).
    Broker,
    /// A channel: `InMemoryChannel`, `Channel`, or another channel kind (name kept).
    Channel(String),
    /// A `Sequence` (flows.knative.dev, or messaging v1alpha1).
    Sequence,
    /// A `Parallel` (flows.knative.dev, or messaging v1alpha1).
    Parallel,
    /// Anything else (Knative or core `Service`, a Deployment, …): an external subscriber,
    /// named by its kind, bound at run time by name (`--service NAME=BINDING`).
    External(String),
}

impl RefKind {
    /// The Kubernetes kind name (`Broker`, `InMemoryChannel`, `Service`, …).
    pub fn kind_name(&self) -> &str {
        match self {
            RefKind::Broker => "Broker",
            RefKind::Channel(k) | RefKind::External(k) => k,
            RefKind::Sequence => "Sequence",
            RefKind::Parallel => "Parallel",
        }
    }
}

/// A resolved Knative `KReference` (namespace defaulted to the referrer's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// What it points at.
    pub kind: RefKind,
    /// `namespace` (defaulted).
    pub namespace: String,
    /// `name`.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    /// `Kind/namespace/name`, the form used in delivery logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.kind.kind_name(),
            self.namespace,
            self.name
        )
    }
}

/// Knative `Destination` (duck v1): a `ref`, an absolute `uri`, or a `ref` with a relative `uri`.
/// The legacy inline form (`apiVersion/kind/name` directly in the destination) becomes `Ref`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Destination {
    /// `ref` (+ optional relative `uri` path, kept for display and for HTTP resolution).
    Ref {
        /// The reference.
        target: ObjectRef,
        /// Relative `uri` resolved against the ref's address (RFC 3986).
        path: Option<String>,
    },
    /// An absolute `uri`.
    Uri(String),
}

impl fmt::Display for Destination {
    /// `Kind/namespace/name` for refs (with the relative uri appended when set), the URL for `uri`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Ref { target, path: None } => write!(f, "{target}"),
            Destination::Ref {
                target,
                path: Some(p),
            } => write!(f, "{target}{p}"),
            Destination::Uri(u) => f.write_str(u),
        }
    }
}

/// Identity of a resource: kind, namespace, name, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Meta {
    /// `metadata.namespace` (default `default`).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The file and line of the document.
    pub origin: Origin,
}

/// `Broker` (eventing v1; v1alpha1 `channelTemplateSpec` and v1beta1 normalised).
#[derive(Debug, Clone, PartialEq)]
pub struct Broker {
    /// Identity.
    pub meta: Meta,
    /// `eventing.knative.dev/broker.class` annotation (default `MTChannelBasedBroker`).
    pub class: String,
    /// Kind of the backing channel when the manifest says (v1alpha1 `channelTemplateSpec.kind`).
    pub channel_kind: Option<String>,
    /// `spec.delivery`.
    pub delivery: Option<DeliverySpec>,
}

/// `Trigger` (eventing v1; v1alpha1 `sourceAndType`, v1beta1 defaults normalised).
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// Identity.
    pub meta: Meta,
    /// The Broker (`spec.broker`, or `spec.brokerRef`; pre-v1 default `default`).
    pub broker: ObjectRef,
    /// The effective filter: `filters` when non-empty, else `filter.attributes`, else none.
    pub filter: Filter,
    /// `spec.subscriber`.
    pub subscriber: Destination,
    /// `spec.delivery`.
    pub delivery: Option<DeliverySpec>,
    /// Annotations that change routing (e.g. `kafka.eventing.knative.dev/delivery.order`).
    pub ordered: bool,
}

/// `Channel`, `InMemoryChannel` or another channel kind (messaging v1alpha1–v1).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Identity.
    pub meta: Meta,
    /// The kind as written (`InMemoryChannel`, `Channel`, `KafkaChannel`, …).
    pub kind: String,
    /// For a generic `Channel`: `spec.channelTemplate.kind`.
    pub template_kind: Option<String>,
    /// `spec.delivery` (default delivery for its Subscriptions).
    pub delivery: Option<DeliverySpec>,
    /// Annotation `kafka.eventing.knative.dev/delivery.order: ordered` on the channel: deliver
    /// in order per `partitionkey` (honoured for JetStream-backed channels).
    pub ordered: bool,
}

/// `Subscription` (messaging v1alpha1–v1 and the legacy eventing v1alpha1 one).
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Identity.
    pub meta: Meta,
    /// `spec.channel`.
    pub channel: ObjectRef,
    /// `spec.subscriber`; `None` for a reply-only (v1alpha1) Subscription: an identity hop.
    pub subscriber: Option<Destination>,
    /// `spec.reply` (legacy `reply.channel` normalised).
    pub reply: Option<Destination>,
    /// `spec.delivery`.
    pub delivery: Option<DeliverySpec>,
}

/// A Sequence step: a Destination plus its own delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step's subscriber.
    pub destination: Destination,
    /// The step's `delivery`.
    pub delivery: Option<DeliverySpec>,
}

/// `channelTemplate` of a Sequence/Parallel: the kind, and `spec.delivery` copied to its channels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelTemplate {
    /// The channel kind (default `InMemoryChannel`).
    pub kind: String,
    /// `channelTemplate.spec.delivery`.
    pub delivery: Option<DeliverySpec>,
}

/// `Sequence` (flows v1/v1beta1, messaging v1alpha1).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// Identity.
    pub meta: Meta,
    /// `spec.steps` (at least one).
    pub steps: Vec<Step>,
    /// `spec.channelTemplate`.
    pub channel_template: ChannelTemplate,
    /// `spec.reply`.
    pub reply: Option<Destination>,
}

/// One Parallel branch.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// `filter` (optional: no filter = unconditional branch).
    pub filter: Option<Destination>,
    /// `subscriber`.
    pub subscriber: Destination,
    /// `reply` (falls back to the Parallel's `reply`).
    pub reply: Option<Destination>,
    /// `delivery` (subscriber hop only).
    pub delivery: Option<DeliverySpec>,
}

/// `Parallel` (flows v1/v1beta1, messaging v1alpha1).
#[derive(Debug, Clone, PartialEq)]
pub struct Parallel {
    /// Identity.
    pub meta: Meta,
    /// `spec.branches` (at least one).
    pub branches: Vec<Branch>,
    /// `spec.channelTemplate`.
    pub channel_template: ChannelTemplate,
    /// `spec.reply`.
    pub reply: Option<Destination>,
}

/// The kinds of event source eventflow knows (parsed and checked; running them is `eventflow run`).
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// `PingSource` (sources v1alpha1–v1): cron `schedule`, `timezone`, payload.
    Ping {
        /// Cron schedule (optional seconds field).
        schedule: String,
        /// IANA time zone.
        timezone: Option<String>,
        /// `contentType`.
        content_type: Option<String>,
        /// `data` / `jsonData` text.
        data: Option<String>,
        /// `dataBase64`.
        data_base64: Option<String>,
    },
    /// `CronJobSource` (sources.eventing v1alpha1): emits CloudEvents 0.3.
    CronJob {
        /// Cron schedule.
        schedule: String,
        /// `data`.
        data: Option<String>,
    },
    /// `ContainerSource`: a process whose `K_SINK` points at our ingress.
    Container {
        /// Container image.
        image: Option<String>,
        /// Arguments.
        args: Vec<String>,
        /// Environment (name, value).
        env: Vec<(String, String)>,
    },
    /// `ApiServerSource`: needs a Kubernetes API (parse only).
    ApiServer,
    /// `SinkBinding` (parse only).
    SinkBinding,
}

/// A source: `spec.sink` and `spec.ceOverrides.extensions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// Identity.
    pub meta: Meta,
    /// The kind name as written.
    pub kind_name: String,
    /// Kind-specific fields.
    pub kind: SourceKind,
    /// `spec.sink`.
    pub sink: Option<Destination>,
    /// `spec.ceOverrides.extensions`.
    pub ce_overrides: Vec<(String, String)>,
}

/// `EventType` (informational; never changes routing).
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    /// Identity.
    pub meta: Meta,
    /// `spec.type`.
    pub ty: Option<String>,
    /// `spec.source`.
    pub source: Option<String>,
    /// `spec.schema`.
    pub schema: Option<String>,
    /// The Broker or Channel that produces it (`spec.broker` or `spec.reference`).
    pub reference: Option<ObjectRef>,
    /// `spec.description`.
    pub description: Option<String>,
}

/// All resources of a manifest set, in file order within each kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Topology {
    /// Brokers.
    pub brokers: Vec<Broker>,
    /// Triggers.
    pub triggers: Vec<Trigger>,
    /// Channels (all channel kinds).
    pub channels: Vec<Channel>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// Sequences.
    pub sequences: Vec<Sequence>,
    /// Parallels.
    pub parallels: Vec<Parallel>,
    /// Sources.
    pub sources: Vec<Source>,
    /// EventTypes.
    pub event_types: Vec<EventType>,
}
