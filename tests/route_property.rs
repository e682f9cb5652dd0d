//! Property tests for routing.
//!
//! 1. The indexed router (`RouteIndex::build` + `matches`) delivers exactly the Trigger set a
//!    naive one-by-one `Filter::evaluate` loop delivers, for random Triggers (legacy
//!    attributes, exact / prefix / suffix, any / all / not, simple CESQL) and random events.
//! 2. For random Broker + Trigger topologies whose subscribers ack or echo, the engine's
//!    per-via delivery counts equal a single-threaded worklist interpreter written here.

use eventflow::engine::route::RouteIndex;
use eventflow::planner::cesql::Expr;
use eventflow::planner::diagnostic::Origin;
use eventflow::planner::event::{Event, ExtValue};
use eventflow::planner::filter::Filter;
use eventflow::planner::plan::{Edge, EdgeKind, Plan, Policy, Target};
use eventflow::{Engine, Reply};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

const TYPES: [&str; 4] = ["com.a.push", "com.a.pull", "org.b.push", "org.b.issue"];
const SOURCES: [&str; 3] = ["/repo/x", "/repo/y", "urn:z"];
const NAMES: [&str; 6] = ["type", "source", "subject", "id", "region", "count"];
const VALUES: [&str; 12] = [
    "com.a.push",
    "com.a.pull",
    "org.b.push",
    "org.b.issue",
    "/repo/x",
    "urn:z",
    "main",
    "eu",
    "5",
    "true",
    "com.",
    "push",
];

fn event() -> impl Strategy<Value = Event> {
    (
        0..TYPES.len(),
        0..SOURCES.len(),
        proptest::option::of(prop::sample::select(vec!["main", "dev", ""])),
        proptest::option::of(prop::sample::select(vec!["eu", "us"])),
        proptest::option::of(0i32..8),
        any::<u16>(),
    )
        .prop_map(|(t, s, subject, region, count, id)| {
            let mut e = Event::new(&format!("id-{id}"), SOURCES[s], TYPES[t]);
            e.subject = subject.map(Into::into);
            if let Some(r) = region {
                e.set_extension("region", ExtValue::String(r.into()));
            }
            if let Some(c) = count {
                e.set_extension("count", ExtValue::Integer(c));
            }
            e
        })
}

/// (name, value) pairs as the loader produces them: non-empty names and values.
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(&NAMES[..]),
            prop::sample::select(&VALUES[..]),
        )
            .prop_map(|(k, v)| (k.to_string(), v.to_string())),
        1..3,
    )
}

fn cesql() -> impl Strategy<Value = Filter> {
    let texts = vec![
        "type = 'com.a.push'",
        "type LIKE 'com.%'",
        "source = '/repo/x' AND type LIKE '%push'",
        "EXISTS region",
        "region = 'eu' OR subject = 'main'",
        "count > 3",
        "NOT (type = 'org.b.issue')",
        "",
    ];
    prop::sample::select(texts).prop_filter_map("cesql parses", |t| {
        if t.is_empty() {
            return Some(Filter::None);
        }
        Expr::parse(t)
            .ok()
            .map(|e| Filter::Cesql(Arc::new(e), t.to_string()))
    })
}

fn leaf() -> impl Strategy<Value = Filter> {
    let legacy = prop::collection::vec(
        (
            prop::sample::select(&NAMES[..]),
            prop::sample::select(vec![
                "",
                "com.a.push",
                "org.b.push",
                "/repo/y",
                "main",
                "eu",
                "3",
            ]),
        )
            .prop_map(|(k, v)| (k.to_string(), v.to_string())),
        0..3,
    );
    prop_oneof![
        Just(Filter::None),
        legacy.prop_map(Filter::Attributes),
        pairs().prop_map(Filter::Exact),
        pairs().prop_map(Filter::Prefix),
        pairs().prop_map(Filter::Suffix),
        cesql(),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::All),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Any),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// A plan with one Broker (node 0) whose Triggers carry `filters`; Trigger `i` delivers to
