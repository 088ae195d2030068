//! concurrent-writes (checklist C1: a separate backend per user)
//!
//! What it checks: N users write the same logical paths (`/notes.md`,
//! `/.deep/memory/main/MEMORY.md`, ...) at the same instant, in one step,
//! round after round, and each then reads its path back. Unlike the other
//! families, these writes are deliberately put in one step although they
//! would conflict on a shared store. Each user must read back exactly its
//! own last write: another user's content is a leak (C1); its own write
//! lost, or mixed with other bytes (torn), is an integrity finding (X1).
//!
//! Why it matters: a store shared by accident often looks fine one user at
//! a time and only mixes users' data under concurrent requests, which is
//! what production traffic is.
//!
//! Note: on a subject that shares state, which user's write wins is decided
//! by the race, so the evidence of a finding may name other users from run
//! to run; the verdict does not change.
//!
//! Fix: a separate backend per user; atomic writes (write to a temporary
//! file and rename) so that concurrent writes never tear.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, CheckCtx, Coverage, Family, Violation};
use crate::canary;
use crate::drive::{History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario};
use crate::report::Kind;
use crate::subject::Capabilities;

pub struct ConcurrentWrites;

impl Family for ConcurrentWrites {
    fn name(&self) -> &'static str {
        "concurrent-writes"
    }
    doc_from_file!("concurrent_writes.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::lockstep_writes(cfg)
    }
    fn check(&self, h: &History, _ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        super::oracle::judge(h, out, cov);
        // Torn writes: the user's own canary is there, but not its exact content.
        for (i, e) in h.entries.iter().enumerate() {
            let (Op::ReadBytes { path }, Ok(Obs::Text(text))) = (&e.op, &e.outcome) else {
                continue;
            };
            let last = h.entries[..i].iter().rev().find(|w| {
                w.user == e.user && matches!(&w.op, Op::Write { path: p, .. } if p == path)
            });
            let Some(Op::Write { content, .. }) = last.map(|w| &w.op) else {
                continue;
            };
            let own = canary::scan(content);
            if text != content && own.iter().all(|t| text.contains(t)) {
                let detail = format!("read back {} bytes that hold its canary but are not what it wrote (a torn write)", text.len());
                out.push(Violation::at(h, i, Kind::Integrity, None, detail));
            }
        }
    }
}
