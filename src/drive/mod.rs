//! Executes a [`Plan`] against a subject and records a [`History`].
//!
//! Sessions are opened concurrently; then, step by step, every user's
//! operation of that step runs as its own tokio task and the step is joined
//! before the next begins. The join is a barrier: whatever a user observes
//! at step `s` can be judged against everything written before `s`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

pub mod listener;

use crate::gen::{Op, Plan, ECHO_CALL_ID, REPLAY_MARK};
use crate::profile::Profile;
use crate::subject::*;

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "kebab-case")]
pub enum Obs {
    Unit,
    Text(String),
    Entries(Vec<FileInfo>),
    Matches(Vec<GrepMatch>),
    Bool(bool),
    Edited(usize),
    Checkpoint(Option<Checkpoint>),
    Checkpoints(Vec<Checkpoint>),
    Count(usize),
    Messages(Vec<String>),
    Exec(ExecResult),
    /// The path a feature operation wrote.
    Path(String),
}

/// One recorded operation.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub step: usize,
    pub user: usize,
    pub op: Op,
    pub outcome: Result<Obs, SubjectError>,
}

/// Everything one case did and saw.
#[derive(Clone, Debug, Serialize)]
pub struct History {
    pub plan: Plan,
    /// `Some(error)` for users whose session could not be opened.
    pub refused: Vec<Option<SubjectError>>,
    /// In (step, user) order.
    pub entries: Vec<Entry>,
    /// What the harness's listener received (sandbox-hardening's network probe).
    pub listener: listener::Listened,
}

/// A failure that stops the run: the subject can no longer be judged.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub String);

/// Options of the driver.
#[derive(Clone, Debug)]
pub struct DriveConfig {
    /// Longest a single operation (or session open) may take.
    pub op_timeout: Duration,
    /// Where features live when the subject offers no feature operations.
    pub profile: Arc<Profile>,
    /// The kinds of identifier the subject hands to users at open.
    pub identifiers: Vec<String>,
    /// Whether a step's operations are polled by the case's own task
    /// rather than spawned as a task each: for in-process subjects whose
    /// cases run at the same time (the other cases keep the cores busy).
    pub one_task: bool,
}

impl Default for DriveConfig {
    fn default() -> Self {
        Self {
            op_timeout: Duration::from_secs(30),
            profile: Arc::new(Profile::default()),
            identifiers: Vec::new(),
            one_task: false,
        }
    }
}

