//! Root causes: what a violation says is wrong, independent of the case
//! that showed it.
//!
//! A report lists causes, not symptoms. One shared memory store shows up
//! as a content leak in one family and an existence leak in another; a
//! user id `.` and a user id `bob/alice` are two different bugs (with two
//! different fixes) even when both show as "another user's file". So each
//! violation is keyed by a [`RootCause`]: the checklist item, the *class*
//! of the cause, and the store ([`Surface`]) it showed on.
//!
//! Classes:
//! - `shared-store`: users with plain, distinct ids share the store (the
//!   minimal case has no hostile id at all);
//! - `id-alias/<class>`: a hostile user id of that class (see
//!   [`crate::gen::ID_CLASSES`]) reaches another user's storage;
//! - `id-replay/<kind>`: an identifier the app handed to another user,
//!   presented to an operation that takes one, reaches that user's state
//!   (the store trusts the id it is handed): `checkpoint-id` (also a
//!   hostile one walking out of the store: `../alice/<id>`), `plan-path`,
//!   `evicted-path`, `memory-path`, or a kind the subject hands out at
//!   open (`thread_id`, see [`super::identifier_replay`]);
//! - `integrity`, `collision`, `accumulation`, `persistence`: a family's
//!   own kind of problem, named after it;
//! - `ambiguous`: a name seen that several other users wrote; it names no
//!   cause and never makes a finding on its own.
//!
//! Content leaks, interference and existence leaks of one cause are one
//! finding: the strongest leads, the others are its supporting evidence.

use serde::Serialize;

use super::coverage::{observed_kind, written};
use super::{Surface, Violation};
use crate::backends::common::normalize;
use crate::drive::History;
use crate::gen::{Channel, Op, ID_CLASSES};
use crate::report::Kind;

/// What a finding is about: one bug, wherever it showed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RootCause {
    /// The checklist item (`C1` ... `X3`).
    pub item: &'static str,
    /// `shared-store`, `id-alias/dot`, `collision`, ...
    pub class: String,
    /// The store it showed on.
    pub surface: Surface,
}

impl RootCause {
    /// The id class, for an id-alias cause.
    pub fn id_class(&self) -> Option<&str> {
        self.class.strip_prefix("id-alias/")
    }

    /// Whether the cause is a leak between users (as opposed to a family's
    /// own kind of problem): the scenario that saw it is then a witness,
    /// not part of what it is.
    pub fn is_leak(&self) -> bool {
        self.class == "shared-store"
            || self.id_class().is_some()
            || self.class.starts_with("id-replay/")
    }

    /// The severity of the cause itself, where it has one of its own
    /// (each sandbox-hardening probe); otherwise the violation's kind decides.
    pub fn severity(&self) -> Option<crate::report::Severity> {
        super::sandbox_hardening::severity(&self.class)
    }

    /// A sentence naming the cause.
    pub fn text(&self) -> String {
        let store = self.surface.as_str();
        if self.class == "shared-store" {
            return format!("users with distinct, plain ids share one store of {store}");
        }
        if let Some(c) = self.id_class() {
            let what = ID_CLASSES
                .iter()
                .find(|(k, _)| *k == c)
                .map_or(c, |(_, t)| *t);
            return format!("{what} reaches another user's {store}");
        }
        match self.class.as_str() {
            "id-replay/checkpoint-id" => {
                "a checkpoint id the user never saved (another user's, or one walking out of the store) reaches another user's checkpoints".to_string()
            }
            "integrity" => format!("a user's own {store} was lost with no other user involved"),
            "collision" => format!("distinct names or ids share one location in {store}"),
            "accumulation" => format!("{store} accumulate beyond the limit"),
            "persistence" => "persistence does not match the chosen pattern".to_string(),
            c if c.starts_with("hardening/") => super::sandbox_hardening::cause_text(c),
            other => match other.strip_prefix("id-replay/") {
                Some(kind) => format!(
                    "a {kind} the app handed to another user, presented by a user who was never given it, reaches that user's {store}"
                ),
                None => other.to_string(),
            },
        }
    }
}

/// How strongly a kind shows a leak: a content leak beats interference,
/// which beats an existence leak. Other kinds are their own causes.
pub fn strength(kind: Kind) -> u8 {
    match kind {
        Kind::ContentLeak => 3,
        Kind::Interference => 2,
        Kind::ExistenceLeak => 1,
        _ => 1,
    }
}

/// The store a violation showed on: for a leak, where the leaked data was
/// written; for a loss, what the observer read.
pub fn surface(h: &History, v: &Violation) -> Surface {
    match v.channel {
        Channel::Execute => return Surface::Execute,
        Channel::Checkpoints => return Surface::Checkpoints,
        Channel::History => return Surface::History,
        Channel::Files => {}
    }
    let seeded: Vec<String> = h.plan.seeds.iter().map(|(p, _)| normalize(p)).collect();
    let observed = || observed_kind(&h.entries[v.entry].op);
    let wrote = || {
        v.cause
            .and_then(|c| h.entries.get(c))
            .and_then(|e| written(&e.op, &seeded))
    };
    // A family's own check may judge a write itself (a plan id, an
    // evicted result's name): its store is what that write wrote.
    let itself = || written(&h.entries[v.entry].op, &seeded);
    let s = match v.kind {
        Kind::Interference => observed().or_else(wrote).or_else(itself),
        _ => wrote().or_else(observed).or_else(itself),
    };
    s.unwrap_or(Surface::Files)
}

