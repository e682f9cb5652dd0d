//! Whole-set checks once every file is read: duplicate resource names and references to
//! Brokers, Channels, Sequences and Parallels that are not defined. Service refs are names to
//! bind later and are not checked.

use super::decode::{did_you_mean, RefUse};
use crate::diagnostic::{Diagnostic, Origin, Severity};
use crate::topology::{Broker, Meta, RefKind, Topology};
use std::collections::{HashMap, HashSet};

type Key = (&'static str, String, String);

/// Removes duplicates (keeping the first) and reports them; then checks every reference.
pub fn resolve(t: &mut Topology, refs: &[RefUse], diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<Key, Origin> = HashMap::new();
    let mut dedup =
        |cat: &'static str, kind: &str, m: &Meta, diags: &mut Vec<Diagnostic>| -> bool {
            let key = (cat, m.namespace.clone(), m.name.clone());
            if let Some(first) = seen.get(&key) {
                diags.push(Diagnostic {
                    origin: m.origin.clone(),
                    severity: Severity::Error,
                    resource: Some(format!("{kind}/{}/{}", m.namespace, m.name)),
                    message: format!("duplicate {cat} `{}/{}`", m.namespace, m.name),
                    hint: Some(if first.file == m.origin.file {
                        format!("first defined on line {}; rename one of them", first.line)
                    } else {
                        format!("first defined at {first}; rename one of them")
                    }),
                });
                return false;
            }
            seen.insert(key, m.origin.clone());
            true
        };
    t.brokers
        .retain(|b| dedup("Broker", "Broker", &b.meta, diags));
    t.triggers
        .retain(|x| dedup("Trigger", "Trigger", &x.meta, diags));
    t.channels
        .retain(|c| dedup("channel", &c.kind, &c.meta, diags));
    t.subscriptions
        .retain(|s| dedup("Subscription", "Subscription", &s.meta, diags));
    t.sequences
        .retain(|s| dedup("Sequence", "Sequence", &s.meta, diags));
    t.parallels
        .retain(|p| dedup("Parallel", "Parallel", &p.meta, diags));
    t.event_types
        .retain(|e| dedup("EventType", "EventType", &e.meta, diags));
    let mut sources = std::mem::take(&mut t.sources);
    sources.retain(|s| {
        let cat: &'static str = match s.kind_name.as_str() {
            "PingSource" => "PingSource",
            "CronJobSource" => "CronJobSource",
            "ContainerSource" => "ContainerSource",
            "ApiServerSource" => "ApiServerSource",
            _ => "SinkBinding",
        };
        dedup(cat, &s.kind_name, &s.meta, diags)
    });
    t.sources = sources;

    implicit_default_brokers(t, refs, diags);

    let names = |metas: &mut dyn Iterator<Item = &Meta>| -> HashMap<(String, String), ()> {
        metas
            .map(|m| ((m.namespace.clone(), m.name.clone()), ()))
            .collect()
    };
    let brokers = names(&mut t.brokers.iter().map(|b| &b.meta));
    let sequences = names(&mut t.sequences.iter().map(|s| &s.meta));
    let parallels = names(&mut t.parallels.iter().map(|p| &p.meta));
    let channels: HashMap<(String, String), (&str, Option<&str>)> = t
        .channels
        .iter()
        .map(|c| {
            (
                (c.meta.namespace.clone(), c.meta.name.clone()),
                (c.kind.as_str(), c.template_kind.as_deref()),
            )
        })
        .collect();

    // Channels Knative generates for Sequences and Parallels (`<seq>-kn-sequence-<i>`,
    // `<par>-kn-parallel[-<i>]`) exist too: EventTypes may refer to them.
    let mut generated: HashSet<(String, String)> = HashSet::new();
    for q in &t.sequences {
        for i in 0..q.steps.len() {
            generated.insert((
                q.meta.namespace.clone(),
                format!("{}-kn-sequence-{i}", q.meta.name),
            ));
        }
    }
    for p in &t.parallels {
        generated.insert((
            p.meta.namespace.clone(),
            format!("{}-kn-parallel", p.meta.name),
        ));
        for i in 0..p.branches.len() {
            generated.insert((
                p.meta.namespace.clone(),
                format!("{}-kn-parallel-{i}", p.meta.name),
            ));
        }
    }

    for r in refs {
        let key = (r.target.namespace.clone(), r.target.name.clone());
        if matches!(r.target.kind, RefKind::Channel(_)) && generated.contains(&key) {
            continue;
        }
        let (found, pool): (bool, Vec<&(String, String)>) = match &r.target.kind {
            RefKind::Broker => (brokers.contains_key(&key), brokers.keys().collect()),
            RefKind::Sequence => (sequences.contains_key(&key), sequences.keys().collect()),
            RefKind::Parallel => (parallels.contains_key(&key), parallels.keys().collect()),
            RefKind::Channel(kind) => match channels.get(&key) {
                Some((actual, template)) => {
                    if actual != kind && *template != Some(kind.as_str()) {
                        diags.push(Diagnostic {
                            origin: r.origin.clone(),
                            severity: Severity::Error,
                            resource: Some(r.resource.clone()),
                            message: format!(
                                "`{}` refers to {} but `{}` is of kind {actual}",
                                r.field, r.target, r.target.name
                            ),
                            hint: Some(format!("write `kind: {actual}`")),
                        });
                    }
                    continue;
                }
                None => (false, channels.keys().collect()),
            },
            RefKind::External(_) => continue,
        };
        if found {
            continue;
        }
        let kind = r.target.kind.kind_name();
        let same_ns = pool
            .iter()
            .filter(|(ns, _)| *ns == r.target.namespace)
            .map(|(_, n)| n.as_str());
        let mut hint = match did_you_mean(&r.target.name, same_ns) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "define {kind} `{}` in namespace `{}`, or load the file that defines it",
                r.target.name, r.target.namespace
            ),
        };
        if let Some(note) = &r.note {
            hint = format!("{note}; {hint}");
        }
        // Kubernetes accepts such a resource and leaves it not Ready; so do we: a warning, and
        // the resource takes no part in routing until its target is loaded too.
        let message = if r.informational {
            format!("reference `{}`: {} is not defined", r.field, r.target)
        } else {
            format!(
                "unresolved reference `{}`: {} is not defined; {} is not Ready and takes no part in routing",
                r.field, r.target, r.resource
            )
        };
        diags.push(Diagnostic {
            origin: r.origin.clone(),
            severity: Severity::Warning,
            resource: Some(r.resource.clone()),
            message,
            hint: Some(hint),
        });
    }
}

