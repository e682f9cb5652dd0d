//! Subscribers: what a `Service` ref or a `uri` destination does when the engine delivers to it.
//!
//! Replay is a simulation: nothing outside is called, every unbound subscriber acts as `ack`.
//! Bindings (DESIGN.md §5) give meaning to subscribers by name: `ack`, `echo`, `fail:CODE`, or a
//! Rust closure for library users.

use crate::observe::DispatchObserver;
use eventflow_planner::delivery::DeliveryFormat;
use eventflow_planner::event::Event;
use eventflow_planner::plan::External;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// What a subscriber answered, as the HTTP data plane would see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 202 Accepted, no body: delivered, no reply.
    None,
    /// 200 OK with a CloudEvent: delivered; the event is the reply.
    Event(Event),
    /// Any other answer: an HTTP status and a body (may be empty). 2xx with a non-empty body is a
    /// success without reply for a Subscription and a failure (502) for a Trigger; 404, 408,
    /// 409, 429 and 5xx are retried; other codes fail at once.
    Status(u16, Vec<u8>),
    /// Like [`Reply::Status`], with the answer's `Retry-After` as a wait in ms (delta-seconds,
    /// or an HTTP-date less the time the answer arrived). It lengthens the wait before the next
    /// attempt of a 429 or 503 when the delivery sets `retryAfterMax`
    /// ([`DeliverySpec::retry_wait_ms`](eventflow_planner::delivery::DeliverySpec::retry_wait_ms)).
    StatusRetryAfter(u16, Vec<u8>, u64),
}

/// A subscriber the engine can call in-process. Called on timely worker threads, so it must be
/// cheap or hand work off; it must not block on I/O.
pub trait Subscriber: Send + Sync {
    /// Handles one delivery.
    fn call(&self, event: &Event) -> Reply;

    /// Handles one delivery with its context (per-attempt timeout, `Kn-Namespace`, whether a
    /// reply is wanted). In-process subscribers ignore it (the default).
    fn call_with(&self, event: &Event, ctx: &CallContext<'_>) -> Reply {
        let _ = ctx;
        self.call(event)
    }

    /// Handles one delivery whose edge asks for a content mode (`delivery.format`, Knative
    /// §1.2: `json` = structured, `binary`/absent = binary). Only HTTP subscribers encode
    /// events; the default ignores `format` and calls [`Subscriber::call_with`].
    fn call_as(
        &self,
        event: &Event,
        ctx: &CallContext<'_>,
        format: Option<DeliveryFormat>,
    ) -> Reply {
        let _ = format;
        self.call_with(event, ctx)
    }

    /// True for subscribers that block on I/O (HTTP, co-processes): the engine calls them on a
    /// pool of threads of their own, never on a timely worker, and holds the event's timely
    /// capability until the delivery ends.
    fn blocking(&self) -> bool {
        false
    }
}

impl<F> Subscriber for F
where
    F: Fn(&Event) -> Reply + Send + Sync,
{
    fn call(&self, event: &Event) -> Reply {
        self(event)
    }
}

/// What a delivery request carries besides the event (knative-semantics.md §3.3, §3.5, §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallContext<'a> {
    /// The edge's `delivery.timeout` per attempt, in ms.
    pub timeout_ms: Option<u64>,
    /// The Trigger's or Subscription's namespace (`Kn-Namespace`).
    pub namespace: &'a str,
    /// `Prefer: reply`: true for a subscriber, false for reply targets and dead-letter sinks.
    pub prefer_reply: bool,
}

/// A built-in binding, as written on the command line (`--service NAME=BINDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `ack`: accept, no reply.
    Ack,
    /// `echo`: reply with the event as received.
    Echo,
    /// `fail:CODE`: answer with HTTP status CODE and an empty body.
    Fail(u16),
}

impl Builtin {
    /// Parses `ack`, `echo` or `fail:CODE` (CODE in 100..=599).
    ///
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(text: &str) -> Result<Builtin, String> {
        match text {
            "ack" => Ok(Builtin::Ack),
            "echo" => Ok(Builtin::Echo),
            _ => match text.strip_prefix("fail:").map(str::parse::<u16>) {
                Some(Ok(code)) if (100..=599).contains(&code) => Ok(Builtin::Fail(code)),
                _ => Err(format!(
                    "unknown binding `{text}`: use ack, echo or fail:CODE (CODE an HTTP status 100-599)"
                )),
            },
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Builtin::Ack => f.write_str("ack"),
            Builtin::Echo => f.write_str("echo"),
            Builtin::Fail(c) => write!(f, "fail:{c}"),
        }
    }
}

impl Subscriber for Builtin {
    fn call(&self, event: &Event) -> Reply {
        match self {
            Builtin::Ack => Reply::None,
            Builtin::Echo => Reply::Event(event.clone()),
            Builtin::Fail(code) => Reply::Status(*code, Vec::new()),
        }
    }
}

/// Subscribers by name. A name is matched against, in order: the external's full name
/// (`Service/default/lint` or the `uri`), `namespace/name`, then the bare Service name.
#[derive(Clone, Default)]
pub struct Bindings {
    by_name: HashMap<String, Arc<dyn Subscriber>>,
    described: Vec<String>,
    observer: Option<Arc<dyn DispatchObserver>>,
}

impl fmt::Debug for Bindings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.described).finish()
    }
}

impl Bindings {
    /// No bindings: every subscriber acks.
    pub fn new() -> Bindings {
        Bindings::default()
    }

    /// Binds `name` to a subscriber.
    pub fn bind(&mut self, name: &str, subscriber: Arc<dyn Subscriber>) {
        self.described.push(format!("{name}=<closure>"));
        self.by_name.insert(name.to_string(), subscriber);
    }

    /// Binds `name` to a built-in binding.
    pub fn bind_builtin(&mut self, name: &str, builtin: Builtin) {
        self.described.push(format!("{name}={builtin}"));
        self.by_name.insert(name.to_string(), Arc::new(builtin));
    }

    /// The bindings as given, `NAME=BINDING`, in the order they were added.
    pub fn described(&self) -> &[String] {
        &self.described
    }

    /// Reports every delivery attempt to `observer` (dispatch metrics); replaces any earlier one.
    pub fn observe(&mut self, observer: Arc<dyn DispatchObserver>) {
        self.observer = Some(observer);
    }

    /// The dispatch observer, if one was registered.
    pub fn observer(&self) -> Option<&Arc<dyn DispatchObserver>> {
        self.observer.as_ref()
    }

    /// The names bound, for checking them against a plan.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The subscriber for `external`, or `None` when unbound (acts as `ack`).
    pub fn resolve(&self, external: &External) -> Option<Arc<dyn Subscriber>> {
        if let Some(s) = self.by_name.get(&external.name) {
            return Some(s.clone());
        }
        if let Some(service) = &external.service {
            // name is `Kind/ns/name[path]`: try `ns/name` then `name`.
            let mut parts = external.name.splitn(3, '/');
            let (_, ns) = (parts.next(), parts.next());
            if let Some(ns) = ns {
                if let Some(s) = self.by_name.get(&format!("{ns}/{service}")) {
                    return Some(s.clone());
                }
            }
            return self.by_name.get(service).cloned();
        }
        None
    }
}
