//! cross-read (checklist C1: a separate backend per user)
//!
//! What it checks: users write canary files at paths of their own and at
//! the same logical paths (`/notes.md`, `/.deep/memory/main/MEMORY.md`,
//! `/plans/plan.md`, `/large_tool_results/call_0`), read, edit, list, glob,
//! grep and probe (`exists`) their own and each other's paths, concurrently;
//! then every user sweeps everything it can see. Every observation must
//! return only that user's own data: another user's canary in a read or
//! grep is a content leak, another user's path in ls/glob/grep/exists is an
//! existence leak, and a user's own file replaced by another's write is
//! interference. User ids include hostile ones (`../bob`, `.`, `bob/alice`,
//! `Bob`, NFC/NFD, NUL); a subject may refuse an id, which is reported and
//! is not a leak.
//!
//! Why it matters: memory, plans, evicted tool results and every file the
//! agent writes live in the backend. Two users on one backend instance, or
//! on directories that alias, share all of it.
//!
//! Fix: create the backend per user (or per session), and map user ids to
//! storage with an injective, validated function (never paste the raw id
//! into a path).

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, Scenario};
use crate::subject::Capabilities;

pub struct CrossRead;

impl Family for CrossRead {
    fn name(&self) -> &'static str {
        "cross-read"
    }
    doc_from_file!("cross_read.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Files]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::file_ops())
    }
}
