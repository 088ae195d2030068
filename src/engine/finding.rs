//! A finding from a violation in a minimal history: the trace, where the
//! other user's data appeared, and the story that explains it.

use crate::canary;
use crate::check::cause::RootCause;
use crate::check::Violation;
use crate::drive::{History, Obs};
use crate::gen::{display_id, Op};
use crate::report::*;
use crate::subject::SubjectError;

/// Marks the start of the system prompt in an agent-mode memory read (see
/// docs/adapter-protocol.md, "Observation sections").
const SYSTEM_PROMPT_MARK: &str = "--- system prompt";

/// Where in `v`'s observation the other user's data appeared (the first
/// of [`places`]).
pub fn seen_in(h: &History, v: &Violation) -> &'static str {
    places(h, v)[0]
}

/// Where an observation of this operation shows data, by its kind.
fn seen_by_op(op: &Op) -> &'static str {
    match op {
        Op::Read { .. } | Op::ReadBytes { .. } | Op::ReadMemory { .. } => "read",
        Op::Exists { .. } => "exists",
        Op::Ls { .. } | Op::Glob { .. } => "listing",
        Op::Grep { .. } => "grep",
        Op::CkGet { .. } | Op::CkGetByLabel { .. } => "checkpoint",
        Op::CkList => "checkpoint-list",
        Op::CkCount => "checkpoint-count",
        Op::HistGet => "history",
        Op::Execute { .. } => "command-output",
        _ => "result",
    }
}

/// Every place in `v`'s observation where the other user's data appeared
/// (a memory read in agent mode may show it in the tool's return and in
/// the system prompt alike).
pub fn places(h: &History, v: &Violation) -> Vec<&'static str> {
    let e = &h.entries[v.entry];
    if let (Op::ReadMemory { .. }, Ok(Obs::Text(t))) = (&e.op, &e.outcome) {
        if let Some(at) = t.find(SYSTEM_PROMPT_MARK) {
            let (ret, prompt) = t.split_at(at);
            let leaked = canary::scan(&v.detail);
            let mut out = Vec::new();
            if leaked.iter().any(|c| ret.contains(c)) {
                out.push("tool-return");
            }
            if leaked.iter().any(|c| prompt.contains(c)) {
                out.push("system-prompt");
            }
            if !out.is_empty() {
                return out;
            }
        }
    }
    vec![seen_by_op(&e.op)]
}

/// The evidence of `v`, seen by scenario `scenario`.
pub fn evidence(scenario: &str, h: &History, v: &Violation, occurrences: usize) -> Evidence {
    let name = |u: usize| display_id(&h.plan.users[u]);
    let ev = &h.entries[v.entry];
    Evidence {
        kind: v.kind,
        scenario: scenario.to_string(),
        observer: name(v.observer),
        owner: v.owner.map(name),
        operation: ev.op.describe(),
        step: ev.step,
        detail: v.detail.clone(),
        seen_in: seen_in(h, v),
        occurrences,
    }
}

/// The finding for violation `v` (root cause `rc`) of scenario `scenario`
/// in the minimal history `h`; `supporting` holds weaker violations of the
/// same cause in `h`.
pub fn build(
    scenario: &str,
    h: &History,
    v: &Violation,
    rc: &RootCause,
    occurrences: usize,
    supporting: Vec<Evidence>,
    replay: String,
) -> Finding {
    let name = |u: usize| display_id(&h.plan.users[u]);
    let mut trace: Vec<TraceLine> = h
        .entries
        .iter()
        .enumerate()
        .filter(|(i, e)| match v.kind {
            // A probe's finding: the probe, and the other user's part.
            Kind::Hardening => *i == v.entry || v.cause == Some(*i),
            _ => !h.plan.is_sweep(e.step) || *i == v.entry,
        })
        .map(|(i, e)| TraceLine {
            step: e.step,
            phase: if h.plan.is_sweep(e.step) {
                "sweep"
            } else {
                "run"
            },
            user: name(e.user),
            op: e.op.describe(),
            outcome: if i == v.entry {
                v.detail.clone()
            } else {
                summarize(&e.outcome)
            },
            evidence: i == v.entry,
        })
        .collect();
    trace.sort_by_key(|t| t.step);
    let mut users = vec![name(v.observer)];
    if let Some(o) = v.owner {
        users.push(name(o));
    }
    Finding {
        id: String::new(),
        fingerprint: String::new(),
        scenario: scenario.into(),
        checklist: rc.item.into(),
        title: format!("{} ({})", v.kind.headline(), rc.surface.as_str()),
        kind: v.kind,
        severity: rc.severity().unwrap_or(v.severity()),
        cause: rc.class.clone(),
        cause_text: rc.text(),
        store: rc.surface,
        users,
        story: story(h, v, rc),
        evidence: evidence(scenario, h, v, occurrences),
        supporting,
        seen_in: places(h, v),
        witnesses: vec![scenario.to_string()],
        trace,
        replay,
        baselined: false,
    }
}

