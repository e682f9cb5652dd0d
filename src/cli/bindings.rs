//! `--service NAME=BINDING`, shared by `replay`, `run`, `explain` and `registry` (DESIGN.md §5).

use anyhow::bail;
use eventflow::connectors::exec::ExecSubscriber;
use eventflow::connectors::http::HttpSubscriber;
use eventflow::engine::service::Subscriber;
use eventflow::planner::plan::Plan;
use eventflow::{Bindings, Builtin};
use std::sync::Arc;

/// Parses `NAME=ack|echo|fail:CODE|exec:COMMAND|http://URL`. NAME is a Service name (`name`,
/// `namespace/name`, `Kind/ns/name`) or a `uri` subscriber's URL. `exec:COMMAND` is a
/// co-process (`sh -c COMMAND`, started on its first delivery) speaking JSON Lines: see
/// `eventflow::connectors::exec`.
///
/// # Errors
/// A message naming the spec and the accepted forms.
pub fn parse(specs: &[String]) -> anyhow::Result<Bindings> {
    Ok(parse_described(specs)?.0)
}

/// Each bound subscriber with the text of its binding (`echo`, `http://…`), so output can say
/// which binding a subscriber got (found through `Bindings::resolve`).
pub type Described = Vec<(Arc<dyn Subscriber>, String)>;

/// [`parse`], also returning what each subscriber was bound to.
///
/// # Errors
/// A message naming the spec and the accepted forms.
pub fn parse_described(specs: &[String]) -> anyhow::Result<(Bindings, Described)> {
    let (mut bindings, mut described) = (Bindings::new(), Vec::new());
    for spec in specs {
        // A URL name (`http://host/path=echo`) ends at the last `=`; a Service name at the first
        // (its binding may be a URL with a query string).
        let split = if spec.starts_with("http://") || spec.starts_with("https://") {
            spec.rsplit_once('=')
        } else {
            spec.split_once('=')
        };
        let Some((name, binding)) = split else {
            bail!("--service `{spec}`: expected NAME=BINDING (ack, echo, fail:CODE, exec:COMMAND or http://…)");
        };
        if let Some(rest) = binding.strip_prefix("https://") {
            bail!("--service {name}=https://{rest}: this build speaks plain HTTP only (no TLS)");
        }
        if binding.starts_with("http://") {
            let sub: Arc<dyn Subscriber> = Arc::new(HttpSubscriber::new(binding));
            bindings.bind(name, sub.clone());
            described.push((sub, binding.to_string()));
            continue;
        }
        if let Some(command) = binding.strip_prefix("exec:") {
            if command.trim().is_empty() {
                bail!("--service {name}=exec:: expected exec:COMMAND (a shell command, e.g. exec:'python3 enrich.py')");
            }
            log_to_stderr();
            let sub: Arc<dyn Subscriber> = Arc::new(ExecSubscriber::new(command));
            bindings.bind(name, sub.clone());
            described.push((sub, binding.to_string()));
            continue;
        }
        let b = Builtin::parse(binding).map_err(|e| anyhow::anyhow!("--service {spec}: {e}"))?;
        let sub: Arc<dyn Subscriber> = Arc::new(b);
        bindings.bind(name, sub.clone());
        described.push((sub, b.to_string()));
    }
    Ok((bindings, described))
}

/// Co-process failures and restarts are logged with `tracing`: make sure they reach stderr in
/// commands that set up no logging of their own (`run` sets up its own first; this is then a
/// no-op). `RUST_LOG` filters; default `warn`.
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Live data plane: every `uri` subscriber (and dead-letter sink) not bound by name is called
/// over HTTP at its URL, as Knative would. Returns the URLs bound that way.
pub fn bind_uris(bindings: &mut Bindings, plan: &Plan) -> anyhow::Result<Vec<String>> {
    let mut bound = Vec::new();
    for x in &plan.externals {
        if x.service.is_some() || bindings.resolve(x).is_some() {
            continue;
        }
        if x.url.starts_with("https://") {
            bail!(
                "{}: this build speaks plain HTTP only (no TLS); bind it with --service",
                x.url
            );
        }
        bindings.bind(&x.name, Arc::new(HttpSubscriber::new(&x.url)));
        bound.push(x.url.clone());
    }
    Ok(bound)
}
