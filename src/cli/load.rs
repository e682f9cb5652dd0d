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
