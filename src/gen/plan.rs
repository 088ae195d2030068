//! Materialization: from an abstract [`Scenario`] to a concrete [`Plan`].

use std::collections::BTreeSet;

use serde::Serialize;

use super::ops::*;
use super::users::{materialize_ids, name};
use super::Scenario;
use crate::backends::common::{is_under, normalize};
use crate::canary::{self, Minter};
use crate::profile::Profile;
use crate::subject::Checkpoint;

/// Which store an operation addresses (and so which checklist item a leak
/// through it belongs to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    Files,
    Checkpoints,
    History,
    Execute,
}

/// A concrete operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Write {
        path: String,
        content: String,
    },
    Edit {
        path: String,
        old: String,
        new: String,
    },
    Read {
        path: String,
    },
    ReadBytes {
        path: String,
    },
    Exists {
        path: String,
    },
    Ls {
        path: String,
    },
    Glob {
        pattern: String,
        path: String,
    },
    Grep {
        pattern: String,
        path: String,
    },
    CkSave {
        checkpoint: Checkpoint,
    },
    CkGet {
        id: String,
    },
    CkGetByLabel {
        label: String,
    },
    CkList,
    CkRemove {
        id: String,
    },
    CkRemoveOldest,
    CkCount,
    CkClear,
    HistAppend {
        message: String,
    },
    HistGet,
    /// Save the memory of an agent (feature operation, or the profile's path).
    SaveMemory {
        agent: String,
        content: String,
    },
    ReadMemory {
        agent: String,
    },
    /// Save a plan from a title (feature operation).
    SavePlan {
        title: String,
        content: String,
    },
    /// Evict a large tool result under a tool-call id (feature operation, or the profile's path).
    Evict {
        call_id: String,
        content: String,
    },
    Execute {
        command: String,
    },
    /// Close the user's session and open a new one.
    Reopen,
    /// Close the user's session and open a new one presenting the
    /// identifier of `kind` that the app handed to user `owner` (`value`,
    /// filled in by the driver when it runs; `kind` is `#k` until then).
    ReopenPresenting {
        kind: String,
        owner: usize,
        value: String,
    },
}

impl Op {
    pub fn channel(&self) -> Channel {
        use Op::*;
        match self {
            Write { .. }
            | Edit { .. }
            | Read { .. }
            | ReadBytes { .. }
            | Exists { .. }
            | Ls { .. }
            | Glob { .. }
            | Grep { .. } => Channel::Files,
            CkSave { .. }
            | CkGet { .. }
            | CkGetByLabel { .. }
            | CkList
            | CkRemove { .. }
            | CkRemoveOldest
            | CkCount
            | CkClear => Channel::Checkpoints,
            HistAppend { .. } | HistGet => Channel::History,
            SaveMemory { .. } | ReadMemory { .. } | SavePlan { .. } | Evict { .. } | Reopen => {
                Channel::Files
            }
            ReopenPresenting { .. } => Channel::History,
            Execute { .. } => Channel::Execute,
        }
    }

    /// The canary this operation writes, if it writes one.
    pub fn token(&self) -> Option<&str> {
        let text = match self {
            Op::Write { content, .. } => content,
            Op::Edit { new, .. } => new,
            Op::CkSave { checkpoint } => &checkpoint.id,
            Op::HistAppend { message } => message,
            Op::SaveMemory { content, .. }
            | Op::SavePlan { content, .. }
            | Op::Evict { content, .. } => content,
            Op::Execute { command } if command.starts_with("echo ") => command,
            _ => return None,
        };
        canary::scan(text).first().copied()
    }

    /// Whether the operation changes state.
    pub fn mutates(&self) -> bool {
        use Op::*;
        matches!(
            self,
            Write { .. }
                | Edit { .. }
                | CkSave { .. }
                | CkRemove { .. }
                | CkRemoveOldest
                | CkClear
                | HistAppend { .. }
                | SaveMemory { .. }
                | SavePlan { .. }
                | Evict { .. }
                | Execute { .. }
        )
    }