/// external `i % externals` and, when `reply_home[i]`, replies back into the Broker.
fn plan(filters: Vec<Filter>, externals: usize, reply_home: &[bool]) -> Plan {
    let yaml = "apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: b, namespace: default}\n";
    let mut plan = eventflow::bench::workload::plan_from_yaml(yaml).unwrap_or_default();
    let externals = externals.max(1);
    let proto = eventflow::bench::workload::sweep_plan(externals.min(1)).unwrap_or_default();
    for i in 0..externals {
        let mut x = proto.externals[0].clone();
        x.id = i as u32;
        x.name = format!("Service/default/s{i}");
        x.service = Some(format!("s{i}"));
        plan.externals.push(x);
    }
    for (i, filter) in filters.into_iter().enumerate() {
        let id = i as u32;
        plan.edges.push(Edge {
            id,
            from: 0,
            kind: EdgeKind::Trigger,
            via: format!("Trigger/default/t{i}"),
            filter,
            subscriber: Some(Target::External((i % externals) as u32)),
            reply: reply_home
                .get(i)
                .copied()
                .unwrap_or(false)
                .then_some(eventflow::planner::plan::ReplyTo::Node(0)),
            policy: Policy::default(),
            origin: Origin {
                file: "prop.yaml".into(),
                line: 0,
            },
        });
        plan.nodes[0].edges.push(id);
    }
    plan
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn indexed_router_equals_naive_loop(
        filters in prop::collection::vec(filter(), 1..24),
        events in prop::collection::vec(event(), 1..24),
    ) {
        let plan = plan(filters, 1, &[]);
        let index = RouteIndex::build(&plan, &plan.nodes[0].edges);
        let mut got = Vec::new();
        for e in &events {
            got.clear();
            index.matches(e, &mut got);
            let mut sorted = got.clone();
            sorted.sort_unstable();
            let want: Vec<u32> = plan.edges.iter()
                .filter(|edge| edge.filter.evaluate(e).delivers())
                .map(|edge| edge.id)
                .collect();
            prop_assert_eq!(&sorted, &want, "event {:?}", e);
            prop_assert_eq!(&got, &want, "matches must be in manifest order");
        }
    }
}

/// The echo binding of the reference test: replies once with the type prefixed `reply.`, so
/// every chain ends after one reply (TTL and hop limits never decide the outcome).
fn echo_once(event: &Event) -> Option<Event> {
    if event.ty.starts_with("reply.") {
        return None;
    }
    let mut reply = event.clone();
    reply.ty = format!("reply.{}", event.ty).into();
    Some(reply)
}

/// The reference interpreter: a worklist of events entering the Broker; every Trigger whose
/// filter delivers counts one delivery for `subscriber <- via`; an echoing subscriber's reply
/// re-enters the Broker when the Trigger routes replies there.
fn interpret(plan: &Plan, echo: &[bool], events: &[Event]) -> BTreeMap<String, u64> {
    let mut per_via = BTreeMap::new();
    let mut work: Vec<Event> = events.to_vec();
    while let Some(event) = work.pop() {
        for edge in &plan.edges {
            if !edge.filter.evaluate(&event).delivers() {
                continue;
            }
            let Some(Target::External(x)) = edge.subscriber else {
                continue;
            };
            let key = format!("{} <- {}", plan.externals[x as usize].name, edge.via);
            *per_via.entry(key).or_insert(0) += 1;
            if echo[x as usize] && edge.reply.is_some() {
                work.extend(echo_once(&event));
            }
        }
    }
    per_via
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn engine_counts_equal_reference_interpreter(
        filters in prop::collection::vec(filter(), 1..8),
        echo in prop::collection::vec(any::<bool>(), 3),
        reply_home in prop::collection::vec(prop::bool::weighted(0.4), 8),
        events in prop::collection::vec(event(), 1..12),
        workers in 1usize..3,
    ) {
        let plan = plan(filters, 3, &reply_home);
        let want = interpret(&plan, &echo, &events);
        let mut engine = Engine::from_plan(plan.clone()).workers(workers);
        for (i, &e) in echo.iter().enumerate() {
            engine = engine.bind(&format!("s{i}"), move |ev: &Event| {
                match echo_once(ev) {
                    Some(reply) if e => Reply::Event(reply),
                    _ => Reply::None,
                }
            });
        }
        let running = engine.start().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for e in &events {
            running
                .send("broker/default/b", e.clone())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let report = running.shutdown().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(report.per_via, want);
    }
}
