//! Loading Knative manifests: YAML with line numbers, every apiVersion, normalised to the
//! [`crate::topology`] model, with all problems reported at once.
//!
//! ```
//! use eventflow_planner::manifest::load_str;
//! let yaml = "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\n\
//!             spec: {broker: default, filtr: {}, subscriber: {uri: 'http://x/'}}\n";
//! let loaded = load_str("t.yaml", yaml);
//! let text = loaded.diagnostics.to_string();
//! assert!(text.contains("t.yaml:4: error: Trigger/default/t: unknown field `spec.filtr`"));
//! assert!(text.contains("hint: did you mean `filter`?"));
//! ```

mod broker;
mod channel;
mod decode;
mod delivery_spec;
mod destination;
mod document;
mod eventtype;
mod filters;
mod flows;
mod resolve;
mod scalar;
mod sources;
mod suggest;
mod trigger;
mod yaml;

pub use suggest::did_you_mean;
pub use yaml::MAX_ALIAS_NODES;

use crate::diagnostic::{Diagnostic, Diagnostics, Origin, Severity};
use crate::topology::Topology;
use decode::{split_api_version, Cx, Map, RefUse};
use document::{classify, Class, Kind, Res};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaml::Node;

/// The result of loading: the topology built from every valid resource, and all diagnostics
/// (errors and warnings, sorted by file and line).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every resource that decoded (duplicates dropped), normalised.
    pub topology: Topology,
    /// Every problem found.
    pub diagnostics: Diagnostics,
}

/// Loads every `*.yaml`/`*.yml` under `paths` (files or folders, multi-document), checks the
/// manifests and resolves references.
///
/// # Errors
/// All problems found, each with file:line, resource, message and hint. Warnings alone are
/// returned alongside the topology, not as an error.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<(Topology, Diagnostics), Diagnostics> {
    let loaded = load(paths);
    if loaded.diagnostics.has_errors() {
        Err(loaded.diagnostics)
    } else {
        Ok((loaded.topology, loaded.diagnostics))
    }
}

/// Like [`load_paths`], but always returns what could be loaded together with every
/// diagnostic (for tools that want to show a partial topology, and for tests).
pub fn load<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut loader = Loader::default();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk(p, &mut files) {
                loader.io_error(p, &e);
            }
            files.sort();
            if files.is_empty() {
                loader.diags.push(Diagnostic {
                    origin: Origin {
                        file: p.to_path_buf(),
                        line: 0,
                    },
                    severity: Severity::Warning,
                    resource: None,
                    message: "no *.yaml or *.yml files in this folder".into(),
                    hint: None,
                });
            }
            for f in files {
                loader.add_file(&f);
            }
        } else {
            loader.add_file(p);
        }
    }
    loader.finish()
}

/// Loads manifests from text (`file` names them in diagnostics).
pub fn load_str(file: impl Into<PathBuf>, text: &str) -> Loaded {
    let mut loader = Loader::default();
    loader.add_text(Arc::new(file.into()), text);
    loader.finish()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Default)]
struct Loader {
    topology: Topology,
    diags: Vec<Diagnostic>,
    refs: Vec<RefUse>,
}

impl Loader {
    fn io_error(&mut self, path: &Path, e: &std::io::Error) {
        self.diags.push(Diagnostic {
            origin: Origin {
                file: path.to_path_buf(),
                line: 0,
            },
            severity: Severity::Error,
            resource: None,
            message: format!("cannot read: {e}"),
            hint: None,
        });
    }

    fn add_file(&mut self, path: &Path) {
        match std::fs::read_to_string(path) {
            Ok(text) => self.add_text(Arc::new(path.to_path_buf()), &text),
            Err(e) => self.io_error(path, &e),
        }
    }

    fn add_text(&mut self, file: Arc<PathBuf>, text: &str) {
        let error = yaml::for_each_document(text, |doc| self.add_document(&file, &doc));
        if let Some(e) = error {
            self.diags.push(Diagnostic {
                origin: Origin {
                    file: file.as_ref().clone(),
                    line: e.line,
                },
                severity: Severity::Error,
                resource: None,
                message: e.message,
                hint: e.hint,
            });
        }
    }