    /// Whether the operation writes a feature's data at a path the subject
    /// chooses and returns.
    pub fn is_feature_write(&self) -> bool {
        matches!(
            self,
            Op::SaveMemory { .. } | Op::SavePlan { .. } | Op::Evict { .. }
        )
    }

    /// What a file operation touches: (normalized path, whether it is a
    /// whole directory tree).
    pub fn scope(&self) -> Option<(String, bool)> {
        match self {
            Op::Ls { path } | Op::Glob { path, .. } | Op::Grep { path, .. } => {
                Some((normalize(path), true))
            }
            // Feature data lives where the subject decides; these pseudo
            // paths make saves of the same memory or call id conflict and
            // every plan save commute with the others (a collision between
            // plan ids is exactly what is tested).
            Op::SaveMemory { agent, .. } | Op::ReadMemory { agent } => {
                Some((format!("/\u{0}memory/{agent}"), false))
            }
            // Crafted at run time from another id's stored name: it may
            // meet any of them.
            Op::Evict { call_id, .. } if call_id == ECHO_CALL_ID => {
                Some(("/\u{0}evicted".to_string(), true))
            }
            Op::Evict { call_id, .. } => {
                Some((normalize(&format!("/\u{0}evicted/{call_id}")), false))
            }
            Op::SavePlan { content, .. } => Some((format!("/\u{0}plans/{content}"), false)),
            _ => self.path().map(|p| (p, false)),
        }
    }

    /// The normalized path an operation names, if any.
    pub fn path(&self) -> Option<String> {
        use Op::*;
        match self {
            Write { path, .. }
            | Edit { path, .. }
            | Read { path }
            | ReadBytes { path }
            | Exists { path } => Some(normalize(path)),
            _ => None,
        }
    }

    /// A one-line description for traces.
    pub fn describe(&self) -> String {
        use Op::*;
        match self {
            Write { path, .. } => format!("write {path}"),
            Edit { path, new, .. } => format!("edit {path} (-> {new:?})"),
            Read { path } => format!("read {path}"),
            ReadBytes { path } => format!("read_bytes {path}"),
            Exists { path } => format!("exists {path}"),
            Ls { path } => format!("ls {path}"),
            Glob { pattern, path } => format!("glob {pattern:?} in {path}"),
            Grep { pattern, path } => format!("grep {pattern:?} in {path}"),
            CkSave { checkpoint } => format!(
                "checkpoint save {} label={}",
                checkpoint.id, checkpoint.label
            ),
            CkGet { id } => format!("checkpoint get {id}"),
            CkGetByLabel { label } => format!("checkpoint get_by_label {label}"),
            CkList => "checkpoint list_all".into(),
            CkRemove { id } => format!("checkpoint remove {id}"),
            CkRemoveOldest => "checkpoint remove_oldest".into(),
            CkCount => "checkpoint count".into(),
            CkClear => "checkpoint clear".into(),
            HistAppend { .. } => "history append".into(),
            HistGet => "history get".into(),
            SaveMemory { agent, .. } => format!("save_memory agent={agent:?}"),
            ReadMemory { agent } => format!("read_memory agent={agent:?}"),
            SavePlan { title, .. } => format!("save_plan title={title:?}"),
            Evict { call_id, .. } => format!("evict call_id={call_id:?}"),
            Execute { command } => format!("execute {command:?}"),
            Reopen => "reopen session".into(),
            ReopenPresenting { kind, owner, value } => {
                format!("reopen session presenting {kind} {value:?} (handed to user #{owner})")
            }
        }
    }
}