/// Performs one operation on a session. Feature operations go to the
/// subject's own [`Features`] when it offers them, else to the profile's
/// paths on the backend.
pub async fn exec(session: &Session, op: &Op, profile: &Profile) -> SubjectResult<Obs> {
    let b = &session.backend;
    let ck = || {
        session
            .checkpoints
            .clone()
            .ok_or_else(|| SubjectError::Unsupported("checkpoints".into()))
    };
    let hist = || {
        session
            .history
            .clone()
            .ok_or_else(|| SubjectError::Unsupported("history".into()))
    };
    let unsupported = |e: &SubjectError| matches!(e, SubjectError::Unsupported(_));
    Ok(match op {
        Op::Write { path, content } => b.write(path, content).await.map(|_| Obs::Unit)?,
        Op::Edit { path, old, new } => Obs::Edited(b.edit(path, old, new, false).await?),
        Op::Read { path } => Obs::Text(b.read(path, 0, 2000).await?),
        Op::ReadBytes { path } => {
            Obs::Text(String::from_utf8_lossy(&b.read_bytes(path).await?).into_owned())
        }
        Op::Exists { path } => Obs::Bool(b.exists(path).await?),
        Op::Ls { path } => Obs::Entries(b.ls_info(path).await?),
        Op::Glob { pattern, path } => Obs::Entries(b.glob_info(pattern, path).await?),
        Op::Grep { pattern, path } => Obs::Matches(b.grep_raw(pattern, Some(path), None).await?),
        Op::CkSave { checkpoint } => ck()?.save(checkpoint.clone()).await.map(|_| Obs::Unit)?,
        Op::CkGet { id } => Obs::Checkpoint(ck()?.get(id).await?),
        Op::CkGetByLabel { label } => Obs::Checkpoint(ck()?.get_by_label(label).await?),
        Op::CkList => Obs::Checkpoints(ck()?.list_all().await?),
        Op::CkRemove { id } => Obs::Bool(ck()?.remove(id).await?),
        Op::CkRemoveOldest => Obs::Bool(ck()?.remove_oldest().await?),
        Op::CkCount => Obs::Count(ck()?.count().await?),
        Op::CkClear => ck()?.clear().await.map(|_| Obs::Unit)?,
        Op::HistAppend { message } => hist()?.append(message).await.map(|_| Obs::Unit)?,
        Op::HistGet => Obs::Messages(hist()?.get().await?),
        Op::SaveMemory { agent, content } => {
            if let Some(f) = &session.features {
                match f.save_memory(agent, content).await {
                    Err(e) if unsupported(&e) => {}
                    r => return r.map(Obs::Path),
                }
            }
            let path = profile.memory_path(agent);
            b.write(&path, content).await?;
            Obs::Path(path)
        }
        Op::ReadMemory { agent } => {
            if let Some(f) = &session.features {
                match f.read_memory(agent).await {
                    Err(e) if unsupported(&e) => {}
                    r => {
                        return r?.map(Obs::Text).ok_or_else(|| {
                            SubjectError::NotFound(format!("memory of agent {agent:?}"))
                        })
                    }
                }
            }
            let bytes = b.read_bytes(&profile.memory_path(agent)).await?;
            Obs::Text(String::from_utf8_lossy(&bytes).into_owned())
        }
        Op::SavePlan { title, content } => match &session.features {
            Some(f) => Obs::Path(f.save_plan(title, content).await?),
            None => return Err(SubjectError::Unsupported("save_plan".into())),
        },
        Op::Evict { call_id, content } => {
            if let Some(f) = &session.features {
                match f.evict(call_id, content).await {
                    Err(e) if unsupported(&e) => {}
                    r => return r.map(Obs::Path),
                }
            }
            let path = profile.evicted_path(call_id);
            b.write(&path, content).await?;
            Obs::Path(path)
        }
        Op::Execute { command } => {
            Obs::Exec(b.execute(command, Some(Duration::from_secs(10))).await?)
        }
        Op::Reopen | Op::ReopenPresenting { .. } => {
            return Err(SubjectError::Failed(
                "reopen is performed by the driver".into(),
            ))
        }
    })
}

/// A task's result, or the fatal error its panic or cancellation is.
pub fn joined<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, Fatal> {
    r.map_err(|e| {
        if e.is_panic() {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Fatal(format!("the subject panicked: {msg}"))
        } else {
            Fatal(format!("a subject task was cancelled: {e}"))
        }
    })
}

/// The identifier of `kind` last handed to `owner` by an operation's
/// answer: the path its plan, evicted result or memory was saved at.
fn handed_path(kind: &str, owner: usize, entries: &[Entry]) -> Option<String> {
    entries
        .iter()
        .rev()
        .find_map(|e| match (&e.op, &e.outcome) {
            (op, Ok(Obs::Path(p))) if e.user == owner && replay_kind_of(op) == Some(kind) => {
                Some(p.clone())
            }
            _ => None,
        })
}

/// The identifier kind a feature write hands to its user (its path).
pub fn replay_kind_of(op: &Op) -> Option<&'static str> {
    match op {
        Op::SavePlan { .. } => Some("plan-path"),
        Op::Evict { .. } => Some("evicted-path"),
        Op::SaveMemory { .. } => Some("memory-path"),
        _ => None,
    }
}

/// What the driver knows when it crafts an operation.
struct Known<'a> {
    entries: &'a [Entry],
    /// Identifiers the app handed to each user at its last open.
    handed: &'a [Identifiers],
    /// The subject's identifier kinds.
    kinds: &'a [String],
}

