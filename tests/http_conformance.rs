//! Knative's e2e scenarios (knative-semantics.md §7) that need real HTTP subscribers, served on
//! loopback: unreachable subscribers and `bad://uri`, dead-letter sink precedence and the
//! `knativeerror*` extensions, `Kn-Namespace` and `Prefer: reply` on channel deliveries, the
//! channel delivery matrix (reply attempts counted apart), delivery timeout, redelivery.
//! The rest of §7 runs in-process as behavior cases (tests/behavior/*.yaml).

mod http_support;

use base64::Engine as _;
use http_support::{broker, ce, trigger, Answer, Server, Stack};
use std::time::Duration;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn unreachable_subscribers_dead_letter_without_affecting_other_triggers() {
    // TestBrokerWithDLQ, TestMultiTriggerTopology (BadTriggerDoesNotAffectOkTrigger),
    // TestBrokerDeadLetterSinkExtensions (unreachable).
    let server = Server::start(|_, _| Answer::ack());
    let mut y = broker(&format!(
        "    deadLetterSink: {{uri: \"{}\"}}\n",
        server.url("/broker-dls")
    ));
    y += &trigger("bad", "", "bad://uri", "");
    y += &trigger("closed", "", "http://127.0.0.1:1/gone", "");
    y += &trigger("ok", "", &server.url("/ok"), "");
    let stack = Stack::start(&y);
    for id in ["1", "2", "3"] {
        assert_eq!(stack.post("/default/default", &ce(id, "a"), b"").0, 202);
    }
    assert_eq!(server.wait_for("/ok", 3).len(), 3);
    let dls = server.wait_for("/broker-dls", 6);
    for dest in ["bad://uri", "http://127.0.0.1:1/gone"] {
        let got: Vec<_> = dls
            .iter()
            .filter(|r| r.h("ce-knativeerrordest") == dest)
            .collect();
        assert_eq!(got.len(), 3, "{dest}");
        for r in got {
            assert_eq!(r.h("ce-knativeerrorcode"), "500");
            let data = base64::engine::general_purpose::STANDARD
                .decode(r.h("ce-knativeerrordata"))
                .unwrap();
            assert!(data.starts_with(b"dispatch error: "), "{r:?}");
        }
    }
    stack.stop();
}

#[test]
fn a_trigger_dls_takes_everything_and_the_broker_dls_nothing() {
    // TestTriggerWithDLS: SourceToTriggerSinkWithDLS / …DontUseBrokers.
    let server = Server::start(|_, _| Answer::ack());
    let mut y = broker(&format!(
        "    deadLetterSink: {{uri: \"{}\"}}\n",
        server.url("/broker-dls")
    ));
    let delivery = format!(
        "  delivery: {{deadLetterSink: {{uri: \"{}\"}}}}\n",
        server.url("/trigger-dls")
    );
    y += &trigger("t", "", "bad://uri", &delivery);
    let stack = Stack::start(&y);
    for id in ["1", "2", "3"] {
        assert_eq!(stack.post("/default/default", &ce(id, "a"), b"").0, 202);
    }
    assert_eq!(server.wait_for("/trigger-dls", 3).len(), 3);
    stack.stop();
    assert_eq!(server.requests("/broker-dls").len(), 0);
}

#[test]
fn a_422_dead_letters_once_with_or_without_a_body() {
    // TestBrokerDeadLetterSinkExtensions / TestChannelDeadLetterSinkExtensions (422 cases).
    let html = "<html><body>bad</body></html>";
    let server = Server::start(move |r, _| match r.path.as_str() {
        "/empty-422" => Answer::status(422),
        "/html-422" => Answer::text(422, html).with("content-type", "text/html"),
        _ => Answer::ack(),
    });
    let mut y = broker(&format!(
        "    retry: 10\n    deadLetterSink: {{uri: \"{}\"}}\n",
        server.url("/dls")
    ));
    y += &trigger("empty", "", &server.url("/empty-422"), "");
    y += &trigger("html", "", &server.url("/html-422"), "");
    let stack = Stack::start(&y);
    assert_eq!(stack.post("/default/default", &ce("1", "a"), b"").0, 202);
    server.wait_for("/dls", 2);
    stack.stop();
    // Not retried (422), exactly one dead letter each.
    assert_eq!(server.requests("/empty-422").len(), 1);
    assert_eq!(server.requests("/html-422").len(), 1);
    let dls = server.requests("/dls");
    assert_eq!(dls.len(), 2);
    let of = |p: &str| {
        dls.iter()
            .find(|r| r.h("ce-knativeerrordest") == server.url(p))
            .unwrap()
    };
    let empty = of("/empty-422");
    assert_eq!(empty.h("ce-knativeerrorcode"), "422");
    assert_eq!(empty.h("ce-knativeerrordata"), "");
    let with_body = of("/html-422");
    assert_eq!(with_body.h("ce-knativeerrorcode"), "422");
    assert_eq!(with_body.h("ce-knativeerrordata"), b64(html));
}

fn channel(delivery: &str) -> String {
    let mut y = "apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: {name: ch, namespace: team}\n".to_string();
    if !delivery.is_empty() {
        y += &format!("spec:\n  delivery: {delivery}\n");
    }
    y
}

