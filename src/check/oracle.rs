//! The leak oracle shared by every scenario family.
//!
//! It walks a [`History`] step by step. Observations made at step `s` are
//! judged against the effects of steps before `s` only (the step join is a
//! barrier), which keeps verdicts reproducible: an observation that races
//! with a write in the same step is recorded but not judged, and a leak
//! that persists is seen again by a later step or the closing sweep.
//!
//! Three rules:
//! - **content**: an observation by user B contains a canary written by
//!   another user A (read text, grep lines, checkpoint ids or messages,
//!   history messages, command output);
//! - **existence**: B sees a path (ls, glob, grep, `exists` = true) that
//!   only others wrote, or whose name carries a canary only others wrote,
//!   or a checkpoint count above what B saved;
//! - **missing**: data B wrote and never removed is gone or changed. If
//!   another user's destructive operation on the same logical resource came
//!   in between, that is *interference* (the store is shared); otherwise it
//!   is an *integrity* finding.

use std::collections::HashMap;

use serde::Serialize;

use crate::backends::common::normalize;
use crate::canary;
use crate::drive::{Entry, History, Obs};
use crate::gen::{Channel, Op};
use crate::report::{Kind, Severity};
use crate::subject::SubjectError;

/// One judged problem in a history.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub kind: Kind,
    pub channel: Channel,
    /// Index of the observing entry in `History::entries`.
    pub entry: usize,
    pub observer: usize,
    pub owner: Option<usize>,
    /// Index of the entry that wrote the leaked data or destroyed the lost one.
    pub cause: Option<usize>,
    pub detail: String,
}

impl Violation {
    /// A violation found by a family's own check at history entry `entry`.
    pub fn at(h: &History, entry: usize, kind: Kind, owner: Option<usize>, detail: String) -> Self {
        let e = &h.entries[entry];
        Violation {
            kind,
            channel: e.op.channel(),
            entry,
            observer: e.user,
            owner,
            cause: None,
            detail,
        }
    }

    /// Checklist item: the channel's item, or X1 for integrity.
    pub fn checklist(&self) -> &'static str {
        match (self.kind, self.channel) {
            (Kind::Integrity, _) => "X1",
            (Kind::Collision, _) => "X2",
            (Kind::Accumulation, _) => "X3",
            (Kind::Persistence, _) => "C4",
            (_, Channel::Files) => "C1",
            (_, Channel::Checkpoints) => "C2",
            (_, Channel::History) => "C3",
            (_, Channel::Execute) => "C5",
        }
    }

    pub fn severity(&self) -> Severity {
        match self.kind {
            Kind::ContentLeak => Severity::Critical,
            Kind::ExistenceLeak | Kind::Interference => Severity::High,
            Kind::Integrity | Kind::Collision | Kind::Persistence => Severity::Medium,
            Kind::Accumulation => Severity::Low,
            // Each probe has a severity of its own (see sandbox-hardening).
            Kind::Hardening => Severity::High,
        }
    }
}

pub use super::coverage::Coverage;

#[derive(Clone, Copy, Debug)]
struct Mark {
    user: usize,
    step: usize,
    entry: usize,
}

#[derive(Default)]
struct UserModel {
    /// path -> (canary that must be present, entry that wrote it)
    files: HashMap<String, (String, usize)>,
    /// own checkpoints in save order: (id, label, entry)
    checkpoints: Vec<(String, String, usize)>,
    /// own history messages' canaries
    history: Vec<(String, usize)>,
    /// agent -> (canary of the last own save_memory, entry, path written)
    memory: HashMap<String, (String, usize, String)>,
    /// Checkpoints held before the session was reopened: they may or may
    /// not have survived, depending on the persistence pattern.
    checkpoints_before: usize,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, Mark>,
    path_tokens: HashMap<String, Vec<Mark>>,
    paths: HashMap<String, Vec<Mark>>,
    users: Vec<UserModel>,
    /// (mark, channel, path for file writes) of operations that remove or replace data
    destructive: Vec<(Mark, Channel, Option<String>)>,
}

fn obs_path(dir: &str, p: &str) -> String {
    if p.starts_with('/') {
        normalize(p)
    } else {
        normalize(&format!("{dir}/{p}"))
    }
}