/// Who wrote what where, who saw it how, and why that is a problem: the
/// minimal history told in three lines or fewer.
fn story(h: &History, v: &Violation, rc: &RootCause) -> Vec<String> {
    let name = |u: usize| display_id(&h.plan.users[u]);
    let obs = &h.entries[v.entry];
    let at = |i: usize| {
        let e = &h.entries[i];
        format!("at step {} (`{}`)", e.step, e.op.describe())
    };
    let cause_entry = v.cause.filter(|c| *c < h.entries.len());
    let store = rc.surface.as_str();
    let why_alias = |hostile: usize, other: usize| {
        if hostile == other {
            // The carrier is a third user (wrote where the others met).
            return format!(
                "{} wrote into storage another user reaches: {} ({}).",
                name(hostile),
                rc.text(),
                rc.class
            );
        }
        format!(
            "{} and {} are distinct ids, yet they reach the same storage: {} ({}).",
            name(hostile),
            name(other),
            rc.text(),
            rc.class
        )
    };
    let hostile = crate::check::cause::carrier(h, v);
    // An identifier handed to one user and presented by another.
    let replayed = rc
        .class
        .starts_with("id-replay/")
        .then(|| crate::check::cause::replay_of(h, v))
        .flatten()
        .map(|(kind, by, owner)| {
            format!(
                "{} presented the {kind} the app had handed to {}, and was served {}'s {store}: the app trusts the identifier without checking who presents it.",
                name(by),
                name(owner),
                name(owner)
            )
        });
    let mut lines = Vec::new();
    match (v.kind, v.owner, cause_entry) {
        (Kind::ContentLeak | Kind::ExistenceLeak, Some(o), Some(w)) => {
            let what = if v.kind == Kind::ContentLeak {
                "data"
            } else {
                "a name"
            };
            lines.push(format!(
                "{} wrote {what} to its {store} {}.",
                name(o),
                at(w)
            ));
            lines.push(format!(
                "{} saw it in {} {}: {}.",
                name(v.observer),
                seen_in_text(seen_in(h, v)),
                at(v.entry),
                v.detail
            ));
            lines.push(match (hostile, replayed) {
                (Some(x), _) => why_alias(x, other_than(x, v.observer, o)),
                (None, Some(line)) => line,
                (None, None) => format!(
                    "{} and {} are distinct users with plain ids: {} must never see {}'s {store}, so the store is shared.",
                    name(v.observer),
                    name(o),
                    name(v.observer),
                    name(o)
                ),
            });
        }
        (Kind::Interference, Some(o), Some(d)) => {
            lines.push(format!("{} changed or removed data {}.", name(o), at(d)));
            lines.push(format!(
                "{} then found its own {store} changed {}: {}.",
                name(v.observer),
                at(v.entry),
                v.detail
            ));
            lines.push(match (hostile, replayed) {
                (Some(x), _) => why_alias(x, other_than(x, v.observer, o)),
                (None, Some(line)) => line,
                (None, None) => format!(
                    "only {}'s operation touched it: one user's operation reached another user's {store}, so the store is shared.",
                    name(o)
                ),
            });
        }
        (Kind::Hardening, _, _) => {
            let probe = rc.class.strip_prefix("hardening/").unwrap_or(&rc.class);
            let about = match (v.owner, cause_entry) {
                (Some(o), Some(w)) => {
                    format!(" (and {} its part at step {})", name(o), h.entries[w].step)
                }
                _ => String::new(),
            };
            lines.push(format!(
                "{} ran the `{probe}` probe in its sandbox at step {}{about} (the command is in the trace): {}.",
                name(v.observer),
                obs.step,
                v.detail
            ));
            lines.push(format!("{}.", rc.text()));
        }
        (Kind::Integrity, _, Some(w)) => {
            lines.push(format!("{} wrote its {store} {}.", name(v.observer), at(w)));
            lines.push(format!("{}: {}.", at(v.entry), v.detail));
            lines.push("no other user touched it: the subject lost a user's own data.".into());
        }
        _ => {
            lines.push(format!("{} {}: {}.", name(obs.user), at(v.entry), v.detail));
            lines.push(format!("{}.", rc.text()));
        }
    }
    lines
}

/// Of observer `a` and owner `b`, the one that is not `x` (`x` itself
/// when it is neither: a third user carried the data).
fn other_than(x: usize, a: usize, b: usize) -> usize {
    if x == a {
        b
    } else if x == b {
        a
    } else {
        x
    }
}

/// A short form of an outcome for traces.
pub fn summarize(outcome: &Result<Obs, SubjectError>) -> String {
    match outcome {
        Err(e) => format!("error ({}): {e}", e.kind()),
        Ok(o) => match o {
            Obs::Unit => "ok".into(),
            Obs::Text(t) => format!("{} bytes", t.len()),
            Obs::Entries(es) => format!("{} entries", es.len()),
            Obs::Matches(ms) => format!("{} matches", ms.len()),
            Obs::Bool(b) => b.to_string(),
            Obs::Edited(n) => format!("{n} replaced"),
            Obs::Checkpoint(Some(c)) => format!("checkpoint {}", c.id),
            Obs::Checkpoint(None) => "none".into(),
            Obs::Checkpoints(cs) => format!("{} checkpoints", cs.len()),
            Obs::Count(n) => n.to_string(),
            Obs::Messages(ms) => format!("{} messages", ms.len()),
            Obs::Exec(r) => format!("exit {:?}, {} bytes", r.exit_code, r.output.len()),
            Obs::Path(p) => format!("wrote {p}"),
        },
    }
}