fn subscription(name: &str, subscriber: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  channel: {{apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ch}}\n  subscriber: {{uri: \"{subscriber}\"}}\n{extra}"
    )
}

#[test]
fn channel_deliveries_carry_prefer_reply_and_kn_namespace_and_use_the_channel_dls() {
    // TestChannelPreferHeaderCheck, TestChannelDeadLetterSink, TestBinaryEventForChannel,
    // TestStructuredEventForChannel.
    let server = Server::start(|r, _| match r.path.as_str() {
        "/fail" => Answer::status(500),
        _ => Answer::ack(),
    });
    let mut y = channel(&format!(
        "{{deadLetterSink: {{uri: \"{}\"}}}}",
        server.url("/channel-dls")
    ));
    y += &subscription("ok", &server.url("/ok"), "");
    y += &subscription("failing", &server.url("/fail"), "");
    let stack = Stack::start(&y);
    assert_eq!(stack.post("/channels/team/ch", &ce("b1", "a"), b"").0, 202);
    let structured =
        serde_json::json!({"specversion": "1.0", "id": "s1", "source": "/s", "type": "a"});
    let h = [("content-type", "application/cloudevents+json")];
    let body = structured.to_string();
    assert_eq!(stack.post("/channels/team/ch", &h, body.as_bytes()).0, 202);
    for r in server.wait_for("/ok", 2) {
        assert_eq!((r.h("prefer"), r.h("kn-namespace")), ("reply", "team"));
    }
    for r in server.wait_for("/channel-dls", 2) {
        assert_eq!(r.h("kn-namespace"), "team");
        assert_eq!(r.h("prefer"), "");
        assert_eq!(r.h("ce-knativeerrordest"), server.url("/fail"));
    }
    stack.stop();
}

#[test]
fn channel_delivery_matrix_counts_reply_attempts_apart() {
    // Channel DataPlaneConformance "Delivery Spec": retry 1 everywhere; the subscriber fails
    // once; its reply target fails 0, 1 or 2 times.
    let server = Server::start(|r, before| {
        let reply = |to: &str| {
            Answer::binary_reply(
                &[
                    ("specversion", "1.0"),
                    ("id", to),
                    ("source", "/s"),
                    ("type", "reply"),
                ],
                "application/json",
                b"{}",
            )
        };
        match (r.path.as_str(), before) {
            (p, 0) if p.starts_with("/sub-") => Answer::status(500),
            (p, _) if p.starts_with("/sub-") => reply(&p[5..]),
            ("/reply-1", 0) | ("/reply-2", 0 | 1) => Answer::status(503),
            _ => Answer::ack(),
        }
    });
    let mut y = channel("{retry: 1}");
    for n in ["0", "1", "2"] {
        let extra = format!(
            "  reply: {{uri: \"{}\"}}\n  delivery: {{retry: 1, deadLetterSink: {{uri: \"{}\"}}}}\n",
            server.url(&format!("/reply-{n}")),
            server.url(&format!("/dls-{n}"))
        );
        y += &subscription(&format!("s{n}"), &server.url(&format!("/sub-{n}")), &extra);
    }
    let stack = Stack::start(&y);
    assert_eq!(
        stack.post("/channels/team/ch", &ce("orig", "a"), b"").0,
        202
    );
    server.wait_for("/dls-2", 1);
    stack.stop();
    for n in ["0", "1", "2"] {
        assert_eq!(server.requests(&format!("/sub-{n}")).len(), 2, "sub-{n}");
    }
    assert_eq!(server.requests("/reply-0").len(), 1);
    assert_eq!(server.requests("/reply-1").len(), 2);
    assert_eq!(server.requests("/reply-2").len(), 2);
    assert!(server.requests("/dls-0").is_empty() && server.requests("/dls-1").is_empty());
    // The reply leg failed: the original event goes to the subscription's DLS.
    let dls = &server.requests("/dls-2")[0];
    assert_eq!(dls.h("ce-id"), "orig");
    assert_eq!(dls.h("ce-knativeerrordest"), server.url("/reply-2"));
    assert_eq!(dls.h("ce-knativeerrorcode"), "503");
}

#[test]
fn a_subscriber_slower_than_the_timeout_is_called_once_and_dead_lettered_once() {
    // TestDeliveryTimeout (scaled down: 0.2 s timeout, 1 s subscriber).
    let server = Server::start(|r, _| {
        if r.path == "/slow" {
            std::thread::sleep(Duration::from_secs(1));
        }
        Answer::ack()
    });
    let extra = format!(
        "  delivery: {{timeout: PT0.2S, deadLetterSink: {{uri: \"{}\"}}}}\n",
        server.url("/dls")
    );
    let y = channel("") + &subscription("s", &server.url("/slow"), &extra);
    let stack = Stack::start(&y);
    assert_eq!(stack.post("/channels/team/ch", &ce("1", "a"), b"").0, 202);
    let dls = &server.wait_for("/dls", 1)[0];
    assert_eq!(dls.h("ce-knativeerrorcode"), "500");
    stack.stop();
    assert_eq!(server.requests("/slow").len(), 1);
    assert_eq!(server.requests("/dls").len(), 1);
}

#[test]
fn a_subscriber_failing_five_times_is_redelivered_with_linear_backoff() {
    // TestBrokerRedelivery (retry 5, linear; the delay scaled down from PT1S).
    let server = Server::start(|_, before| {
        if before < 5 {
            Answer::status(503)
        } else {
            Answer::ack()
        }
    });
    let y = broker("    retry: 5\n    backoffPolicy: linear\n    backoffDelay: PT0.01S\n")
        + &trigger("t", "", &server.url("/flaky"), "");
    let stack = Stack::start(&y);
    assert_eq!(stack.post("/default/default", &ce("1", "a"), b"").0, 202);
    let got = server.wait_for("/flaky", 6);
    assert!(got.iter().all(|r| r.h("kn-namespace") == "default"));
    // Linear: the k-th retry waits k × 10 ms (lower bound only).
    for k in 1..6 {
        let gap = got[k].at.duration_since(got[k - 1].at);
        assert!(
            gap >= Duration::from_millis(10 * k as u64),
            "retry {k}: {gap:?}"
        );
    }
    stack.stop();
    assert_eq!(server.requests("/flaky").len(), 6);
}