/// `op` with what the subject answered before filled in: an id crafted
/// from a stored name (see [`ECHO_CALL_ID`]), an identifier handed to
/// another user (see [`REPLAY_MARK`], [`Op::ReopenPresenting`]); other
/// operations as they are. `None`: the identifier to present was never
/// handed out, so the operation is not performed.
fn crafted(op: &Op, user: usize, known: &Known) -> Option<Op> {
    let entries = known.entries;
    // A path handed to another user, named by its mark until now.
    let mark = match op {
        Op::Read { path } | Op::ReadBytes { path } | Op::Exists { path } => {
            path.strip_prefix(REPLAY_MARK)
        }
        _ => None,
    };
    if let Some(mark) = mark {
        let (kind, owner) = mark.rsplit_once('@')?;
        let path = handed_path(kind, owner.parse().ok()?, entries)?;
        return Some(match op {
            Op::Read { .. } => Op::Read { path },
            Op::ReadBytes { .. } => Op::ReadBytes { path },
            _ => Op::Exists { path },
        });
    }
    Some(match op {
        Op::ReopenPresenting { kind, owner, .. } => {
            let k: usize = kind.strip_prefix('#').unwrap_or(kind).parse().unwrap_or(0);
            let kind = known.kinds.get(k % known.kinds.len().max(1))?;
            let value = known.handed.get(*owner)?.get(kind)?;
            Op::ReopenPresenting {
                kind: kind.clone(),
                owner: *owner,
                value: value.clone(),
            }
        }
        Op::Evict { call_id, content } if call_id == ECHO_CALL_ID => {
            let stored = entries
                .iter()
                .rev()
                .find_map(|e| match (&e.op, &e.outcome) {
                    (Op::Evict { call_id, .. }, Ok(Obs::Path(p))) if e.user == user => {
                        let name = p.rsplit('/').next().unwrap_or_default();
                        (!name.is_empty() && name != call_id).then(|| name.to_string())
                    }
                    _ => None,
                });
            Op::Evict {
                call_id: stored.unwrap_or_else(|| "a_b".to_string()),
                content: content.clone(),
            }
        }
        _ => op.clone(),
    })
}

/// One operation of a step, with what performing it needs.
struct Perform {
    step: usize,
    user: usize,
    /// As planned (and recorded).
    op: Op,
    /// What is run instead, if the listener's port was put in.
    run: Option<Op>,
    session: Session,
    tenancy: Arc<dyn Tenancy>,
    id: String,
    profile: Arc<Profile>,
}

/// A performed operation: its entry and, for a reopen, the new session.
type Done = (Entry, Option<(Session, Identifiers)>);

impl Perform {
    async fn go(self) -> Done {
        let Perform {
            step,
            user,
            op,
            run,
            session,
            tenancy,
            id,
            profile,
        } = self;
        let r = match &op {
            // A new session for the same user: what a returning user gets.
            Op::Reopen => tenancy
                .open_presenting(&id, None)
                .await
                .map(|s| (Obs::Unit, Some(s))),
            Op::ReopenPresenting { kind, value, .. } => tenancy
                .open_presenting(&id, Some((kind, value)))
                .await
                .map(|s| (Obs::Unit, Some(s))),
            _ => exec(&session, run.as_ref().unwrap_or(&op), &profile)
                .await
                .map(|o| (o, None)),
        };
        let (outcome, reopened) = match r {
            Ok((obs, s)) => (Ok(obs), s),
            Err(e) => (Err(e), None),
        };
        let entry = Entry {
            step,
            user,
            op,
            outcome,
        };
        (entry, reopened)
    }
}

/// Performs a step's operations at the same time, each as a task of its
/// own or (`one_task`) all polled by the case's task, and waits for all
/// of them until one deadline: `limit` from the step's start, the longest
/// any of them may take. A fatal answer, or an operation still running at
/// the deadline (`Late`, with the users whose operations were), ends
/// the case.
async fn run_step(ops: Vec<Perform>, limit: Duration, one_task: bool) -> Result<Vec<Done>, Late> {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let deadline = tokio::time::Instant::now() + limit;
    let users: Vec<usize> = ops.iter().map(|p| p.user).collect();
    let mut done: Vec<Done> = Vec::with_capacity(ops.len());
    let fatal = |e: &Entry| match &e.outcome {
        Err(err) if err.is_fatal() => Some(Fatal(format!(
            "{} by user #{}: {err}",
            e.op.describe(),
            e.user
        ))),
        _ => None,
    };
    let finished = if one_task {
        let mut futs: FuturesUnordered<_> = ops.into_iter().map(Perform::go).collect();
        tokio::time::timeout_at(deadline, async {
            while let Some(d) = futs.next().await {
                if let Some(f) = fatal(&d.0) {
                    return Err(f);
                }
                done.push(d);
            }
            Ok(())
        })
        .await
    } else {
        let mut tasks = JoinSet::new();
        for p in ops {
            tasks.spawn(p.go());
        }
        tokio::time::timeout_at(deadline, async {
            while let Some(r) = tasks.join_next().await {
                let d = joined(r)?;
                if let Some(f) = fatal(&d.0) {
                    return Err(f);
                }
                done.push(d);
            }
            Ok(())
        })
        .await
    };
    match finished {
        Ok(r) => r.map(|()| done).map_err(Late::Fatal),
        Err(_) => Err(Late::Users(
            users
                .into_iter()
                .filter(|u| !done.iter().any(|(e, _)| e.user == *u))
                .collect(),
        )),
    }
}

