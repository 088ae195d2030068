//! context-files (checklist C1: a separate backend per user)
//!
//! What it checks: the profile's context files (`/DEEP.md`, `/AGENTS.md`)
//! are seeded once for the whole tenancy, before any session opens. Every
//! user must be able to read them (X1 if not), and a write or edit by one
//! user to a context file must never become visible to another user (C1).
//! Rejecting the write is fine.
//!
//! Why it matters: context files are the one thing shared by design, which
//! makes them the easiest path for one user's instructions to reach every
//! other user's system prompt ("prompt injection by write-through").
//!
//! Fix: serve context files read-only, or copy-on-write into the user's
//! own backend.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, Scenario};
use crate::subject::Capabilities;

pub struct ContextFiles;

impl Family for ContextFiles {
    fn name(&self) -> &'static str {
        "context-files"
    }
    doc_from_file!("context_files.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Context]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(
            caps.features.context,
            "the subject cannot seed context files (seed_context)",
        )
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::seeded(cfg, gen::context_ops())
    }
}
