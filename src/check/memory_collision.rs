//! memory-collision (checklist C1: a separate backend per user)
//!
//! What it checks: users save and read agent memory for agent names that
//! every user has (`main`) and for names with separators, dots and
//! look-alikes (`a/b`, `a_b`, `..`, `A`, `a`, `a.b`), through the subject's
//! own memory operation or, when it has none, at the profile's path
//! (`/.deep/memory/{agent}/MEMORY.md`). A memory read must return only the
//! user's own memory (another user's is a leak, C1), and two distinct agent
//! names of one user must never land in the same file (X2): `a/b` and
//! `a_b` after sanitizing, `A` and `a` on a case-insensitive filesystem,
//! `..` escaping the memory directory.
//!
//! Why it matters: pydantic-deep's memory is the one feature meant to
//! persist across sessions; a memory directory shared across users, or a
//! naming that merges agents, silently feeds one user's or one agent's
//! notes into another's system prompt.
//!
//! Fix: memory under the user's own backend; agent names validated or
//! encoded injectively before they become path segments.

use std::collections::HashMap;

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, CheckCtx, Coverage, Family, Violation};
use crate::backends::common::normalize;
use crate::drive::{History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario};
use crate::report::Kind;
use crate::subject::Capabilities;

pub struct MemoryCollision;

/// Same-user name collisions among feature writes: two distinct `name`s of
/// one user whose operations returned the same path.
pub(crate) fn same_user_collisions(
    h: &History,
    name_of: impl Fn(&Op) -> Option<(String, usize)>,
    what: &str,
    out: &mut Vec<Violation>,
) {
    let mut seen: HashMap<(usize, String), (String, usize)> = HashMap::new();
    for (i, e) in h.entries.iter().enumerate() {
        let (Some((name, scope)), Ok(Obs::Path(p))) = (name_of(&e.op), &e.outcome) else {
            continue;
        };
        let key = (e.user, normalize(p));
        match seen.get(&key) {
            Some((other, other_scope)) if *other != name || *other_scope != scope => {
                let detail = format!(
                    "{what} {other:?} and {name:?} were both stored at {}",
                    key.1
                );
                out.push(Violation::at(h, i, Kind::Collision, None, detail));
            }
            _ => {
                seen.insert(key, (name, scope));
            }
        }
    }
}

impl Family for MemoryCollision {
    fn name(&self) -> &'static str {
        "memory-collision"
    }
    doc_from_file!("memory_collision.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Memory]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::memory_ops())
    }
    fn check(&self, h: &History, _ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        super::oracle::judge(h, out, cov);
        let agent = |op: &Op| match op {
            Op::SaveMemory { agent, .. } => Some((agent.clone(), 0)),
            _ => None,
        };
        same_user_collisions(h, agent, "the memories of agents", out);
    }
}
