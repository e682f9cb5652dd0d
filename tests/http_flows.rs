//! Sequences and Parallels whose steps, filters and branches are HTTP services this test serves
//! on loopback (knative-semantics.md §7.4 `SequenceTest`, §7.5 `ParallelWithTwoBranches` and
//! the both-filters-pass case), and long payloads through a Broker (§7.1
//! `TestBrokerDeliverLongMessage`, `TestBrokerDeliverLongResponseMessage`).

mod http_support;

use http_support::{broker, ce, trigger, Answer, Request, Server, Stack};

/// A binary-mode reply: the request's attributes with `data` as the body (same content type).
fn append(r: &Request, suffix: &str) -> Answer {
    let mut body = r.body.clone();
    body.extend_from_slice(suffix.as_bytes());
    let attrs: Vec<(&str, &str)> = ["specversion", "id", "source", "type"]
        .iter()
        .map(|a| (*a, r.h(&format!("ce-{a}"))))
        .collect();
    Answer::binary_reply(&attrs, r.h("content-type"), &body)
}

#[test]
fn a_sequence_of_three_http_steps_appends_in_order() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/step1" => append(r, "-step1"),
        "/step2" => append(r, "-step2"),
        "/step3" => append(r, "-step3"),
        _ => Answer::ack(),
    });
    let y = format!(
        "apiVersion: flows.knative.dev/v1\nkind: Sequence\nmetadata: {{name: seq, namespace: default}}\nspec:\n  channelTemplate: {{apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}}\n  steps:\n    - uri: \"{}\"\n    - uri: \"{}\"\n    - uri: \"{}\"\n  reply: {{uri: \"{}\"}}\n",
        server.url("/step1"),
        server.url("/step2"),
        server.url("/step3"),
        server.url("/sink")
    );
    let stack = Stack::start(&y);
    let mut h = ce("ping-1", "dev.knative.sources.ping");
    h.push(("content-type", "text/plain"));
    assert_eq!(stack.post("/sequences/default/seq", &h, b"hello").0, 202);
    let sink = &server.wait_for("/sink", 1)[0];
    assert_eq!(sink.h("ce-type"), "dev.knative.sources.ping");
    assert_eq!(sink.h("content-type"), "text/plain");
    assert_eq!(sink.text(), "hello-step1-step2-step3");
    // Steps are subscribers (Prefer: reply), the Sequence's reply is a reply target (none).
    for step in ["/step1", "/step2", "/step3"] {
        let r = &server.requests(step)[0];
        assert_eq!((r.h("prefer"), r.h("kn-namespace")), ("reply", "default"));
    }
    assert_eq!(sink.h("prefer"), "");
    let report = stack.stop();
    assert_eq!(server.requests("/sink").len(), 1);
    assert_eq!(report.accepted, 1);
}

fn parallel(server: &Server) -> String {
    let branch = |i: usize| {
        format!(
            "    - filter: {{uri: \"{}\"}}\n      subscriber: {{uri: \"{}\"}}\n",
            server.url(&format!("/filter{i}")),
            server.url(&format!("/sub{i}"))
        )
    };
    format!(
        "apiVersion: flows.knative.dev/v1\nkind: Parallel\nmetadata: {{name: par, namespace: default}}\nspec:\n  channelTemplate: {{apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}}\n  branches:\n{}{}  reply: {{uri: \"{}\"}}\n",
        branch(1),
        branch(2),
        server.url("/sink")
    )
}

#[test]
fn a_parallel_with_an_echoing_and_an_acking_filter_replies_once() {
    // ParallelWithTwoBranches: filter 1 replies with the event, filter 2 only acks; the
    // subscribers reply with "appended data"; the sink gets exactly one event.
    let server = Server::start(|r, _| match r.path.as_str() {
        "/filter1" => append(r, ""),
        "/sub1" | "/sub2" => append(r, "appended data"),
        _ => Answer::ack(),
    });
    let stack = Stack::start(&parallel(&server));
    let mut h = ce("p1", "com.example.parallel");
    h.push(("content-type", "text/plain"));
    assert_eq!(stack.post("/parallels/default/par", &h, b"").0, 202);
    let sink = &server.wait_for("/sink", 1)[0];
    assert_eq!(sink.text(), "appended data");
    stack.stop();
    // Drained: both filters saw the event, only branch 1 went on.
    assert_eq!(server.requests("/filter1").len(), 1);
    assert_eq!(server.requests("/filter2").len(), 1);
    assert_eq!(server.requests("/sub1").len(), 1);
    assert_eq!(server.requests("/sub2").len(), 0);
    assert_eq!(server.requests("/sink").len(), 1);
}

#[test]
fn a_parallel_whose_filters_both_pass_has_no_join() {
    let server = Server::start(|r, _| match r.path.as_str() {
        "/filter1" | "/filter2" => append(r, ""),
        "/sub1" => append(r, "-one"),
        "/sub2" => append(r, "-two"),
        _ => Answer::ack(),
    });
    let stack = Stack::start(&parallel(&server));
    let mut h = ce("p2", "com.example.parallel");
    h.push(("content-type", "text/plain"));
    assert_eq!(stack.post("/parallels/default/par", &h, b"x").0, 202);
    let got = server.wait_for("/sink", 2);
    let mut bodies: Vec<String> = got.iter().map(Request::text).collect();
    bodies.sort();
    assert_eq!(bodies, ["x-one", "x-two"]);
    stack.stop();
    assert_eq!(server.requests("/sink").len(), 2);
}

#[test]
fn long_messages_and_long_replies_are_delivered_once() {
    let long = "x".repeat(36_864);
    let reply_body = "y".repeat(100_000);
    let rb = reply_body.clone();
    let server = Server::start(move |r, _| match r.path.as_str() {
        "/transform" => Answer::binary_reply(
            &[
                ("specversion", "1.0"),
                ("id", "long-reply"),
                ("source", "/transform"),
                ("type", "com.example.long.reply"),
            ],
            "text/plain",
            rb.as_bytes(),
        ),
        _ => Answer::ack(),
    });
    let mut y = broker("");
    y += &trigger("long", "com.example.long", &server.url("/long-sink"), "");
    y += &trigger("t1", "com.example.ask", &server.url("/transform"), "");
    y += &trigger(
        "t2",
        "com.example.long.reply",
        &server.url("/reply-sink"),
        "",
    );
    let stack = Stack::start(&y);
    let mut h = ce("l1", "com.example.long");
    h.push(("content-type", "text/plain"));
    assert_eq!(stack.post("/default/default", &h, long.as_bytes()).0, 202);
    assert_eq!(
        stack
            .post("/default/default", &ce("a1", "com.example.ask"), b"")
            .0,
        202
    );
    assert_eq!(server.wait_for("/long-sink", 1)[0].text(), long);
    assert_eq!(server.wait_for("/reply-sink", 1)[0].text(), reply_body);
    stack.stop();
    assert_eq!(server.requests("/long-sink").len(), 1);
    assert_eq!(server.requests("/transform").len(), 1);
    assert_eq!(server.requests("/reply-sink").len(), 1);
}