/// A concrete case: user ids, then steps; in each step every listed user
/// performs one operation, concurrently with the others. Steps from
/// `sweep_from` on are the closing sweep.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub users: Vec<String>,
    /// Each user's id class (`dot`, `nesting`, ...; see
    /// [`crate::gen::ID_CLASSES`]), `None` for a plain id.
    pub id_classes: Vec<Option<&'static str>>,
    /// Context files seeded once per tenancy before sessions open: (path, content).
    pub seeds: Vec<(String, String)>,
    pub steps: Vec<Vec<(usize, Op)>>,
    pub sweep_from: usize,
}

impl Plan {
    pub fn is_sweep(&self, step: usize) -> bool {
        step >= self.sweep_from
    }

    /// Number of generated (non-sweep) operations.
    pub fn generated_ops(&self) -> usize {
        self.steps[..self.sweep_from].iter().map(Vec::len).sum()
    }
}

fn pick(n: usize, me: usize, d: u8) -> usize {
    if n < 2 {
        me
    } else {
        (me + 1 + d as usize % (n - 1)) % n
    }
}

/// Turns a scenario into a plan, minting canaries from `minter`.
#[allow(clippy::needless_range_loop)] // steps index several per-user tables at once
pub fn materialize(scn: &Scenario, minter: &mut Minter, profile: &Profile) -> Plan {
    let n = scn.users.len();
    let users = materialize_ids(&scn.users.iter().map(|u| u.id).collect::<Vec<_>>());
    let own_paths: Vec<Vec<String>> = (0..n)
        .map(|_| {
            (0..OWN_PATHS)
                .map(|_| format!("/files/f_{}.txt", minter.mint()))
                .collect()
        })
        .collect();
    let steps_n = scn.users.iter().map(|u| u.ops.len()).max().unwrap_or(0);

    // Pass 1: one token per operation, and every user's checkpoint ids.
    let mut tokens = vec![vec![String::new(); steps_n]; n];
    let mut saves: Vec<Vec<String>> = vec![Vec::new(); n];
    for s in 0..steps_n {
        for (u, plan) in scn.users.iter().enumerate() {
            if let Some(op) = plan.ops.get(s) {
                tokens[u][s] = minter.mint();
                if matches!(op, OpSpec::CkSave(_)) {
                    saves[u].push(format!("ck_{}", tokens[u][s]));
                }
            }
        }
    }
    let stale = |minter: &mut Minter| format!("ck_{}", minter.mint());
    let ck_id = |u: usize, r: CkRef, minter: &mut Minter| -> String {
        let (t, k) = match r {
            CkRef::Own(k) => (u, k),
            CkRef::Foreign(d, k) | CkRef::Hostile(d, k) => (pick(n, u, d), k),
        };
        let id = match saves[t].len() {
            0 => stale(minter),
            len => saves[t][k as usize % len].clone(),
        };
        match r {
            CkRef::Hostile(_, k) => match k % 3 {
                0 => format!("../{}/{id}", users[t]),
                1 => format!("/{id}"),
                _ => String::new(),
            },
            _ => id,
        }
    };
    let context = |i: u8| -> String {
        let c = &profile.paths.context;
        if c.is_empty() {
            "/DEEP.md".to_string()
        } else {
            c[i as usize % c.len()].clone()
        }
    };
    let path_of = |u: usize, p: PathSpec| -> String {
        match p {
            PathSpec::Shared(i) => SHARED_PATHS[i as usize % SHARED_PATHS.len()].to_string(),
            PathSpec::Own(k) => own_paths[u][k as usize % own_paths[u].len()].clone(),
            PathSpec::Foreign(d, k) => {
                let t = pick(n, u, d);
                own_paths[t][k as usize % own_paths[t].len()].clone()
            }
            PathSpec::Context(i) => context(i),
        }
    };

    // Pass 2: concrete operations, per user in order.
    let mut created_at = 0u64;
    let mut queues: Vec<Vec<Op>> = vec![Vec::new(); n];
    for s in 0..steps_n {
        for (u, plan) in scn.users.iter().enumerate() {
            let Some(spec) = plan.ops.get(s) else {
                continue;
            };
            let tok = &tokens[u][s];
            let op = match *spec {
                OpSpec::Write(p) => Op::Write {
                    path: path_of(u, p),
                    content: format!("{tok} canary, op {s}\nslot: open\n"),
                },
                OpSpec::Edit(p) => Op::Edit {
                    path: path_of(u, p),
                    old: "slot: open".into(),
                    new: format!("slot: {tok}"),
                },
                OpSpec::Read(p) => Op::Read {
                    path: path_of(u, p),
                },
                OpSpec::ReadBytes(p) => Op::ReadBytes {
                    path: path_of(u, p),
                },
                OpSpec::Exists(p) => Op::Exists {
                    path: path_of(u, p),
                },
                OpSpec::Ls(d) => Op::Ls {
                    path: DIRS[d as usize % DIRS.len()].into(),
                },
                OpSpec::Glob(g) => {
                    let (pattern, path) = GLOBS[g as usize % GLOBS.len()];
                    Op::Glob {
                        pattern: pattern.into(),
                        path: path.into(),
                    }
                }
                OpSpec::Grep(d) => Op::Grep {
                    pattern: canary::PREFIX.into(),
                    path: DIRS[d as usize % DIRS.len()].into(),
                },
                OpSpec::CkSave(l) => {
                    created_at += 1;
                    Op::CkSave {
                        checkpoint: Checkpoint {
                            id: format!("ck_{tok}"),
                            label: LABELS[l as usize % LABELS.len()].into(),
                            turn: s as u64,
                            messages: vec![format!("{tok} checkpoint, op {s}")],
                            created_at,
                        },
                    }
                }
                OpSpec::CkGet(r) => Op::CkGet {
                    id: ck_id(u, r, minter),
                },
                OpSpec::CkGetByLabel(l) => Op::CkGetByLabel {
                    label: LABELS[l as usize % LABELS.len()].into(),
                },
                OpSpec::CkList => Op::CkList,
                OpSpec::CkRemove(r) => Op::CkRemove {
                    id: ck_id(u, r, minter),
                },
                OpSpec::CkRemoveOldest => Op::CkRemoveOldest,
                OpSpec::CkCount => Op::CkCount,
                OpSpec::CkClear => Op::CkClear,
                OpSpec::HistAppend => Op::HistAppend {
                    message: format!("{tok} message, op {s}"),
                },
                OpSpec::HistGet => Op::HistGet,
                OpSpec::SaveMemory(a) => Op::SaveMemory {
                    agent: AGENTS[a as usize % AGENTS.len()].into(),
                    content: format!("{tok} memory, op {s}\n"),
                },
                OpSpec::ReadMemory(a) => Op::ReadMemory {
                    agent: AGENTS[a as usize % AGENTS.len()].into(),
                },
                OpSpec::SavePlan(t) => Op::SavePlan {
                    title: TITLES[t as usize % TITLES.len()].into(),
                    content: format!("# plan\n{tok} plan, op {s}\n"),
                },
                OpSpec::Evict(c) => Op::Evict {
                    call_id: CALL_IDS[c as usize % CALL_IDS.len()].into(),
                    content: format!("{tok} evicted tool result, op {s}\n{}\n", "x".repeat(256)),
                },
                OpSpec::Reopen => Op::Reopen,
                OpSpec::Probe(i) => Op::Execute {
                    command: PROBES[i as usize % PROBES.len()].into(),
                },
                OpSpec::ExecWrite => Op::Execute {
                    command: format!("echo {tok} > \"${{TMPDIR:-/tmp}}/{tok}\""),
                },
                OpSpec::Replay(0, d, via) => {
                    let id = ck_id(u, CkRef::Foreign(d, via / 2), minter);
                    match via % 2 {
                        0 => Op::CkGet { id },
                        _ => Op::CkRemove { id },
                    }
                }
                OpSpec::Replay(kind, d, via) => {
                    let kind = REPLAY_KINDS[kind as usize % REPLAY_KINDS.len()];
                    let path = format!("{REPLAY_MARK}{kind}@{}", pick(n, u, d));
                    match via % 3 {
                        0 => Op::Read { path },
                        1 => Op::ReadBytes { path },
                        _ => Op::Exists { path },
                    }
                }
                OpSpec::PresentAtOpen(k, d) => Op::ReopenPresenting {
                    kind: format!("#{k}"),
                    owner: pick(n, u, d),
                    value: String::new(),
                },
                OpSpec::Harden(i) => Op::Execute {
                    command: super::hardening::command(i as usize, tok, &tokens[u][0]),
                },
            };
            queues[u].push(op);
        }
    }
    let mut steps = if scn.lockstep {
        // Deliberately concurrent: operation i of every user in step i.
        let depth = queues.iter().map(Vec::len).max().unwrap_or(0);
        (0..depth)
            .map(|i| {
                queues
                    .iter()
                    .enumerate()
                    .filter_map(|(u, q)| q.get(i).map(|op| (u, op.clone())))
                    .collect()
            })
            .collect()
    } else if scn.phased {
        // Each user's queue up to its first presentation, then the rest.
        let (mut first, mut then) = (Vec::new(), Vec::new());
        for (u, mut q) in queues.into_iter().enumerate() {
            let at = scn.users[u]
                .ops
                .iter()
                .position(|o| matches!(o, OpSpec::Replay(..) | OpSpec::PresentAtOpen(..)))
                .unwrap_or(q.len())
                .min(q.len());
            then.push(q.split_off(at));
            first.push(q);
        }
        let mut steps = schedule(first);
        steps.extend(schedule(then));
        steps
    } else {
        schedule(queues)
    };
    let seeds: Vec<(String, String)> = if scn.seeded {
        (0..profile.paths.context.len() as u8)
            .map(|i| {
                let path = context(i);
                let content = format!("{} context file {path}, seeded once\n", minter.mint());
                (path, content)
            })
            .collect()
    } else {
        Vec::new()
    };
    let sweep_from = steps.len();
    append_sweep(&mut steps, n, &seeds);
    let id_classes = scn
        .users
        .iter()
        .zip(&users)
        .enumerate()
        .map(|(i, (u, id))| {
            // A spec whose id was taken fell back to the plain name.
            (*id != name(i)).then(|| u.id.class()).flatten()
        })
        .collect();
    Plan {
        users,
        id_classes,
        seeds,
        steps,
        sweep_from,
    }
}