/// A Broker named `default` that is referred to but not defined exists implicitly, as Knative's
/// broker injection (namespace label `eventing.knative.dev/injection: enabled`) creates it and
/// most Knative samples assume it. Reported as a warning at the first reference.
fn implicit_default_brokers(t: &mut Topology, refs: &[RefUse], diags: &mut Vec<Diagnostic>) {
    for r in refs {
        if r.informational || r.target.kind != RefKind::Broker || r.target.name != "default" {
            continue;
        }
        let ns = &r.target.namespace;
        if t.brokers
            .iter()
            .any(|b| &b.meta.namespace == ns && b.meta.name == "default")
        {
            continue;
        }
        t.brokers.push(Broker {
            meta: Meta {
                namespace: ns.clone(),
                name: "default".into(),
                origin: r.origin.clone(),
            },
            class: "MTChannelBasedBroker".into(),
            channel_kind: None,
            delivery: None,
        });
        diags.push(Diagnostic {
            origin: r.origin.clone(),
            severity: Severity::Warning,
            resource: Some(r.resource.clone()),
            message: format!("Broker `{ns}/default` is not defined: using an implicit one, as Knative's broker injection creates it"),
            hint: Some("define the Broker to give it a delivery spec (retries, dead-letter sink)".into()),
        });
    }
}