/// Why a step ended the case.
enum Late {
    Fatal(Fatal),
    /// These users' operations were still running at the deadline.
    Users(Vec<usize>),
}

/// Runs `plan` on `tenancy`. Fatal subject errors (crash, timeout, panic)
/// end the case with [`Fatal`]; every other answer is recorded.
pub async fn drive(
    tenancy: Arc<dyn Tenancy>,
    plan: Plan,
    cfg: &DriveConfig,
) -> Result<History, Fatal> {
    let n = plan.users.len();
    let limit = cfg.op_timeout;
    for (path, content) in &plan.seeds {
        match tokio::time::timeout(limit, tenancy.seed_context(path, content)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(Fatal(format!(
                    "seeding the context file {path} failed: {e}"
                )))
            }
            Err(_) => return Err(Fatal(format!("seeding {path} took longer than {limit:?}"))),
        }
    }
    let mut opens = JoinSet::new();
    for (u, id) in plan.users.iter().enumerate() {
        let (t, id) = (tenancy.clone(), id.clone());
        opens.spawn(async move {
            let r = match tokio::time::timeout(limit, t.open_presenting(&id, None)).await {
                Ok(r) => r,
                Err(_) => Err(SubjectError::Timeout(format!(
                    "open({id:?}) took longer than {limit:?}"
                ))),
            };
            (u, r)
        });
    }
    let mut sessions: Vec<Option<Session>> = vec![None; n];
    let mut handed: Vec<Identifiers> = vec![Identifiers::new(); n];
    let mut refused: Vec<Option<SubjectError>> = vec![None; n];
    while let Some(r) = opens.join_next().await {
        let (u, r) = joined(r)?;
        match r {
            Ok((s, ids)) => {
                sessions[u] = Some(s);
                handed[u] = ids;
            }
            Err(e) if e.is_fatal() => return Err(Fatal(format!("opening a session failed: {e}"))),
            Err(e) => refused[u] = Some(e),
        }
    }

    let (port, mut listened) = listener::for_plan(&plan).await;
    let mut entries = Vec::new();
    for (s, step) in plan.steps.iter().enumerate() {
        let mut ops = Vec::with_capacity(step.len());
        for (u, op) in step {
            let Some(session) = sessions[*u].clone() else {
                continue;
            };
            let known = Known {
                entries: &entries,
                handed: &handed,
                kinds: &cfg.identifiers,
            };
            let Some(op) = crafted(op, *u, &known) else {
                continue;
            };
            // Run with the listener's port; recorded as planned.
            let run = port.as_ref().and_then(|l| l.craft(&op));
            ops.push(Perform {
                step: s,
                user: *u,
                op,
                run,
                session,
                tenancy: tenancy.clone(),
                id: plan.users[*u].clone(),
                profile: cfg.profile.clone(),
            });
        }
        let mut done = match run_step(ops, limit, cfg.one_task).await {
            Ok(done) => done,
            Err(Late::Fatal(f)) => return Err(f),
            Err(Late::Users(late)) => {
                // The first operation, in user order, that had not finished.
                let user = late.into_iter().min().unwrap_or_default();
                let what = step
                    .iter()
                    .find(|(u, _)| *u == user)
                    .map(|(_, op)| op.describe())
                    .unwrap_or_default();
                let err = SubjectError::Timeout(format!("{what} took longer than {limit:?}"));
                return Err(Fatal(format!("{what} by user #{user}: {err}")));
            }
        };
        for (e, reopened) in &mut done {
            if let Some((session, ids)) = reopened.take() {
                sessions[e.user] = Some(session);
                handed[e.user] = ids;
            }
        }
        done.sort_by_key(|(e, _)| e.user);
        entries.extend(done.into_iter().map(|(e, _)| e));
    }
    if let Some(l) = port {
        listened.receipts = l.finish();
    }
    Ok(History {
        plan,
        refused,
        entries,
        listener: listened,
    })
}
