//! identifier-replay (checklist C1, C2, C3: a user's state reached through
//! an identifier the app handed to somebody else)
//!
//! What it checks: every user (plain, distinct ids) first saves things the
//! subject answers with an identifier: a checkpoint (its id), a plan, an
//! evicted tool result and a memory (the paths they were saved at); where
//! the app hands identifiers to its users when a session opens (an
//! adapter's declared `identifiers`, e.g. a LangGraph `thread_id`), those
//! too. Then each user presents identifiers handed to *other* users to
//! every operation that takes one: checkpoint get and remove, read,
//! read_bytes and exists of the path, and a reopened session presenting
//! the other user's identifier, e.g. a thread id or a workspace ref
//! (followed by a look at the history, the checkpoints and a search of the
//! files it got). Anything of the other user's that the presenter
//! then reads, lists, changes or removes is a finding on the store it
//! belongs to (C2 checkpoints, C3 history, C1 files and memory).
//!
//! Each identifier kind gets a verdict in the report: `enforced` (it was
//! presented by another user after it was handed out, and the app refused
//! it or answered with the presenter's own data only), `bypassed` (a
//! finding names it), `shared-store` (plain users already share the store,
//! so presenting an identifier proves nothing more) or `undetermined`
//! (never presented after being handed out: the subject offers no such
//! operation, or never answered with one).
//!
//! Why it matters: the most common real leak is not a shared object but a
//! shared or guessable identifier. A store keyed by whatever id the caller
//! hands it, or an endpoint that resumes any thread id it is sent, gives
//! every user who learns (or guesses) an id the other user's conversation.
//!
//! Fix: check ownership where an identifier comes back in: scope the store
//! per user (then another user's id simply does not exist there), or look
//! the identifier up together with the authenticated user and refuse a
//! mismatch; never trust a thread or checkpoint id from the request alone.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::drive::{replay_kind_of, History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario, REPLAY_KINDS};
use crate::subject::{Capabilities, SubjectError};

pub struct IdentifierReplay;

impl Family for IdentifierReplay {
    fn name(&self) -> &'static str {
        "identifier-replay"
    }
    doc_from_file!("identifier_replay.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1", "C2", "C3"]
    }
    fn surfaces(&self, caps: &Capabilities) -> Vec<super::Surface> {
        let mut v = Vec::new();
        if caps.files {
            v.push(super::Surface::Evicted);
        }
        if caps.checkpoints {
            v.push(super::Surface::Checkpoints);
        }
        v
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(
            caps.files || caps.checkpoints,
            "the subject hands out no identifier (no files, no checkpoints)",
        )
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::replay(cfg)
    }
    fn identifier_kinds(&self, caps: &Capabilities, declared: &[String]) -> Vec<String> {
        REPLAY_KINDS
            .iter()
            .filter(|k| match **k {
                "checkpoint-id" => caps.checkpoints,
                "plan-path" => caps.features.plans,
                _ => caps.files,
            })
            .map(|k| k.to_string())
            .chain(declared.iter().cloned())
            .collect()
    }
}

/// One identifier handed to one user and presented by another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The entry that presented it.
    pub entry: usize,
    /// Its kind (`checkpoint-id`, `plan-path`, `thread_id`, ...).
    pub kind: String,
    /// The user it was handed to.
    pub owner: usize,
    /// Whether the answer can show a leak: the subject answered (data or a
    /// refusal), and, for a session opened with the identifier, the
    /// presenter then looked at what it got.
    pub judged: bool,
}

/// The identifier `h.entries[idx]` presents that the app handed to another
/// user before, if any: (kind, owner).
pub fn presented(h: &History, idx: usize) -> Option<(String, usize)> {
    let e = &h.entries[idx];
    let before = |x: &&crate::drive::Entry| x.step < e.step && x.outcome.is_ok();
    // A checkpoint id is the harness's own: saved in the same step is saved
    // before whenever the presentation found it.
    let same_or_before = |x: &&crate::drive::Entry| x.step <= e.step && x.outcome.is_ok();
    match &e.op {
        Op::ReopenPresenting { kind, owner, .. } if *owner != e.user => {
            Some((kind.clone(), *owner))
        }
        Op::CkGet { id } | Op::CkRemove { id } => {
            let saver = |x: &crate::drive::Entry| matches!(&x.op, Op::CkSave { checkpoint } if &checkpoint.id == id);
            if h.entries.iter().any(|x| x.user == e.user && saver(x)) {
                return None;
            }
            let owner = h
                .entries
                .iter()
                .filter(same_or_before)
                .find(|x| saver(x))?
                .user;
            Some(("checkpoint-id".to_string(), owner))
        }
        Op::Read { path } | Op::ReadBytes { path } | Op::Exists { path } => {
            let handed = |x: &crate::drive::Entry| match &x.outcome {
                Ok(Obs::Path(p)) if p == path => replay_kind_of(&x.op),
                _ => None,
            };
            if h.entries
                .iter()
                .any(|x| x.user == e.user && handed(x).is_some())
            {
                return None;
            }
            let x = h
                .entries
                .iter()
                .filter(before)
                .find(|x| handed(x).is_some())?;
            Some((handed(x)?.to_string(), x.user))
        }
        _ => None,
    }
}

/// The identifier presented by the session through which `h.entries[idx]`
/// was made: a reopen presenting another user's identifier, not followed by
/// another reopen of the same user before `idx`.
pub fn presented_by_session(h: &History, idx: usize) -> Option<(String, usize)> {
    let e = &h.entries[idx];
    h.entries[..idx]
        .iter()
        .rev()
        .filter(|x| x.user == e.user && x.outcome.is_ok())
        .find_map(|x| match &x.op {
            Op::ReopenPresenting { kind, owner, .. } => Some(Some((kind.clone(), *owner))),
            Op::Reopen => Some(None),
            _ => None,
        })
        .flatten()
        .filter(|(_, owner)| *owner != e.user)
}

/// Every presentation in `h`.
pub fn presentations(h: &History) -> Vec<Presentation> {
    let answered = |r: &Result<Obs, SubjectError>| {
        matches!(
            r,
            Ok(_) | Err(SubjectError::NotFound(_) | SubjectError::Refused(_))
        )
    };
    h.entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let (kind, owner) = presented(h, i)?;
            let judged = answered(&e.outcome)
                && match (&e.op, &e.outcome) {
                    // A session opened with it: judged once its history or
                    // checkpoints were looked at.
                    (Op::ReopenPresenting { .. }, Ok(_)) => h.entries[i + 1..]
                        .iter()
                        .filter(|x| x.user == e.user)
                        .take_while(|x| !matches!(x.op, Op::Reopen | Op::ReopenPresenting { .. }))
                        .any(|x| matches!(x.op, Op::HistGet | Op::CkList) && x.outcome.is_ok()),
                    _ => true,
                };
            Some(Presentation {
                entry: i,
                kind,
                owner,
                judged,
            })
        })
        .collect()
}
