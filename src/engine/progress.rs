//! What a run tells a watcher while it goes: a family starts, a case is
//! judged, a family ends. The engine only emits these events; drawing
//! them (a progress bar on a terminal, nothing in CI) is the caller's job,
//! as nextest separates its runner from its reporter.

use std::fmt;
use std::sync::Arc;

use crate::report::ScenarioResult;

/// Receives a run's progress. Every method has an empty default, so a
/// watcher implements only what it shows. Calls come from the thread that
/// runs the engine, in order.
pub trait Progress: Send + Sync {
    /// Family `index` (from 1) of `families` starts, with `cases` cases to
    /// search (its random search; directed id-class cases come on top).
    fn family_started(&self, name: &str, index: usize, families: usize, cases: usize) {
        let _ = (name, index, families, cases);
    }

    /// The family under way has judged `cases` cases and made `findings`
    /// findings so far.
    fn case_done(&self, cases: usize, findings: usize) {
        let _ = (cases, findings);
    }

    /// The family ended (or was skipped) with this result.
    fn family_done(&self, result: &ScenarioResult) {
        let _ = result;
    }

    /// The run is over (the report is about to be built).
    fn finished(&self) {}
}

/// A [`Progress`] in a [`super::RunConfig`]: cloneable, printable.
#[derive(Clone)]
pub struct Watcher(pub Arc<dyn Progress>);

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Watcher")
    }
}

impl Default for Watcher {
    fn default() -> Self {
        Watcher(Arc::new(Silent))
    }
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {}