/// Texts of an observation that may carry canaries.
fn texts(obs: &Obs) -> Vec<&str> {
    match obs {
        Obs::Text(t) => vec![t],
        Obs::Matches(ms) => ms.iter().map(|m| m.line.as_str()).collect(),
        Obs::Checkpoint(Some(c)) => std::iter::once(c.id.as_str())
            .chain(c.messages.iter().map(|m| m.as_str()))
            .collect(),
        Obs::Checkpoints(cs) => cs
            .iter()
            .flat_map(|c| {
                std::iter::once(c.id.as_str()).chain(c.messages.iter().map(|m| m.as_str()))
            })
            .collect(),
        Obs::Messages(ms) => ms.iter().map(|m| m.as_str()).collect(),
        Obs::Exec(r) => vec![&r.output],
        _ => Vec::new(),
    }
}

/// Paths an observation reveals.
fn revealed_paths(op: &Op, obs: &Obs) -> Vec<(String, bool)> {
    let dir = match op {
        Op::Ls { path } | Op::Glob { path, .. } | Op::Grep { path, .. } => path.as_str(),
        _ => "/",
    };
    match obs {
        Obs::Entries(es) => es
            .iter()
            .map(|e| (obs_path(dir, &e.path), e.is_dir))
            .collect(),
        Obs::Matches(ms) => ms.iter().map(|m| (obs_path(dir, &m.path), false)).collect(),
        Obs::Bool(true) if matches!(op, Op::Exists { .. }) => {
            vec![(op.path().unwrap_or_default(), false)]
        }
        _ => Vec::new(),
    }
}

/// Judges a history; appends violations and coverage.
pub fn judge(h: &History, out: &mut Vec<Violation>, cov: &mut Coverage) {
    super::coverage::record(h, cov);
    let n = h.plan.users.len();
    let mut st = State {
        users: (0..n).map(|_| UserModel::default()).collect(),
        ..Default::default()
    };
    // Context files are seeded by the tenancy, not by a user: their canaries
    // belong to nobody (never a leak), and every user must be able to read them.
    for (path, content) in &h.plan.seeds {
        for tok in canary::scan(content) {
            st.tokens.insert(
                tok.to_string(),
                Mark {
                    user: SEED,
                    step: 0,
                    entry: usize::MAX,
                },
            );
            for u in st.users.iter_mut() {
                u.files
                    .insert(normalize(path), (tok.to_string(), usize::MAX));
            }
        }
    }
    let mut i = 0;
    while i < h.entries.len() {
        let step = h.entries[i].step;
        let mut j = i;
        while j < h.entries.len() && h.entries[j].step == step {
            j += 1;
        }
        for k in i..j {
            judge_entry(&st, h, k, i..j, out, cov);
        }
        for k in i..j {
            apply(&mut st, &h.entries[k], k);
        }
        i = j;
    }
}

