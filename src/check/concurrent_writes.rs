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
use std::collections::BTreeMap;

use crate::backends::common::normalize;
use crate::canary;
use crate::drive::{History, Obs};
use crate::gen::{self, display_id, Channel, GenConfig, Op, Scenario};
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
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Files]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::lockstep_writes(cfg)
    }
    fn check(&self, h: &History, _ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        let mut raw = Vec::new();
        super::oracle::judge(h, &mut raw, cov);
        // Which user's write wins a same-step race is up to the scheduler,
        // so are the observations that show it. They are folded into one
        // finding per contended path that names the writers as a set: the
        // report then depends on the seed only.
        let contended = contended_paths(h);
        let mut folded: BTreeMap<String, Vec<Violation>> = BTreeMap::new();
        for v in raw {
            let path = v
                .cause
                .and_then(|c| h.entries[c].op.path())
                .or_else(|| h.entries[v.entry].op.path());
            match path.filter(|p| contended.contains_key(p)) {
                Some(p) if v.channel == Channel::Files => folded.entry(p).or_default().push(v),
                _ => out.push(v),
            }
        }
        for (path, vs) in folded {
            let writers = &contended[&path];
            let first = writers[0];
            let entry = h
                .entries
                .iter()
                .position(|e| {
                    e.user == first
                        && matches!(&e.op, Op::ReadBytes { path: p } if normalize(p) == path)
                })
                .unwrap_or(vs[0].entry);
            let kind = if vs.iter().any(|v| v.kind == Kind::ContentLeak) {
                Kind::ContentLeak
            } else {
                vs[0].kind
            };
            let names: Vec<String> = writers
                .iter()
                .map(|u| display_id(&h.plan.users[*u]))
                .collect();
            let detail = format!(
                "users {} wrote {path} in the same step; reading it back, users got each other's writes",
                names.join(", ")
            );
            let mut v = Violation::at(h, entry, kind, writers.get(1).copied(), detail);
            v.observer = first;
            out.push(v);
        }
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
                let detail = format!(
                    "read back {} bytes that hold its canary but are not what it wrote (a torn write)",
                    text.len()
                );
                out.push(Violation::at(h, i, Kind::Integrity, None, detail));
            }
        }
    }
}

/// Paths written by two or more users in one step, with those users in order.
fn contended_paths(h: &History) -> BTreeMap<String, Vec<usize>> {
    let mut by_step: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for e in &h.entries {
        if let (Op::Write { .. }, Some(p)) = (&e.op, e.op.path()) {
            by_step.entry((e.step, p)).or_default().push(e.user);
        }
    }
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for ((_, p), users) in by_step.into_iter().filter(|(_, u)| u.len() > 1) {
        let all = out.entry(p).or_default();
        all.extend(users);
        all.sort();
        all.dedup();
    }
    out
}
