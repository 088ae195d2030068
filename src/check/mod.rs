//! Scenario families: one file each. A family picks the operations a case
//! is made of and which checklist items it speaks for; the [`oracle`]
//! judges every history. The leading `//!` comment of a family's file is
//! its documentation, printed by `isocheck explain FAMILY`.

pub mod oracle;

mod checkpoints;
mod cross_read;
mod history;

use proptest::strategy::BoxedStrategy;

use crate::drive::History;
use crate::gen::{GenConfig, Scenario};
use crate::subject::Capabilities;
pub use oracle::{Coverage, Violation};

/// A scenario family.
pub trait Family: Send + Sync {
    /// The name used by `--scenarios` and `explain`.
    fn name(&self) -> &'static str;
    /// The family's documentation (its file's `//!` comment).
    fn doc(&self) -> &'static str;
    /// Checklist items it can fail.
    fn items(&self) -> &'static [&'static str];
    /// `Err(reason)` when the subject lacks what the family needs.
    fn applicable(&self, caps: &Capabilities) -> Result<(), String>;
    /// The cases.
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario>;
    /// Judges one history (the shared oracle unless a family adds checks).
    fn check(&self, h: &History, out: &mut Vec<Violation>, cov: &mut Coverage) {
        oracle::judge(h, out, cov);
    }
}

/// Every family, in the order they run and are listed.
pub fn families() -> Vec<&'static dyn Family> {
    vec![
        &cross_read::CrossRead,
        &checkpoints::Checkpoints,
        &history::HistoryFamily,
    ]
}

pub fn family(name: &str) -> Option<&'static dyn Family> {
    families().into_iter().find(|f| f.name() == name)
}

/// The leading `//!` block of a source file, without the markers.
pub fn module_doc(source: &'static str) -> String {
    source
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| {
            l.strip_prefix("//! ")
                .or_else(|| l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Implements `doc()` from the family's own file.
macro_rules! doc_from_file {
    ($file:literal) => {
        fn doc(&self) -> &'static str {
            static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            DOC.get_or_init(|| $crate::check::module_doc(include_str!($file)))
        }
    };
}
pub(crate) use doc_from_file;