fn judge_entry(
    st: &State,
    h: &History,
    idx: usize,
    same_step: std::ops::Range<usize>,
    out: &mut Vec<Violation>,
    cov: &mut Coverage,
) {
    let e = &h.entries[idx];
    let (b, s, channel) = (e.user, e.step, e.op.channel());
    let obs = match &e.outcome {
        Ok(o) => o,
        Err(err) => {
            if !matches!(err, SubjectError::NotFound(_)) {
                *cov.errors.entry(channel).or_default() += 1;
                return;
            }
            *cov.judged.entry(channel).or_default() += 1;
            check_missing(st, h, idx, same_step, None, out);
            return;
        }
    };
    *cov.judged.entry(channel).or_default() += 1;
    let before = out.len();
    let v = |kind, owner: Option<usize>, cause: Option<usize>, detail: String| Violation {
        kind,
        channel,
        entry: idx,
        observer: b,
        owner,
        cause,
        detail,
    };

    // Content: canaries of others.
    for text in texts(obs) {
        for tok in canary::scan(text) {
            if let Some(m) = st.tokens.get(tok) {
                if m.user != b && m.user != SEED && m.step < s {
                    out.push(v(
                        Kind::ContentLeak,
                        Some(m.user),
                        Some(m.entry),
                        format!("saw canary {tok}"),
                    ));
                }
            }
        }
    }
    // Existence: paths only others wrote (by a canary in the name, or the
    // exact path), never the seeded context files.
    for (p, is_dir) in revealed_paths(&e.op, obs) {
        let by_token = canary::scan(&p)
            .into_iter()
            .find_map(|tok| only_others(st.path_tokens.get(tok), b, s));
        let seeded = h.plan.seeds.iter().any(|(sp, _)| normalize(sp) == p);
        let by_path = || {
            (!is_dir && !seeded)
                .then(|| only_others(st.paths.get(&p), b, s))
                .flatten()
        };
        if let Some(w) = by_token.or_else(by_path) {
            out.push(v(
                Kind::ExistenceLeak,
                Some(w.user),
                Some(w.entry),
                format!("saw path {p}"),
            ));
        }
    }
    // Command output naming another user's files.
    if let Obs::Exec(r) = obs {
        for tok in canary::scan(&r.output) {
            if let Some(w) = only_others(st.path_tokens.get(tok), b, s) {
                let detail = format!("output names another user's file ({tok})");
                out.push(v(Kind::ExistenceLeak, Some(w.user), Some(w.entry), detail));
            }
        }
    }
    // Checkpoint count above the user's own.
    let me = &st.users[b];
    if let (Op::CkCount, Obs::Count(c)) = (&e.op, obs) {
        if *c > me.checkpoints.len() + me.checkpoints_before {
            let other = st
                .tokens
                .values()
                .filter(|m| {
                    m.user != b
                        && m.step < s
                        && m.user != SEED
                        && h.entries[m.entry].op.channel() == Channel::Checkpoints
                })
                .min_by_key(|m| m.entry);
            if let Some(m) = other {
                out.push(v(
                    Kind::ExistenceLeak,
                    Some(m.user),
                    Some(m.entry),
                    format!("count is {c}, but this user holds {}", me.checkpoints.len()),
                ));
            }
        }
    }
    // A read that shows another user's data where this user's own feature
    // data (an evicted result, a plan, memory) was: that data was also
    // overwritten by the other user, which is interference besides the leak.
    let own_feature_path = e.op.path().is_some_and(|p| {
        st.users[b]
            .files
            .get(&p)
            .is_some_and(|(_, w)| h.entries.get(*w).is_some_and(|x| x.op.is_feature_write()))
    });
    if out.len() == before || own_feature_path {
        check_missing(st, h, idx, same_step, Some(obs), out);
    }
}

/// The first earlier writer, if only users other than `b` ever wrote it.
fn only_others(writers: Option<&Vec<Mark>>, b: usize, s: usize) -> Option<Mark> {
    let ws = writers?;
    if ws.iter().any(|w| w.user == b) {
        return None;
    }
    ws.iter().find(|w| w.step < s).copied()
}

