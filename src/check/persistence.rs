//! persistence (checklist C4: memory persistence matches the chosen pattern)
//!
//! What it checks: users save memory and checkpoints, then their session
//! is closed and reopened (a returning user), and they read memory and list
//! checkpoints again. The result is compared with the pattern the app is
//! meant to have: `--expect-persistence ephemeral` (the guide's Pattern A:
//! nothing survives) or `persistent` (Patterns B and C: memory and
//! checkpoints survive), by default what the subject declares. A mismatch
//! either way is a finding (C4), and so is a backend that refuses the
//! profile's memory path, so that memory is silently never stored.
//!
//! Why it matters: an app that recreates its checkpoint store or backend on
//! every request loses every user's memory without an error; one that was
//! meant to be ephemeral but keeps state keeps it for the next user of the
//! same id.
//!
//! Fix: choose the pattern on purpose; keep stores that must persist
//! outside the request (per user), and those that must not inside it.

use std::collections::HashMap;

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, CheckCtx, CheckOptions, Coverage, Family, Violation};
use crate::canary;
use crate::drive::{History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario};
use crate::report::Kind;
use crate::subject::{Capabilities, Persistence, SubjectError};

pub struct PersistenceFamily;

fn expected(caps: &Capabilities, options: &CheckOptions) -> Option<Persistence> {
    options.expect_persistence.or(caps.persistence)
}

#[derive(Default)]
struct UserState {
    /// Saved in an earlier session: agent -> canary; checkpoint ids.
    memory_before: HashMap<String, String>,
    ck_before: Vec<String>,
    /// Saved in the current session.
    memory_now: HashMap<String, String>,
    ck_now: Vec<String>,
}

impl Family for PersistenceFamily {
    fn name(&self) -> &'static str {
        "persistence"
    }
    doc_from_file!("persistence.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C4"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Reopen]
    }
    fn applicable(&self, caps: &Capabilities, options: &CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")?;
        super::needs(
            expected(caps, options).is_some(),
            "the subject declares no persistence pattern: give --expect-persistence",
        )
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::persistence_ops())
    }
    fn check(&self, h: &History, ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        super::oracle::judge(h, out, cov);
        let Some(want) = expected(ctx.caps, ctx.options) else {
            return;
        };
        let persistent = want == Persistence::Persistent;
        let mut users: Vec<UserState> = (0..h.plan.users.len())
            .map(|_| UserState::default())
            .collect();
        for (i, e) in h.entries.iter().enumerate() {
            let u = &mut users[e.user];
            match (&e.op, &e.outcome) {
                (Op::SaveMemory { agent, content }, Ok(_)) => {
                    if let Some(t) = canary::scan(content).first() {
                        u.memory_now.insert(agent.clone(), t.to_string());
                        u.memory_before.remove(agent);
                    }
                }
                (Op::SaveMemory { agent, .. }, Err(err))
                    if !matches!(
                        err,
                        SubjectError::NotFound(_) | SubjectError::Unsupported(_)
                    ) =>
                {
                    let detail = format!("the subject refused to store the memory of agent {agent:?} ({err}): memory is silently never kept");
                    out.push(Violation::at(h, i, Kind::Persistence, None, detail));
                }
                (Op::CkSave { checkpoint }, Ok(_)) => u.ck_now.push(checkpoint.id.clone()),
                (Op::Reopen, Ok(_)) => {
                    let now = std::mem::take(&mut u.memory_now);
                    u.memory_before.extend(now);
                    let now = std::mem::take(&mut u.ck_now);
                    u.ck_before.extend(now);
                }
                (Op::ReadMemory { agent }, outcome) => {
                    let Some(tok) = u.memory_before.get(agent) else {
                        continue;
                    };
                    let kept = matches!(outcome, Ok(Obs::Text(t)) if t.contains(tok.as_str()));
                    if matches!(outcome, Err(e) if !matches!(e, SubjectError::NotFound(_))) {
                        continue;
                    }
                    if kept != persistent {
                        let detail = if persistent {
                            format!("the memory of agent {agent:?} did not survive reopening the session (expected: persistent)")
                        } else {
                            format!("the memory of agent {agent:?} survived reopening the session (expected: ephemeral)")
                        };
                        out.push(Violation::at(h, i, Kind::Persistence, None, detail));
                    }
                }
                (Op::CkList, Ok(Obs::Checkpoints(cs))) => {
                    for id in &u.ck_before {
                        let kept = cs.iter().any(|c| &c.id == id);
                        if kept != persistent {
                            let detail = if persistent {
                                format!("checkpoint {id} did not survive reopening the session (expected: persistent)")
                            } else {
                                format!("checkpoint {id} survived reopening the session (expected: ephemeral)")
                            };
                            out.push(Violation::at(h, i, Kind::Persistence, None, detail));
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
