//! Subscriber behaviours a behavior case can bind by Service name (see tests/behavior/README.md).

use eventflow::engine::Subscriber;
use eventflow::planner::event::json::{parse_event, write_event};
use eventflow::{Bindings, Builtin, Event, Reply};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// One subscriber behaviour, parsed from the case's `bindings` map.
enum Behavior {
    /// `ack`, `echo`, `fail:CODE`.
    Builtin(Builtin),
    /// `{fail-times: N, code: C, then: B}`: fail N times per event (`source`+`id`), then B.
    FailTimes {
        n: u32,
        code: u16,
        then: Box<Behavior>,
        seen: Mutex<HashMap<String, u32>>,
    },
    /// `{reply: {attr: value|null}, append: SUFFIX}`: 200 with the received event, changed.
    Transform {
        set: Map<String, Value>,
        append: Option<String>,
    },
    /// `{reply-if: {attr: value}, then: B}`: B when every attribute matches, else ack.
    ReplyIf {
        when: Map<String, Value>,
        then: Box<Behavior>,
    },
    /// `{status: C, body: TEXT, repeat: N}`: a raw HTTP answer (the body N times).
    Status(u16, Vec<u8>),
}

fn event_json(event: &Event) -> Map<String, Value> {
    let mut text = String::new();
    write_event(event, &mut text);
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        other => panic!("write_event produced no JSON object: {other:?}"),
    }
}

fn transform(event: &Event, set: &Map<String, Value>, append: Option<&str>) -> Event {
    let mut json = event_json(event);
    for (k, v) in set {
        if v.is_null() {
            json.remove(k);
        } else {
            json.insert(k.clone(), v.clone());
        }
    }
    if let Some(sfx) = append {
        let data = match json.get("data") {
            Some(Value::String(s)) => format!("{s}{sfx}"),
            None | Some(Value::Null) => sfx.to_string(),
            Some(other) => panic!("append: data is not a string: {other}"),
        };
        json.insert("data".into(), Value::String(data));
    }
    let text = Value::Object(json).to_string();
    parse_event(&text)
        .unwrap_or_else(|e| panic!("a transformed reply is not a CloudEvent ({e}): {text}"))
}

impl Subscriber for Behavior {
    fn call(&self, event: &Event) -> Reply {
        match self {
            Behavior::Builtin(b) => b.call(event),
            Behavior::FailTimes {
                n,
                code,
                then,
                seen,
            } => {
                let key = format!("{}\u{0}{}", event.source, event.id);
                let count = {
                    let mut seen = seen.lock().expect("fail-times lock");
                    let c = seen.entry(key).or_insert(0);
                    *c += 1;
                    *c
                };
                if count <= *n {
                    Reply::Status(*code, Vec::new())
                } else {
                    then.call(event)
                }
            }
            Behavior::Transform { set, append } => {
                Reply::Event(transform(event, set, append.as_deref()))
            }
            Behavior::ReplyIf { when, then } => {
                let json = event_json(event);
                if when.iter().all(|(k, v)| json.get(k) == Some(v)) {
                    then.call(event)
                } else {
                    Reply::None
                }
            }
            Behavior::Status(code, body) => Reply::Status(*code, body.clone()),
        }
    }
}

fn code_of(v: Option<&Value>, default: u16) -> Result<u16, String> {
    match v {
        None => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .ok_or(format!("bad status code {n}")),
        Some(other) => Err(format!("status code must be a number, found {other}")),
    }
}

fn then_of(m: &Map<String, Value>, default: &str) -> Result<Box<Behavior>, String> {
    match m.get("then") {
        Some(v) => Ok(Box::new(parse(v)?)),
        None => Ok(Box::new(parse(&Value::String(default.into()))?)),
    }
}

fn check_keys(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown binding key `{k}` (allowed here: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn object(v: &Value, what: &str) -> Result<Map<String, Value>, String> {
    v.as_object()
        .cloned()
        .ok_or(format!("`{what}` must be a map of attributes"))
}

fn parse(v: &Value) -> Result<Behavior, String> {
    match v {
        Value::String(s) => Builtin::parse(s).map(Behavior::Builtin),
        Value::Object(m) if m.contains_key("fail-times") => {
            check_keys(m, &["fail-times", "code", "then"])?;
            let n = m["fail-times"]
                .as_u64()
                .ok_or("`fail-times` must be a number")? as u32;
            let code = code_of(m.get("code"), 500)?;
            Ok(Behavior::FailTimes {
                n,
                code,
                then: then_of(m, "ack")?,
                seen: Mutex::new(HashMap::new()),
            })
        }
        Value::Object(m) if m.contains_key("reply-if") => {
            check_keys(m, &["reply-if", "then"])?;
            Ok(Behavior::ReplyIf {
                when: object(&m["reply-if"], "reply-if")?,
                then: then_of(m, "echo")?,
            })
        }
        Value::Object(m) if m.contains_key("reply") || m.contains_key("append") => {
            check_keys(m, &["reply", "append"])?;
            let set = match m.get("reply") {
                Some(r) => object(r, "reply")?,
                None => Map::new(),
            };
            let append = match m.get("append") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => return Err(format!("`append` must be a string, found {other}")),
            };
            Ok(Behavior::Transform { set, append })
        }
        Value::Object(m) if m.contains_key("status") => {
            check_keys(m, &["status", "body", "repeat"])?;
            let times = m
                .get("repeat")
                .map_or(Some(1), Value::as_u64)
                .ok_or("`repeat` must be a number")?;
            let body = match m.get("body") {
                None => Vec::new(),
                Some(Value::String(s)) => s.repeat(times as usize).into_bytes(),
                Some(other) => return Err(format!("`body` must be a string, found {other}")),
            };
            Ok(Behavior::Status(code_of(m.get("status"), 200)?, body))
        }
        other => Err(format!("unknown binding {other}")),
    }
}

/// Fresh bindings (fresh `fail-times` counters) for one run of a case.
pub fn bindings(spec: &BTreeMap<String, Value>) -> Result<Bindings, String> {
    let mut out = Bindings::new();
    for (name, v) in spec {
        let behavior = parse(v).map_err(|e| format!("binding `{name}`: {e}"))?;
        out.bind(name, Arc::new(behavior));
    }
    Ok(out)
}