/// Own data that should be visible but is not.
fn check_missing(
    st: &State,
    h: &History,
    idx: usize,
    same_step: std::ops::Range<usize>,
    obs: Option<&Obs>,
    out: &mut Vec<Violation>,
) {
    let e = &h.entries[idx];
    let (b, channel) = (e.user, e.op.channel());
    let me = &st.users[b];
    let lost: Option<(String, usize, Vec<String>)> = match (&e.op, obs) {
        (Op::Read { path } | Op::ReadBytes { path }, o) => {
            let p = normalize(path);
            me.files.get(&p).and_then(|(tok, w)| match o {
                Some(Obs::Text(t)) if t.contains(tok.as_str()) => None,
                _ => Some((
                    format!("{p} no longer holds this user's last write"),
                    *w,
                    Vec::new(),
                )),
            })
        }
        (Op::Exists { path }, Some(Obs::Bool(false))) => {
            let p = normalize(path);
            me.files
                .get(&p)
                .map(|(_, w)| (format!("{p} no longer exists"), *w, Vec::new()))
        }
        (Op::CkGet { id }, Some(Obs::Checkpoint(None))) => me
            .checkpoints
            .iter()
            .find(|c| &c.0 == id)
            .map(|c| (format!("checkpoint {id} is gone"), c.2, vec![ck_key(id)])),
        (Op::CkGetByLabel { label }, Some(Obs::Checkpoint(None))) => {
            me.checkpoints.iter().find(|c| &c.1 == label).map(|c| {
                (
                    format!(
                        "no checkpoint labelled {label}, but {} was saved with it",
                        c.0
                    ),
                    c.2,
                    vec![ck_key(&c.0)],
                )
            })
        }
        (Op::CkList, Some(Obs::Checkpoints(cs))) => me
            .checkpoints
            .iter()
            .find(|c| !cs.iter().any(|x| x.id == c.0))
            .map(|c| {
                (
                    format!("list_all misses checkpoint {}", c.0),
                    c.2,
                    vec![ck_key(&c.0)],
                )
            }),
        (Op::CkCount, Some(Obs::Count(c))) if *c < me.checkpoints.len() => Some((
            format!("count is {c}, but this user holds {}", me.checkpoints.len()),
            me.checkpoints[0].2,
            me.checkpoints.iter().map(|c| ck_key(&c.0)).collect(),
        )),
        (Op::ReadMemory { agent }, o) => me.memory.get(agent).and_then(|(tok, w, _)| match o {
            Some(Obs::Text(t)) if t.contains(tok.as_str()) => None,
            _ => Some((
                format!("the memory of agent {agent:?} no longer holds this user's last save"),
                *w,
                Vec::new(),
            )),
        }),
        (Op::HistGet, Some(Obs::Messages(ms))) => me
            .history
            .iter()
            .find(|(tok, _)| !ms.iter().any(|m| m.contains(tok.as_str())))
            .map(|(tok, w)| (format!("history misses message {tok}"), *w, Vec::new())),
        _ => None,
    };
    let Some((detail, written_at, lost_key)) = lost else {
        return;
    };
    // usize::MAX marks a seeded context file (written before step 0).
    let since = h.entries.get(written_at).map_or(0, |e| e.step);
    let path = resource(&e.op);
    let hits = |m: &Mark, c: Channel, p: &Option<String>| {
        m.user != b && c == channel && (channel != Channel::Files || p == &path)
    };
    // A foreign destructive operation in this very step races with the
    // observation: no verdict.
    // (A feature write, such as save_memory, touches the path it wrote.)
    let wrote_path = |x: &Entry| match &x.outcome {
        Ok(Obs::Path(p)) => path.as_deref() == Some(normalize(p).as_str()),
        _ => false,
    };
    if same_step.clone().any(|k| {
        let x = &h.entries[k];
        x.user != b
            && is_destructive(&x.op)
            && x.op.channel() == channel
            && (channel != Channel::Files || resource(&x.op) == path || wrote_path(x))
    }) {
        return;
    }
    // The first foreign destructive operation since the data was written;
    // failing that, the last one before it (which left this user's model
    // of the store wrong, so the loss is still not the subject's own doing).
    // A foreign operation naming exactly what was lost (a checkpoint
    // removed by its id) is the culprit before any other.
    let exact = |(m, c, p): &&(Mark, Channel, Option<String>)| {
        m.step >= since && hits(m, *c, p) && p.as_ref().is_some_and(|k| lost_key.contains(k))
    };
    let culprit = st
        .destructive
        .iter()
        .find(exact)
        .or_else(|| {
            st.destructive
                .iter()
                .find(|(m, c, p)| m.step >= since && hits(m, *c, p))
        })
        .or_else(|| st.destructive.iter().rev().find(|(m, c, p)| hits(m, *c, p)));
    let (kind, owner, cause) = match culprit {
        Some((m, _, _)) => (Kind::Interference, Some(m.user), Some(m.entry)),
        None => (
            Kind::Integrity,
            None,
            h.entries.get(written_at).map(|_| written_at),
        ),
    };
    out.push(Violation {
        kind,
        channel,
        entry: idx,
        observer: b,
        owner,
        cause,
        detail,
    });
}

/// The user that writes seeded context files.
const SEED: usize = usize::MAX;

