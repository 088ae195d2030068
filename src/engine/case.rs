//! One case, start to verdict: a fresh tenancy, the plan driven against
//! it, the history judged by the family; and batches of cases run at the
//! same time when the subject's tenancies are independent of one another.
//!
//! A batch is a few cases ([`RunConfig::concurrent_cases`], fewer with
//! many users), drawn and materialized in order, their tenancies created
//! in order (a factory may number them), then driven and judged on the
//! runtime's workers while the next batch is drawn. The search takes the
//! results in order and stops at the first case that shows something new,
//! restoring where it stood after that case, as a sequential search would;
//! the cases after it ran but count for nothing. So the report is the one
//! a case at a time gives, whatever the batch size or the timing
//! (tests/concurrent_cases.rs).
//!
//! [`RunConfig::concurrent_cases`]: super::RunConfig::concurrent_cases

use std::sync::Arc;

use super::{redact_paths, subject_error, Engine, Eval, ERROR_CHARS};
use crate::canary::Minter;
use crate::check::{cause, CheckCtx, CheckOptions, Coverage, Family};
use crate::drive::{drive, DriveConfig, Fatal, History};
use crate::gen::{display_id, materialize, Plan, Scenario};
use crate::subject::{Capabilities, SubjectFactory, Tenancy};

/// What judging a history needs, owned, so a case can be judged on the
/// worker that drove it.
struct Judge {
    fam: &'static dyn Family,
    options: CheckOptions,
    caps: Capabilities,
    drive: DriveConfig,
}

impl Judge {
    fn eval(&self, history: History) -> Eval {
        let mut violations = Vec::new();
        let mut coverage = Coverage::default();
        let ctx = CheckCtx {
            options: &self.options,
            caps: &self.caps,
            profile: &self.drive.profile,
        };
        self.fam
            .check(&history, &ctx, &mut violations, &mut coverage);
        let causes = violations.iter().map(|v| cause::of(&history, v)).collect();
        let raw = violations
            .iter()
            .map(|v| cause::surface(&history, v))
            .collect();
        Eval {
            history,
            violations,
            causes,
            raw,
            coverage,
        }
    }
}

/// Drives `plan` on `tenancy` (or the error creating it), shuts the
/// tenancy down and judges the history.
async fn one(
    tenancy: Result<Box<dyn Tenancy>, crate::subject::SubjectError>,
    plan: Plan,
    judge: Arc<Judge>,
) -> Result<Eval, Fatal> {
    let tenancy: Arc<dyn Tenancy> = match tenancy {
        Ok(t) => Arc::from(t),
        Err(e) => return Err(Fatal(format!("creating the subject failed: {e}"))),
    };
    let h = drive(tenancy.clone(), plan, &judge.drive).await;
    let down = tenancy.shutdown().await;
    let h = h?;
    down.map_err(|e| Fatal(format!("shutting the subject down failed: {e}")))?;
    Ok(judge.eval(h))
}

/// Cases started on the runtime's workers. Dropped unfinished (a batch
/// drawn ahead that a finding made moot, or a fatal error), its cases are
/// aborted: their tenancies are independent and in memory.
/// A single case is not started ahead: it is driven by this thread when
/// waited for, as a subject whose cases run one at a time needs.
pub(super) enum Running {
    Started(Vec<tokio::task::JoinHandle<Result<Eval, Fatal>>>),
    One(&'static dyn Family, Option<Plan>),
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Running::Started(tasks) = self {
            for t in tasks.iter() {
                t.abort();
            }
        }
    }
}

