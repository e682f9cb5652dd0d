//! Shared by the commands: load `-f` paths, print diagnostics, lower to a plan.

use eventflow::planner::manifest::load_paths;
use eventflow::planner::plan::Plan;
use eventflow::planner::topology::Topology;
use std::path::PathBuf;

/// Loads and lowers; prints diagnostics to stderr. `None` means invalid (already reported).
pub fn load(paths: &[PathBuf]) -> Option<(Topology, Plan)> {
    match load_paths(paths) {
        Err(diags) => {
            eprintln!("{diags}");
            None
        }
        Ok((topology, warnings)) => {
            if !warnings.0.is_empty() {
                eprintln!("{warnings}");
            }
            match Plan::lower(&topology) {
                Ok(plan) => Some((topology, plan)),
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    eprintln!("{} error(s)", errors.len());
                    None
                }
            }
        }
    }
}

/// [`load`] for commands that need only the plan: the topology is dropped, and the memory the
/// loader used (YAML trees, manifests, the topology: about 1.5 KiB per Trigger) is handed back
/// to the OS at once instead of staying resident for the whole run.
pub fn load_plan(paths: &[PathBuf]) -> Option<Plan> {
    let (topology, plan) = load(paths)?;
    drop(topology);
    release_freed_memory();
    Some(plan)
}

extern "C" {
    /// mimalloc's `mi_collect` (the binary's global allocator, see `main.rs`).
    fn mi_collect(force: bool);
}

/// Returns the pages freed so far to the OS (mimalloc otherwise keeps them for a while, and a
/// thread that frees and then only waits never gets to purge them).
pub fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called at any time from any thread.
    unsafe { mi_collect(true) }
}
