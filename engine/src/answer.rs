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
}

pub(crate) enum Answer {
    Success(Option<Event>),
    Retry(Failure),
    Fatal(Failure),
}

pub(crate) fn classify(reply: Reply, kind: EdgeKind) -> Answer {
    match reply {
        Reply::None => Answer::Success(None),
        Reply::Event(e) => Answer::Success(Some(e)),
        Reply::Status(code, body) if (200..300).contains(&code) => {
            if body.is_empty() || kind == EdgeKind::Subscription {
                Answer::Success(None)
            } else {
                Answer::Retry(Failure {
                    code: 502,
                    body,
                    reason: format!(
                        "answered {code} with a body that is not a CloudEvent (502 for a Trigger)"
                    ),
                })
            }
        }
        Reply::Status(code, body) => {
            let retryable = matches!(code, 404 | 408 | 409 | 429 | 500..=599);
            let f = Failure {
                code,
                body,
                reason: format!("HTTP {code}"),
            };
            if retryable {
                Answer::Retry(f)
            } else {
                Answer::Fatal(f)
            }
        }
    }
}