impl Engine<'_> {
    /// Whether cases may run at the same time: the subject's tenancies
    /// are independent and more than one case is allowed.
    pub(super) fn concurrent(&self) -> bool {
        self.factory.independent_tenancies() && self.cfg.concurrent_cases > 1
    }

    /// How many cases a batch has: when cases may run at the same time,
    /// the configured number, fewer with many users (about 64 users'
    /// sessions and histories per batch, two batches in flight, keep 64
    /// users under 100 MB); else one. The report does not depend on it.
    pub(super) fn batch_size(&self) -> usize {
        if !self.concurrent() {
            return 1;
        }
        let users = self.gen.users.unwrap_or(8).max(1);
        (64 / users).clamp(1, self.cfg.concurrent_cases)
    }

    /// Materializes scenario `scn` with `minter` and evaluates it.
    pub(super) fn eval(
        &mut self,
        fam: &'static dyn Family,
        scn: &Scenario,
        minter: &mut Minter,
    ) -> Result<Eval, Fatal> {
        let plan = materialize(scn, minter, &self.cfg.drive.profile);
        let ev = self.run_cases(fam, vec![plan]).pop().expect("one result");
        let ev = ev?;
        self.record(&ev.history);
        Ok(ev)
    }

    /// Runs `plans` as cases at the same time, one tenancy each, and
    /// returns their evaluations in order. Nothing is recorded in the
    /// summary: the caller [`record`](Self::record)s the ones it takes.
    pub(super) fn run_cases(
        &self,
        fam: &'static dyn Family,
        plans: Vec<Plan>,
    ) -> Vec<Result<Eval, Fatal>> {
        if plans.len() == 1 {
            // One case: driven by this thread, no task of its own.
            let judge = self.judge(fam);
            let factory = self.factory.clone();
            let plan = plans.into_iter().next().expect("one plan");
            return vec![self
                .rt
                .block_on(async move { one(factory.create().await, plan, judge).await })];
        }
        let running = self.start_cases(fam, plans);
        self.finish(running)
    }

    fn judge(&self, fam: &'static dyn Family) -> Arc<Judge> {
        Arc::new(Judge {
            fam,
            options: self.cfg.options.clone(),
            caps: self.caps.clone(),
            drive: self.drive.clone(),
        })
    }

    /// Starts `plans` as cases on the runtime's workers, their tenancies
    /// created in order (a factory may number them), and returns at once.
    pub(super) fn start_cases(&self, fam: &'static dyn Family, mut plans: Vec<Plan>) -> Running {
        if plans.len() == 1 && !self.concurrent() {
            return Running::One(fam, plans.pop());
        }
        let judge = self.judge(fam);
        let factory: Arc<dyn SubjectFactory> = self.factory.clone();
        let tasks = self.rt.block_on(async move {
            let mut tasks = Vec::with_capacity(plans.len());
            for plan in plans {
                let t = factory.create().await;
                tasks.push(tokio::spawn(one(t, plan, judge.clone())));
            }
            tasks
        });
        Running::Started(tasks)
    }

    /// Waits for the cases of `running`: their evaluations, in order.
    pub(super) fn finish(&self, mut running: Running) -> Vec<Result<Eval, Fatal>> {
        let tasks = match &mut running {
            Running::Started(tasks) => std::mem::take(tasks),
            Running::One(fam, plan) => {
                return self.run_cases(*fam, plan.take().into_iter().collect());
            }
        };
        self.rt.block_on(async move {
            let mut out = Vec::with_capacity(tasks.len());
            for t in tasks {
                out.push(crate::drive::joined(t.await).and_then(|r| r));
            }
            out
        })
    }

    /// Counts a case the search takes: its operations, the subject errors
    /// it met and the user ids the subject refused.
    pub(super) fn record(&mut self, history: &History) {
        self.summary.operations += history.entries.len();
        for e in &history.entries {
            let Some(err) = subject_error(e) else {
                continue;
            };
            self.summary.subject_errors += 1;
            // One entry per operation and error, whatever id and path it names.
            let raw = &history.plan.users[e.user];
            let mut text = err.to_string();
            if raw.len() > 2 {
                text = text.replace(raw.as_str(), "<id>");
            }
            let mut text = redact_paths(&text);
            if let Some((cut, _)) = text.char_indices().nth(ERROR_CHARS) {
                text.truncate(cut);
                text.push('…');
            }
            let describe = e.op.describe();
            let op = describe.split_whitespace().next().unwrap_or_default();
            *self.errors.entry((op.to_string(), text)).or_default() += 1;
        }
        for (u, r) in history.refused.iter().enumerate() {
            if let Some(err) = r {
                // One refusal per error, whatever id and path it names.
                let raw = &history.plan.users[u];
                let mut text = err.to_string();
                if raw.len() > 2 {
                    text = text.replace(raw.as_str(), "<id>");
                }
                let ids = self.refusals.entry(redact_paths(&text)).or_default();
                let id = display_id(raw);
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
}
