//! Heartbeats: a ContainerSource process, as Knative's sample `knative/eventing:cmd/heartbeats`.
//!
//! Posts a CloudEvent to `$K_SINK` (or `--sink`) at once and then every `--period`, in binary
//! content mode (CloudEvents HTTP binding §3.1: `ce-*` headers, the data as the body):
//!
//! - `type` `dev.knative.eventing.samples.heartbeat` (`--eventType`), `source`
//!   `https://knative.dev/eventing-contrib/cmd/heartbeats/#<POD_NAMESPACE>/<POD_NAME>`
//!   (`--eventSource`), a fresh UUID `id`, the send `time`;
//! - extensions `the: 42`, `heart: yes`, `beats: true`, then every extension of
//!   `$K_CE_OVERRIDES` (`{"extensions":{"name":"value"}}`, as a SinkBinding injects it);
//! - data `{"id":N,"label":"…"}` (`application/json`), N counting from 1.
//!
//! `--period` takes a Go duration (`500ms`, `2s`, `1m30s`) or a number of seconds (default
//! `5s`); `--count N` stops after N events, as does `ONE_SHOT=true` after one. A refused or
//! failed send is logged on stderr and the next heartbeat goes on (as the sample does). Exit 1
//! for a missing sink or a bad flag or `$K_CE_OVERRIDES`.
//!
//! ```sh
//! cargo build --release --example heartbeats
//! target/release/eventflow run -f examples/heartbeats/topology.yaml \
//!   --image heartbeats=target/release/examples/heartbeats
//! ```

use clap::Parser;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

/// Flags, named as in Knative's sample.
#[derive(Parser, Debug)]
#[command(
    name = "heartbeats",
    about = "Post a heartbeat CloudEvent to $K_SINK every period"
)]
struct Args {
    /// Time between heartbeats: a Go duration (`500ms`, `2s`) or whole seconds (`5`).
    #[arg(long, default_value = "5s")]
    period: String,
    /// A label carried in the data.
    #[arg(long, default_value = "")]
    label: String,
    /// Stop after this many heartbeats (default: run until killed).
    #[arg(long)]
    count: Option<u64>,
    /// Where to post when `$K_SINK` is not set.
    #[arg(long, default_value = "")]
    sink: String,
    /// The CloudEvents `source` (default from POD_NAMESPACE and POD_NAME).
    #[arg(long = "eventSource", default_value = "")]
    event_source: String,
    /// The CloudEvents `type`.
    #[arg(
        long = "eventType",
        default_value = "dev.knative.eventing.samples.heartbeat"
    )]
    event_type: String,
}

/// A Go duration (`1h2m3.5s`, `300ms`, units ns us µs ms s m h) or a whole number of seconds.
fn parse_period(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let (mut total, mut rest) = (0f64, text);
    if rest.is_empty() {
        return Err("empty period".into());
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("period {text:?}: a number without a unit"))?;
        let value: f64 = rest[..end]
            .parse()
            .map_err(|_| format!("period {text:?}: bad number"))?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("period {text:?}: unknown unit {unit:?}")),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    if total <= 0.0 {
        return Err(format!("period {text:?} must be positive"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// `K_CE_OVERRIDES` extensions as (name, header value).
fn overrides(json: &str) -> Result<Vec<(String, String)>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("unparseable K_CE_OVERRIDES {json}: {e}"))?;
    let Some(extensions) = value.get("extensions").and_then(|e| e.as_object()) else {
        return Ok(Vec::new());
    };
    Ok(extensions
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.to_ascii_lowercase(), text)
        })
        .collect())
}

/// Percent-encodes a `ce-*` header value (space, `"`, `%`, controls, non-ASCII: HTTP binding
/// §3.1.3.2).
fn header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b == b' ' || b == b'"' || b == b'%' || !(0x21..0x7f).contains(&b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let sink = match env("K_SINK") {
        s if !s.is_empty() => s,
        _ => args.sink.clone(),
    };
    if sink.is_empty() {
        eprintln!("heartbeats: no sink: set K_SINK (eventflow run sets it) or --sink URL");
        return ExitCode::from(1);
    }
    let period = match parse_period(&args.period) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("heartbeats: {e}");
            return ExitCode::from(1);
        }
    };
    let extensions = match overrides(&env("K_CE_OVERRIDES")) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("heartbeats: {e}");
            return ExitCode::from(1);
        }
    };
    let source = if args.event_source.is_empty() {
        let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
        let (ns, pod) = (
            or(env("POD_NAMESPACE"), "default"),
            or(env("POD_NAME"), "heartbeats"),
        );
        format!("https://knative.dev/eventing-contrib/cmd/heartbeats/#{ns}/{pod}")
    } else {
        args.event_source.clone()
    };
    // As the sample: a label given in quotes is unquoted.
    let label = if args.label.starts_with('"') {
        serde_json::from_str::<String>(&args.label).unwrap_or_else(|_| args.label.clone())
    } else {
        args.label.clone()
    };
    let count = if env("ONE_SHOT") == "true" {
        Some(1)
    } else {
        args.count
    };
    eprintln!("heartbeats: source {source}, every {period:?}, to {sink}");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        n += 1;
        let data = serde_json::json!({ "id": n, "label": label }).to_string();
        let time = chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut req = agent
            .post(&sink)
            .header("ce-specversion", "1.0")
            .header("ce-id", uuid::Uuid::new_v4().to_string())
            .header("ce-source", header_value(&source))
            .header("ce-type", header_value(&args.event_type))
            .header("ce-time", time)
            .header("ce-the", "42")
            .header("ce-heart", "yes")
            .header("ce-beats", "true")
            .header("content-type", "application/json");
        for (name, value) in &extensions {
            req = req.header(format!("ce-{name}"), header_value(value));
        }
        match req.send(data.as_bytes()) {
            Ok(resp) if resp.status().is_success() => {
                eprintln!("heartbeats: sent #{n} ({})", resp.status().as_u16());
            }
            Ok(resp) => eprintln!("heartbeats: #{n} refused: HTTP {}", resp.status().as_u16()),
            Err(e) => eprintln!("heartbeats: #{n} failed: {e}"),
        }
        if count.is_some_and(|c| n >= c) {
            return ExitCode::SUCCESS;
        }
        // A ticker: heartbeat k is due at start + k × period, however long sending took.
        let due = start + period.mul_f64(n as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_as_go_durations_or_seconds() {
        assert_eq!(parse_period("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_period("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_period("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_period("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_period("5x").is_err());
        assert!(parse_period("0s").is_err());
    }

    #[test]
    fn overrides_read_the_sinkbinding_json() {
        let mut x = overrides(r#"{"extensions":{"team":"blue","n":3}}"#).unwrap();
        x.sort();
        assert_eq!(
            x,
            [("n".into(), "3".into()), ("team".into(), "blue".into())]
        );
        assert!(overrides("").unwrap().is_empty());
        assert!(overrides("{").is_err());
    }
}
