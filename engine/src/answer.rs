//! How a subscriber's answer counts (knative-semantics.md §3.4–3.5): success with or without a
//! reply, a retryable failure, or a failure that goes to the dead-letter sink at once.

use crate::service::Reply;
use eventflow_planner::event::Event;
use eventflow_planner::plan::EdgeKind;

/// A failed delivery: the last status and body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) reason: String,
    /// The answer's `Retry-After`, in ms, when it had one.
    pub(crate) retry_after_ms: Option<u64>,
}

impl Failure {
    /// A failure without `Retry-After`.
    pub(crate) fn new(code: u16, body: Vec<u8>, reason: String) -> Failure {
        Failure {
            code,
            body,
            reason,
            retry_after_ms: None,
        }
    }
}

pub(crate) enum Answer {
    Success(Option<Event>),
    Retry(Failure),
    Fatal(Failure),
}

/// The HTTP status an answer stands for, as dispatch metrics label it: 202 for an
/// acknowledgement, 200 for a reply, else the status.
pub(crate) fn status_of(reply: &Reply) -> u16 {
    match reply {
        Reply::None => 202,
        Reply::Event(_) => 200,
        Reply::Status(code, _) | Reply::StatusRetryAfter(code, _, _) => *code,
    }
}

pub(crate) fn classify(reply: Reply, kind: EdgeKind) -> Answer {
    let (code, body, retry_after_ms) = match reply {
        Reply::None => return Answer::Success(None),
        Reply::Event(e) => return Answer::Success(Some(e)),
        Reply::Status(code, body) => (code, body, None),
        Reply::StatusRetryAfter(code, body, ms) => (code, body, Some(ms)),
    };
    if (200..300).contains(&code) {
        return if body.is_empty() || kind == EdgeKind::Subscription {
            Answer::Success(None)
        } else {
            Answer::Retry(Failure::new(
                502,
                body,
                format!("answered {code} with a body that is not a CloudEvent (502 for a Trigger)"),
            ))
        };
    }
    let retryable = matches!(code, 404 | 408 | 409 | 429 | 500..=599);
    let f = Failure {
        code,
        body,
        reason: format!("HTTP {code}"),
        retry_after_ms,
    };
    if retryable {
        Answer::Retry(f)
    } else {
        Answer::Fatal(f)
    }
}