/// A name for the logical resource an operation touches, for attributing
/// a loss to another user's operation on the same resource.
fn resource(op: &Op) -> Option<String> {
    match op {
        Op::SaveMemory { agent, .. } | Op::ReadMemory { agent } => Some(format!("memory:{agent}")),
        Op::Evict { call_id, .. } => Some(format!("evicted:{call_id}")),
        Op::CkRemove { id } => Some(ck_key(id)),
        Op::CkSave { checkpoint } => Some(ck_key(&checkpoint.id)),
        _ => op.path(),
    }
}

/// The resource name of checkpoint `id`.
fn ck_key(id: &str) -> String {
    format!("checkpoint:{id}")
}

fn is_destructive(op: &Op) -> bool {
    op.is_feature_write()
        || matches!(
            op,
            Op::Write { .. }
                | Op::Edit { .. }
                | Op::CkSave { .. }
                | Op::CkRemove { .. }
                | Op::CkRemoveOldest
                | Op::CkClear
        )
}

fn apply(st: &mut State, e: &Entry, idx: usize) {
    let mark = Mark {
        user: e.user,
        step: e.step,
        entry: idx,
    };
    let ok = e.outcome.is_ok();
    if let Some(tok) = e.op.token() {
        st.tokens.insert(tok.to_string(), mark);
    }
    // Where the operation wrote: its path, or the path a feature operation returned.
    let written = match (&e.op, &e.outcome) {
        (Op::Write { .. } | Op::Edit { .. }, _) => e.op.path(),
        (op, Ok(Obs::Path(p))) if op.is_feature_write() => Some(normalize(p)),
        _ => None,
    };
    if let Some(p) = written.clone() {
        for tok in canary::scan(&p) {
            st.path_tokens
                .entry(tok.to_string())
                .or_default()
                .push(mark);
        }
        st.paths.entry(p.clone()).or_default().push(mark);
    }
    if is_destructive(&e.op) {
        st.destructive
            .push((mark, e.op.channel(), resource(&e.op).or(written.clone())));
        if let (Some(r), Some(p)) = (resource(&e.op), written.clone()) {
            if r != p {
                st.destructive.push((mark, e.op.channel(), Some(p)));
            }
        }
    }
    // An operation that returned an error is taken to have had no effect
    // (non-fatal errors are definite answers; crashes and timeouts end the case).
    if !ok {
        return;
    }
    let me = &mut st.users[e.user];
    if let (Some(p), Some(tok)) = (written.clone(), e.op.token()) {
        // Whatever was stored at this path before is superseded.
        me.memory.retain(|_, m| m.2 != p);
        me.files.insert(p, (tok.to_string(), idx));
    }
    match (&e.op, e.outcome.as_ref().ok()) {
        (Op::SaveMemory { agent, .. }, _) => {
            if let (Some(tok), Some(p)) = (e.op.token(), written) {
                me.memory.insert(agent.clone(), (tok.to_string(), idx, p));
            }
        }
        // A new session: what it should still hold depends on the
        // persistence pattern, which the persistence family judges.
        (Op::Reopen | Op::ReopenPresenting { .. }, _) => {
            let before = me.checkpoints_before + me.checkpoints.len();
            *me = UserModel {
                checkpoints_before: before,
                ..UserModel::default()
            };
        }
        (Op::CkSave { checkpoint }, _) => {
            me.checkpoints.retain(|c| c.0 != checkpoint.id);
            me.checkpoints
                .push((checkpoint.id.clone(), checkpoint.label.clone(), idx));
        }
        (Op::CkRemove { id }, Some(Obs::Bool(true))) => me.checkpoints.retain(|c| &c.0 != id),
        (Op::CkRemoveOldest, Some(Obs::Bool(true))) => {
            // The oldest may be one held before a reopen.
            if me.checkpoints_before > 0 {
                me.checkpoints_before -= 1;
            } else if !me.checkpoints.is_empty() {
                me.checkpoints.remove(0);
            }
        }
        (Op::CkClear, _) => {
            me.checkpoints.clear();
            me.checkpoints_before = 0;
        }
        (Op::HistAppend { .. }, _) => {
            if let Some(tok) = e.op.token() {
                me.history.push((tok.to_string(), idx));
            }
        }
        _ => {}
    }
}