/// Packs per-user operation lists into steps. A user's operations keep
/// their order; an operation joins the current step only if it commutes
/// with every operation already in it *even if the subject shared all its
/// state between users* (see [`conflicts`]); otherwise that user waits a
/// step. Operations in one step run truly concurrently, yet for any
/// linearizable subject the outcome does not depend on their interleaving,
/// so a seed always reproduces the same report.
pub fn schedule(queues: Vec<Vec<Op>>) -> Vec<Vec<(usize, Op)>> {
    let mut queues: Vec<std::collections::VecDeque<Op>> =
        queues.into_iter().map(Into::into).collect();
    let mut steps = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        let mut step: Vec<(usize, Op)> = Vec::new();
        for (u, q) in queues.iter_mut().enumerate() {
            if let Some(op) = q.front() {
                if step.iter().all(|(_, o)| !conflicts(o, op)) {
                    step.push((u, q.pop_front().expect("front exists")));
                }
            }
        }
        steps.push(step);
    }
    steps
}

/// Whether the order of `a` and `b` could matter were both users' state shared.
pub fn conflicts(a: &Op, b: &Op) -> bool {
    let reopen = |o: &Op| matches!(o, Op::Reopen | Op::ReopenPresenting { .. });
    if reopen(a) || reopen(b) {
        return false;
    }
    // A command may read and write anything: it commutes only with reads.
    if matches!(a, Op::Execute { .. }) || matches!(b, Op::Execute { .. }) {
        return a.mutates() && b.mutates();
    }
    if a.channel() != b.channel() || (!a.mutates() && !b.mutates()) {
        return false;
    }
    match (a.channel(), a.scope(), b.scope()) {
        (Channel::Files, Some((pa, da)), Some((pb, db))) => match (da, db) {
            // A path and its ancestors conflict: writing one can make writing the other fail.
            (false, false) => is_under(&pa, &pb) || is_under(&pb, &pa),
            (true, false) => is_under(&pb, &pa),
            (false, true) => is_under(&pa, &pb),
            (true, true) => is_under(&pa, &pb) || is_under(&pb, &pa),
        },
        _ => true,
    }
}