/// The user whose hostile id carried a leak: the observer's or the
/// owner's if hostile, else a hostile user who wrote in the run (like
/// `carol/../bob` writing into bob's directory, where bob sees it next to
/// alice's). `None` when the leak needs no hostile id: only a case of
/// plain ids shows a shared store (shrinking turns incidental hostile ids
/// plain).
pub fn carrier(h: &History, v: &Violation) -> Option<usize> {
    let hostile = |u: usize| h.plan.id_classes.get(u).copied().flatten().is_some();
    if hostile(v.observer) {
        return Some(v.observer);
    }
    if let Some(o) = v.owner.filter(|o| hostile(*o)) {
        return Some(o);
    }
    // Prefer a hostile writer of the very path the leaked data was at.
    let path = v
        .cause
        .and_then(|c| h.entries.get(c))
        .and_then(|e| e.op.path());
    let writers = || {
        h.entries
            .iter()
            .filter(|e| !h.plan.is_sweep(e.step) && e.op.token().is_some() && e.outcome.is_ok())
    };
    writers()
        .filter(|e| path.is_some() && e.op.path() == path)
        .map(|e| e.user)
        .find(|u| hostile(*u))
        .or_else(|| writers().map(|e| e.user).find(|u| hostile(*u)))
}

/// Whether a name-only observation (an existence leak, or interference)
/// cannot say whose write it saw: several other users wrote that path
/// before it. Such a violation names no cause of its own (the same leak
/// shows unambiguously in other cases).
fn ambiguous(h: &History, v: &Violation) -> bool {
    if v.kind == Kind::ContentLeak {
        return false; // a canary names exactly one writer
    }
    let Some(path) = v
        .cause
        .and_then(|c| h.entries.get(c))
        .and_then(|e| e.op.path())
    else {
        return false;
    };
    let step = h.entries[v.entry].step;
    let mut users: Vec<usize> = h
        .entries
        .iter()
        .filter(|e| {
            e.step < step
                && e.user != v.observer
                && e.op.token().is_some()
                && e.op.path().as_ref() == Some(&path)
        })
        .map(|e| e.user)
        .collect();
    users.sort_unstable();
    users.dedup();
    users.len() > 1
}

/// The root cause of `v` in history `h`.
pub fn of(h: &History, v: &Violation) -> RootCause {
    let class = match v.kind {
        Kind::Integrity => "integrity".to_string(),
        Kind::Collision => "collision".to_string(),
        Kind::Accumulation => "accumulation".to_string(),
        Kind::Persistence => "persistence".to_string(),
        Kind::Hardening => super::sandbox_hardening::class_of(h, v),
        Kind::ExistenceLeak | Kind::Interference if ambiguous(h, v) => "ambiguous".to_string(),
        Kind::ContentLeak | Kind::ExistenceLeak | Kind::Interference => {
            match carrier(h, v).and_then(|u| h.plan.id_classes[u]) {
                Some(c) => format!("id-alias/{c}"),
                None => match replay_of(h, v) {
                    Some((kind, ..)) => format!("id-replay/{kind}"),
                    None if replays_checkpoint_id(h, v) => "id-replay/checkpoint-id".to_string(),
                    None => "shared-store".to_string(),
                },
            }
        }
    };
    let mut surface = match v.kind {
        Kind::Hardening => Surface::Sandbox,
        _ => surface(h, v),
    };
    if class.starts_with("id-alias/") && surface.file_like() {
        // An id that aliases a backend root reaches every file-like store
        // in it at once: one bug, shown on whichever store a case used.
        surface = Surface::Files;
    }
    RootCause {
        item: v.checklist(),
        class,
        surface,
    }
}

/// The kind of identifier handed to another user through which `v` was
/// seen: presented by the observing operation, by the session it was made
/// in (a reopen with another user's thread id), or by the operation that
/// changed or removed the data.
/// `(kind, presenting user, user it was handed to)`.
pub fn replay_of(h: &History, v: &Violation) -> Option<(String, usize, usize)> {
    use super::identifier_replay::{presented, presented_by_session};
    let at = |i: usize| {
        presented_by_session(h, i)
            .or_else(|| presented(h, i))
            .map(|(kind, owner)| (kind, h.entries[i].user, owner))
    };
    at(v.entry).or_else(|| at(v.cause?))
}

/// Whether `v` was seen through a checkpoint id the observer never saved
/// (another user's id, or one walking out of the store: `../alice/<id>`)
/// presented to an operation that takes one: identifier replay.
pub fn replays_checkpoint_id(h: &History, v: &Violation) -> bool {
    let e = &h.entries[v.entry];
    let id = match &e.op {
        Op::CkGet { id } | Op::CkRemove { id } => id,
        _ => return false,
    };
    !h.entries.iter().any(|x| {
        x.user == e.user && matches!(&x.op, Op::CkSave { checkpoint } if &checkpoint.id == id)
    })
}

/// The shared-store cause an id-alias or id-replay cause is subsumed by:
/// when plain ids already share the store, a hostile id reaching it (or
/// another user's id presented to it) is no separate bug.
pub fn shared_counterpart(rc: &RootCause) -> Option<RootCause> {
    (rc.id_class().is_some() || rc.class.starts_with("id-replay/")).then(|| RootCause {
        item: rc.item,
        class: "shared-store".to_string(),
        surface: rc.surface,
    })
}
