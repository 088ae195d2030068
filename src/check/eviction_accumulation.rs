//! eviction-accumulation (checklist C1; X2 for overwrites, X3 for growth)
//!
//! What it checks: users evict large tool results under adversarial
//! tool-call ids, over several sessions (the session is reopened between
//! them): the same ids in every session and for every user (`call_0`), ids
//! that differ only in characters a sanitizer rewrites (`a.b`, `a/b`), an id
//! crafted to equal another one's sanitized form (`a_b`), and the empty id.
//! No result may overwrite another (two distinct call ids, or the same id
//! in two sessions, stored at one path: X2), none may be visible to another
//! user (C1). It counts the evicted files each user has left after its
//! sessions and reports the growth per session; with `--max-evicted-files`
//! a user left with more is a finding (X3).
//!
//! Why it matters: pydantic-deep writes oversized tool results to
//! `/large_tool_results/{call_id}` and reads them back by that id. Ids
//! repeat across sessions and models, sanitizers merge ids, and nothing
//! deletes the files: one session reads another session's (or user's)
//! result, and per-user storage grows without bound.
//!
//! Fix: name evicted results by the call id encoded injectively plus a
//! per-session id; delete them when the session ends, or cap them.

use std::collections::HashMap;

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, CheckCtx, Coverage, Family, Violation};
use crate::backends::common::{is_under, normalize};
use crate::drive::{History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario};
use crate::report::Kind;
use crate::subject::Capabilities;

pub struct EvictionAccumulation;

impl Family for EvictionAccumulation {
    fn name(&self) -> &'static str {
        "eviction-accumulation"
    }
    doc_from_file!("eviction_accumulation.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Evicted]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::eviction_ops())
    }
    fn check(&self, h: &History, ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        super::oracle::judge(h, out, cov);
        // Overwrites: one path for two (session, call id) pairs of one user.
        let mut session = vec![0usize; h.plan.users.len()];
        let mut seen: HashMap<(usize, String), (usize, String)> = HashMap::new();
        for (i, e) in h.entries.iter().enumerate() {
            match (&e.op, &e.outcome) {
                (Op::Reopen, Ok(_)) => session[e.user] += 1,
                (Op::Evict { call_id, .. }, Ok(Obs::Path(p))) => {
                    let key = (e.user, normalize(p));
                    let now = (session[e.user], call_id.clone());
                    // With the profile's naming (the subject has no evict
                    // operation of its own) the same id in two sessions
                    // shares a path by construction: only distinct ids that
                    // meet (the backend aliases them) say something.
                    // And a path reused in a later session overwrites only if
                    // storage persists across sessions.
                    let own_naming = ctx.caps.features.eviction;
                    let persists = ctx.options.expect_persistence.or(ctx.caps.persistence)
                        == Some(crate::subject::Persistence::Persistent);
                    match seen.get(&key) {
                        Some(prev)
                            if *prev != now
                                && (prev.1 != now.1
                                    || (own_naming && persists && prev.0 != now.0)) =>
                        {
                            let detail = format!(
                                "the result of call {:?} (session {}) was overwritten by call {:?} (session {}) at {}",
                                prev.1, prev.0 + 1, now.1, now.0 + 1, key.1
                            );
                            out.push(Violation::at(h, i, Kind::Collision, None, detail));
                        }
                        _ => {}
                    }
                    seen.insert(key, now);
                }
                _ => {}
            }
        }
        // Accumulation: what each user has left, from its closing glob.
        let Some(max) = ctx.options.max_evicted_files else {
            return;
        };
        let dir = normalize(ctx.profile.evicted_path("").trim_end_matches('/'));
        for (i, e) in h.entries.iter().enumerate() {
            if !h.plan.is_sweep(e.step) {
                continue;
            }
            let (Op::Glob { .. }, Ok(Obs::Entries(es))) = (&e.op, &e.outcome) else {
                continue;
            };
            let files: Vec<_> = es
                .iter()
                .filter(|f| !f.is_dir && is_under(&normalize(&f.path), &dir))
                .collect();
            if files.len() > max {
                let bytes: u64 = files.iter().filter_map(|f| f.size).sum();
                let sessions = session[e.user] + 1;
                let detail = format!(
                    "{} evicted results ({bytes} bytes) left after {sessions} sessions, {:.1} per session; the limit is {max}",
                    files.len(),
                    files.len() as f64 / sessions as f64
                );
                out.push(Violation::at(h, i, Kind::Accumulation, None, detail));
            }
        }
    }
}
