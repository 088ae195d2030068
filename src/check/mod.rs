//! Scenario families: one file each. A family picks the operations a case
//! is made of and which checklist items it speaks for; the [`oracle`]
//! judges every history. The leading `//!` comment of a family's file is
//! its documentation, printed by `isocheck explain FAMILY`.

pub mod cause;
pub mod coverage;
pub mod oracle;

mod checkpoints;
mod concurrent_writes;
mod context_files;
mod cross_read;
mod eviction_accumulation;
mod execute_escape;
mod hardening_judge;
mod history;
mod hostile_user_ids;
pub mod identifier_replay;
mod memory_collision;
mod persistence;
mod plan_uniqueness;
pub mod sandbox_hardening;

use proptest::strategy::BoxedStrategy;

use crate::drive::History;
use crate::gen::{GenConfig, Scenario};
use crate::subject::{Capabilities, Persistence};
pub use coverage::{Coverage, Surface};
pub use oracle::Violation;

/// A scenario family.
pub trait Family: Send + Sync {
    /// The name used by `--scenarios` and `explain`.
    fn name(&self) -> &'static str;
    /// The family's documentation (its file's `//!` comment).
    fn doc(&self) -> &'static str;
    /// Checklist items it can fail.
    fn items(&self) -> &'static [&'static str];
    /// `Err(reason)` when the subject lacks what the family needs.
    fn applicable(&self, caps: &Capabilities, options: &CheckOptions) -> Result<(), String>;
    /// The stores a pass speaks for: each must have been judged (see
    /// [`coverage`]) for the family to pass.
    fn surfaces(&self, caps: &Capabilities) -> Vec<Surface>;
    /// The cases.
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario>;
    /// Directed searches run after the random rounds, each skipped once
    /// its id class is found: (id class, strategy). hostile-user-ids has
    /// one per class, so that every class is tried.
    fn directed(&self, _cfg: &GenConfig) -> Vec<(&'static str, BoxedStrategy<Scenario>)> {
        Vec::new()
    }
    /// The identifier kinds it gives a verdict on (see
    /// [`identifier_replay`]), given what the subject offers and the kinds
    /// it declared it hands out at open. Empty for most families.
    fn identifier_kinds(&self, _caps: &Capabilities, _declared: &[String]) -> Vec<String> {
        Vec::new()
    }
    /// Judges one history (the shared oracle unless a family adds checks).
    fn check(&self, h: &History, _ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        oracle::judge(h, out, cov);
    }
    /// Why the family could not judge what it speaks for (empty: it
    /// judged everything): by default, each of its [`surfaces`](Self::surfaces)
    /// that no case observed across users.
    fn unjudged(&self, caps: &Capabilities, cov: &Coverage) -> Vec<String> {
        self.surfaces(caps)
            .into_iter()
            .filter(|s| !cov.judged(*s))
            .map(|s| cov.why_not(s))
            .collect()
    }
    /// How many cases the family needs at most, and whether a failing one
    /// is shrunk: `Some(n)` for a family whose case is fixed and names its
    /// own evidence (sandbox-hardening): more cases would repeat it, and
    /// shrinking would only drop probes that show other causes.
    fn fixed_cases(&self) -> Option<usize> {
        None
    }
}

/// Thresholds and expectations of a run that families judge against.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// `--expect-persistence` (else the subject's declared pattern).
    pub expect_persistence: Option<Persistence>,
    /// Plans per slug at which a collision must not yet reach 50%.
    pub plan_collision_threshold: f64,
    /// Evicted results a user may leave behind.
    pub max_evicted_files: Option<usize>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            expect_persistence: None,
            plan_collision_threshold: (1u64 << 30) as f64,
            max_evicted_files: None,
        }
    }
}

/// What a family's check may consult besides the history.
pub struct CheckCtx<'a> {
    pub options: &'a CheckOptions,
    pub caps: &'a Capabilities,
    pub profile: &'a crate::profile::Profile,
}

/// Every family, in the order they run and are listed.
pub fn families() -> Vec<&'static dyn Family> {
    vec![
        &cross_read::CrossRead,
        &concurrent_writes::ConcurrentWrites,
        &memory_collision::MemoryCollision,
        &plan_uniqueness::PlanUniqueness,
        &eviction_accumulation::EvictionAccumulation,
        &context_files::ContextFiles,
        &checkpoints::Checkpoints,
        &history::HistoryFamily,
        &hostile_user_ids::HostileUserIds,
        &persistence::PersistenceFamily,
        &execute_escape::ExecuteEscape,
        &identifier_replay::IdentifierReplay,
        &sandbox_hardening::SandboxHardening,
    ]
}

/// `Ok(())` if `ok`, else the reason.
pub(crate) fn needs(ok: bool, reason: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(reason.to_string())
    }
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