/// The closing sweep: after a barrier, every user observes everything it
/// could see through each channel the case used.
fn append_sweep(steps: &mut Vec<Vec<(usize, Op)>>, n: usize, seeds: &[(String, String)]) {
    let all: Vec<&Op> = steps.iter().flatten().map(|(_, op)| op).collect();
    let used = |c: Channel| all.iter().any(|op| op.channel() == c);
    let mut written: Vec<BTreeSet<String>> = vec![BTreeSet::new(); n];
    for (u, op) in steps.iter().flatten() {
        if let Op::Write { .. } | Op::Edit { .. } = op {
            written[*u].insert(op.path().unwrap_or_default());
        }
    }
    let mut any_written: BTreeSet<String> = written.iter().flatten().cloned().collect();
    any_written.extend(seeds.iter().map(|(p, _)| normalize(p)));
    let agents: BTreeSet<String> = all
        .iter()
        .filter_map(|op| match op {
            Op::SaveMemory { agent, .. } => Some(agent.clone()),
            _ => None,
        })
        .collect();
    let labels: BTreeSet<String> = all
        .iter()
        .filter_map(|op| match op {
            Op::CkSave { checkpoint } => Some(checkpoint.label.clone()),
            _ => None,
        })
        .collect();
    let ids: BTreeSet<String> = all
        .iter()
        .filter_map(|op| match op {
            Op::CkSave { checkpoint } => Some(checkpoint.id.clone()),
            _ => None,
        })
        .collect();

    let mut per_user: Vec<Vec<Op>> = vec![Vec::new(); n];
    for (u, list) in per_user.iter_mut().enumerate() {
        if used(Channel::Files) {
            list.push(Op::Glob {
                pattern: "**/*".into(),
                path: "/".into(),
            });
            list.push(Op::Grep {
                pattern: canary::PREFIX.into(),
                path: "/".into(),
            });
            list.push(Op::Ls { path: "/".into() });
            for p in &any_written {
                list.push(Op::Read { path: p.clone() });
                if !written[u].contains(p) {
                    list.push(Op::Exists { path: p.clone() });
                }
            }
            list.extend(agents.iter().map(|a| Op::ReadMemory { agent: a.clone() }));
        }
        if used(Channel::Execute) {
            list.extend(PROBES.iter().map(|c| Op::Execute {
                command: c.to_string(),
            }));
        }
        if used(Channel::Checkpoints) {
            list.push(Op::CkList);
            list.push(Op::CkCount);
            list.extend(labels.iter().map(|l| Op::CkGetByLabel { label: l.clone() }));
            list.extend(ids.iter().map(|id| Op::CkGet { id: id.clone() }));
        }
        if used(Channel::History) {
            list.push(Op::HistGet);
        }
    }
    let depth = per_user.iter().map(Vec::len).max().unwrap_or(0);
    for j in 0..depth {
        steps.push(
            per_user
                .iter()
                .enumerate()
                .filter_map(|(u, l)| l.get(j).map(|op| (u, op.clone())))
                .collect(),
        );
    }
}