    fn add_document(&mut self, file: &Arc<PathBuf>, node: &Node) {
        let mut cx = Cx {
            file: file.clone(),
            resource: String::new(),
            namespace: "default".into(),
            legacy: false,
            diags: Vec::new(),
            refs: Vec::new(),
        };
        let Some(root) = Map::of(node, "", node.line) else {
            cx.error(
                node.line,
                format!(
                    "a manifest must be an object with apiVersion, kind and metadata, found {}",
                    node.describe()
                ),
                None,
            );
            self.diags.append(&mut cx.diags);
            return;
        };
        let api_version = cx.req_str(&root, "apiVersion");
        let kind = cx.req_str(&root, "kind");
        if let (Some(api_version), Some(kind)) = (api_version, kind) {
            self.decode(&mut cx, &root, &api_version, &kind, node.line);
        }
        self.diags.append(&mut cx.diags);
        self.refs.append(&mut cx.refs);
    }

    fn decode(&mut self, cx: &mut Cx, root: &Map<'_>, api_version: &str, kind: &str, line: usize) {
        let (group, version) = split_api_version(api_version);
        let class = classify(api_version, kind);
        if class == Class::List {
            cx.check_fields(root, &["apiVersion", "kind", "metadata", "items"], &[]);
            let items = root
                .get("items")
                .and_then(|n| cx.as_seq(n, "items"))
                .unwrap_or_default();
            for item in items {
                self.add_document(&cx.file, item);
            }
            return;
        }
        let origin = Origin {
            file: cx.file.as_ref().clone(),
            line,
        };
        if let Class::Ignored { bindable } = class {
            let md = root
                .get("metadata")
                .and_then(|m| Map::of(m, "metadata", line));
            let text = |k: &str| {
                md.as_ref()
                    .and_then(|m| m.get(k))
                    .and_then(|n| n.scalar())
                    .map(|s| s.text.clone())
            };
            let name = text("name").unwrap_or_else(|| "<unnamed>".into());
            cx.resource = format!(
                "{kind}/{}/{name}",
                text("namespace").unwrap_or_else(|| "default".into())
            );
            let hint = bindable.then(|| format!("bind it with --service {name}=…"));
            cx.warn(
                line,
                format!("ignored: {api_version} {kind} is not an eventing resource"),
                hint,
            );
            return;
        }
        let (meta, annotations) = document::metadata(cx, root, kind, origin);
        let kind_of = match class {
            Class::Known(k) => k,
            Class::BadVersion(versions) => {
                let moved =
                    group == "messaging.knative.dev" && (kind == "Sequence" || kind == "Parallel");
                let hint = if moved {
                    format!("{kind} moved to flows.knative.dev: write `apiVersion: flows.knative.dev/v1`")
                } else {
                    let list: Vec<String> =
                        versions.iter().map(|v| format!("{group}/{v}")).collect();
                    format!("supported: {}", list.join(", "))
                };
                cx.error(
                    root.key_line("apiVersion"),
                    format!("unknown apiVersion `{api_version}` for {kind}"),
                    Some(hint),
                );
                return;
            }
            Class::UnknownKnative(kinds) => {
                let hint = match did_you_mean(kind, kinds.split(", ")) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => format!("known kinds in {group}: {kinds}"),
                };
                cx.error(
                    root.key_line("kind"),
                    format!("unknown kind `{kind}` in `{api_version}`"),
                    Some(hint),
                );
                return;
            }
            Class::List | Class::Ignored { .. } => return,
        };
        cx.legacy = decode::is_pre_v1(version);
        cx.check_fields(
            root,
            &["apiVersion", "kind", "metadata", "spec", "status"],
            &[],
        );
        let spec = cx.map_at(root, "spec");
        let res = Res {
            root: root.clone(),
            spec,
            meta,
            annotations,
            version: version.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
        };
        let t = &mut self.topology;
        match kind_of {
            Kind::Broker => t.brokers.extend(broker::broker(cx, &res)),
            Kind::Trigger => t.triggers.extend(trigger::trigger(cx, &res)),
            Kind::EventType => t.event_types.extend(eventtype::event_type(cx, &res)),
            Kind::Channel => {
                if let Some((ch, subs)) = channel::channel(cx, &res) {
                    t.channels.push(ch);
                    t.subscriptions.extend(subs);
                }
            }
            Kind::Subscription => t
                .subscriptions
                .extend(channel::subscription(cx, &res, false)),
            Kind::LegacySubscription => t
                .subscriptions
                .extend(channel::subscription(cx, &res, true)),
            Kind::Sequence => t.sequences.extend(flows::sequence(cx, &res)),
            Kind::Parallel => t.parallels.extend(flows::parallel(cx, &res)),
            k => t.sources.extend(sources::source(cx, &res, k)),
        }
    }

    fn finish(mut self) -> Loaded {
        resolve::resolve(&mut self.topology, &self.refs, &mut self.diags);
        let mut diagnostics = Diagnostics(self.diags);
        diagnostics.sort();
        Loaded {
            topology: self.topology,
            diagnostics,
        }
    }
}
