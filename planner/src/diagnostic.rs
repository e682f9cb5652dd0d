//! Diagnostics: every problem the planner finds, with file, line, resource and a hint.
//!
//! The planner never stops at the first problem: loading and checking collect a
//! [`Diagnostics`] list and fail with all of it at once (the vector config-compiler model).

use std::fmt;
use std::path::PathBuf;

/// How bad a [`Diagnostic`] is: errors make a manifest set invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The manifests cannot be planned.
    Error,
    /// Accepted, but probably not what the author meant.
    Warning,
}

/// Where something was written: a file and a 1-based line (0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Origin {
    /// The file the YAML came from (as given on the command line).
    pub file: PathBuf,
    /// 1-based line number; 0 when not known.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

/// One problem: `file:line: error: Kind/ns/name: message` and an optional `hint:` line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// Where.
    pub origin: Origin,
    /// Error or warning.
    pub severity: Severity,
    /// The resource as `Kind/namespace/name`, when known.
    pub resource: Option<String>,
    /// What is wrong, one line.
    pub message: String,
    /// How to fix it, one line.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {sev}: ", self.origin)?;
        if let Some(r) = &self.resource {
            write!(f, "{r}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// A list of diagnostics, in file/line order when printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    /// Adds one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// Sorts by file, line, then message, so output is stable.
    pub fn sort(&mut self) {
        self.0.sort();
        self.0.dedup();
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let e = self.error_count();
        let w = self.0.len() - e;
        write!(f, "{e} error(s), {w} warning(s)")
    }
}
