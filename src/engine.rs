//! The run loop: for each selected family, generate cases with proptest,
//! drive each against a fresh tenancy, judge the history, and on a failure
//! shrink it to a minimal case. The search then goes on (in a new round)
//! for problems of a kind not yet found, so one run reports every distinct
//! kind of leak rather than the first only.
//!
//! Everything is derived from the seed: the same seed, options and subject
//! give the same report, byte for byte.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

use crate::canary::Minter;
use crate::check::{CheckCtx, CheckOptions, Coverage, Family, Violation};
use crate::drive::{drive, DriveConfig, Fatal, History, Obs};
use crate::gen::{display_id, materialize, Channel, GenConfig, Scenario};
use crate::report::*;
use crate::subject::{SubjectError, SubjectFactory};

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The subject's name as given on the command line (for reports).
    pub subject: String,
    pub seed: u64,
    /// Generated cases per family and round.
    pub cases: usize,
    pub gen: GenConfig,
    pub drive: DriveConfig,
    /// Families to run, by name (empty: all).
    pub scenarios: Vec<String>,
    /// Re-runs allowed while shrinking one failure.
    pub max_shrink_runs: usize,
    /// Search rounds per family (each can add findings of a new kind).
    pub max_rounds: usize,
    /// Extra command-line words that reproduce the run (`--users 3`).
    pub replay_args: Vec<String>,
    /// Thresholds and expectations some families judge against.
    pub options: CheckOptions,
}

impl RunConfig {
    pub fn new(subject: impl Into<String>, seed: u64) -> Self {
        Self {
            subject: subject.into(),
            seed,
            cases: 256,
            gen: GenConfig::default(),
            drive: DriveConfig::default(),
            scenarios: Vec::new(),
            max_shrink_runs: 2000,
            max_rounds: 8,
            replay_args: Vec::new(),
            options: CheckOptions::default(),
        }
    }
}

struct Eval {
    history: History,
    violations: Vec<Violation>,
    coverage: Coverage,
}

type Key = (&'static str, Kind);

fn key(v: &Violation) -> Key {
    (v.checklist(), v.kind)
}

struct Engine<'a> {
    rt: tokio::runtime::Runtime,
    factory: Arc<dyn SubjectFactory>,
    cfg: &'a RunConfig,
    summary: Summary,
    caps: crate::subject::Capabilities,
    /// error -> refused ids (printable), in first-seen order per error
    refusals: std::collections::BTreeMap<String, Vec<String>>,
}

fn rng_for(seed: u64, family: &str, round: usize) -> TestRng {
    let digest = Sha256::digest(format!("isocheck:{seed}:{family}:{round}").as_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &digest)
}

fn minter_for(seed: u64, family: &str) -> Minter {
    let digest = Sha256::digest(format!("isocheck-canary:{seed}:{family}").as_bytes());
    Minter::new(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")))
}

impl Engine<'_> {
    fn eval(
        &mut self,
        fam: &dyn Family,
        scn: &Scenario,
        minter: &mut Minter,
    ) -> Result<Eval, Fatal> {
        let plan = materialize(scn, minter, &self.cfg.drive.profile);
        let factory = self.factory.clone();
        let drive_cfg = self.cfg.drive.clone();
        let history = self.rt.block_on(async move {
            let tenancy: Arc<dyn crate::subject::Tenancy> = match factory.create().await {
                Ok(t) => Arc::from(t),
                Err(e) => return Err(Fatal(format!("creating the subject failed: {e}"))),
            };
            let h = drive(tenancy.clone(), plan, &drive_cfg).await;
            let down = tenancy.shutdown().await;
            let h = h?;
            down.map_err(|e| Fatal(format!("shutting the subject down failed: {e}")))?;
            Ok(h)
        })?;
        self.summary.operations += history.entries.len();
        self.summary.subject_errors += history
            .entries
            .iter()
            .filter(|e| match &e.outcome {
                // Not-found answers, and edits whose text is absent, are
                // expected answers of a working subject.
                Err(SubjectError::NotFound(_)) => false,
                Err(SubjectError::Failed(_)) => !matches!(e.op, crate::gen::Op::Edit { .. }),
                Err(_) => true,
                Ok(_) => false,
            })
            .count();
        for (u, r) in history.refused.iter().enumerate() {
            if let Some(err) = r {
                let ids = self.refusals.entry(err.to_string()).or_default();
                let id = display_id(&history.plan.users[u]);
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let mut violations = Vec::new();
        let mut coverage = Coverage::default();
        let ctx = CheckCtx {
            options: &self.cfg.options,
            caps: &self.caps,
            profile: &self.cfg.drive.profile,
        };
        fam.check(&history, &ctx, &mut violations, &mut coverage);
        Ok(Eval {
            history,
            violations,
            coverage,
        })
    }

    fn shrink(
        &mut self,
        fam: &dyn Family,
        tree: &mut dyn ValueTree<Value = Scenario>,
        mut best: Eval,
        known: &BTreeSet<Key>,
        minter: &mut Minter,
    ) -> Result<Eval, Fatal> {
        let new = |e: &Eval| e.violations.iter().any(|v| !known.contains(&key(v)));
        let mut best_scn = tree.current();
        let mut budget = self.cfg.max_shrink_runs;
        if tree.simplify() {
            // Interrupted: keep the smallest failing case found so far.
            while budget > 0 && !crate::interrupt::requested() {
                budget -= 1;
                let scn = tree.current();
                let ev = self.eval(fam, &scn, minter)?;
                self.summary.shrink_runs += 1;
                if new(&ev) {
                    best = ev;
                    best_scn = scn;
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        // proptest stops at the first component it cannot complicate; a
        // greedy pass then drops whole users and single operations while
        // the case still fails (delta debugging), within the same budget.
        let mut changed = true;
        while changed && budget > 0 {
            changed = false;
            let mut candidates: Vec<Scenario> = Vec::new();
            if best_scn.users.len() > 2 {
                for u in (0..best_scn.users.len()).rev() {
                    let mut c = best_scn.clone();
                    c.users.remove(u);
                    candidates.push(c);
                }
            }
            for u in 0..best_scn.users.len() {
                for k in (0..best_scn.users[u].ops.len()).rev() {
                    let mut c = best_scn.clone();
                    c.users[u].ops.remove(k);
                    candidates.push(c);
                }
            }
            for c in candidates {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let ev = self.eval(fam, &c, minter)?;
                self.summary.shrink_runs += 1;
                if new(&ev) {
                    best = ev;
                    best_scn = c;
                    changed = true;
                    break;
                }
            }
        }
        Ok(best)
    }

    /// Runs one family; returns its findings, result and coverage, or the
    /// fatal error that stopped it.
    fn family(
        &mut self,
        fam: &dyn Family,
    ) -> (Vec<Finding>, ScenarioResult, Coverage, Option<String>) {
        let strategy = fam.strategy(&self.cfg.gen);
        let mut minter = minter_for(self.cfg.seed, fam.name());
        let mut known: BTreeSet<Key> = BTreeSet::new();
        let mut findings = Vec::new();
        let mut coverage = Coverage::default();
        let mut cases = 0;
        // Operations the family's cases performed (shrink runs aside).
        let mut operations = 0;
        let mut interrupted = false;
        'rounds: for round in 0..self.cfg.max_rounds {
            let mut runner = TestRunner::new_with_rng(
                Config::default(),
                rng_for(self.cfg.seed, fam.name(), round),
            );
            let mut found = None;
            for _ in 0..self.cfg.cases {
                if crate::interrupt::requested() {
                    interrupted = true;
                    break 'rounds;
                }
                let mut tree = match strategy.new_tree(&mut runner) {
                    Ok(t) => t,
                    Err(reason) => {
                        let msg = format!("the generator failed: {reason}");
                        return (
                            findings,
                            self.result(fam, "aborted", cases, Some(msg.clone())),
                            coverage,
                            Some(msg),
                        );
                    }
                };
                cases += 1;
                self.summary.cases += 1;
                let fatal =
                    |findings: Vec<Finding>, eng: &Self, msg: String, coverage: Coverage| {
                        let status = if findings.is_empty() {
                            "aborted"
                        } else {
                            "fail"
                        };
                        let result = eng.result(fam, status, cases, Some(msg.clone()));
                        (findings, result, coverage, Some(msg))
                    };
                let ev = match self.eval(fam, &tree.current(), &mut minter) {
                    Ok(ev) => ev,
                    Err(Fatal(msg)) => return fatal(findings, self, msg, coverage),
                };
                coverage.merge(&ev.coverage);
                operations += ev.history.entries.len();
                if ev.violations.iter().any(|v| !known.contains(&key(v))) {
                    match self.shrink(fam, &mut tree, ev, &known, &mut minter) {
                        Ok(min) => {
                            found = Some(min);
                            break;
                        }
                        Err(Fatal(msg)) => return fatal(findings, self, msg, coverage),
                    }
                }
            }
            let Some(ev) = found else { break };
            let mut seen_now: Vec<Key> = Vec::new();
            for v in &ev.violations {
                let k = key(v);
                if known.contains(&k) || seen_now.contains(&k) {
                    continue;
                }
                seen_now.push(k);
                let occurrences = ev.violations.iter().filter(|x| key(x) == k).count();
                findings.push(self.finding(fam, &ev.history, v, occurrences));
            }
            known.extend(seen_now);
        }
        if interrupted {
            // Findings made are real; without one, what ran is no verdict.
            let status = if findings.is_empty() {
                "aborted"
            } else {
                "fail"
            };
            let note = crate::interrupt::note(&format!("{cases} cases"));
            return (
                findings,
                self.result(fam, status, cases, Some(note)),
                coverage,
                None,
            );
        }
        if findings.is_empty() && operations == 0 {
            // Nothing was observed: no session could be opened (or no
            // operation ran), which is never a pass.
            let note = "no operation ran: every session open was refused or failed \
                        (see the refused user ids)";
            return (
                findings,
                self.result(fam, "not-tested", cases, Some(note.into())),
                coverage,
                None,
            );
        }
        if findings.is_empty() {
            // A pass needs, for every store the family speaks for, a
            // cross-user observation after a successful write.
            let missing = self.not_judged(fam, &coverage);
            if !missing.is_empty() {
                let note = missing.join("; ");
                return (
                    findings,
                    self.result(fam, "not-tested", cases, Some(note)),
                    coverage,
                    None,
                );
            }
        }
        let status = if findings.is_empty() { "pass" } else { "fail" };
        (
            findings,
            self.result(fam, status, cases, None),
            coverage,
            None,
        )
    }

    /// Why each store `fam` speaks for was not judged (empty: all were).
    fn not_judged(&self, fam: &dyn Family, coverage: &Coverage) -> Vec<String> {
        fam.surfaces(&self.caps)
            .into_iter()
            .filter(|s| !coverage.judged(*s))
            .map(|s| coverage.why_not(s))
            .collect()
    }

    fn result(
        &self,
        fam: &dyn Family,
        status: &str,
        cases: usize,
        note: Option<String>,
    ) -> ScenarioResult {
        ScenarioResult {
            name: fam.name().into(),
            status: status.into(),
            cases,
            note,
        }
    }

    fn replay(&self, scenarios: &str) -> String {
        let mut words = vec![
            "isocheck run".to_string(),
            match self.cfg.subject.strip_prefix("adapter:") {
                Some(cmd) => format!("--adapter {cmd:?}"),
                None => format!("--subject {}", self.cfg.subject),
            },
            format!("--seed {}", self.cfg.seed),
            format!("--cases {}", self.cfg.cases),
        ];
        if !scenarios.is_empty() {
            words.push(format!("--scenarios {scenarios}"));
        }
        words.extend(self.cfg.replay_args.iter().cloned());
        words.join(" ")
    }

    fn finding(&self, fam: &dyn Family, h: &History, v: &Violation, occurrences: usize) -> Finding {
        let name = |u: usize| display_id(&h.plan.users[u]);
        let ev = &h.entries[v.entry];
        let mut trace: Vec<TraceLine> = h
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| !h.plan.is_sweep(e.step) || *i == v.entry)
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
        let what = match v.channel {
            Channel::Files => "files",
            Channel::Checkpoints => "checkpoints",
            Channel::History => "message history",
            Channel::Execute => "command execution",
        };
        Finding {
            id: String::new(),
            scenario: fam.name().into(),
            checklist: v.checklist().into(),
            title: format!("{} ({what})", v.kind.headline()),
            kind: v.kind,
            severity: v.severity(),
            users,
            evidence: Evidence {
                observer: name(v.observer),
                owner: v.owner.map(name),
                operation: ev.op.describe(),
                step: ev.step,
                detail: v.detail.clone(),
                occurrences,
            },
            trace,
            replay: self.replay(fam.name()),
        }
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

fn eng_start(
    rt: &tokio::runtime::Runtime,
    factory: &Arc<dyn SubjectFactory>,
) -> Result<(), SubjectError> {
    rt.block_on(factory.start())
}

/// Runs the selected families against `factory` and builds the report.
pub fn run(
    factory: Arc<dyn SubjectFactory>,
    families: &[&'static dyn Family],
    cfg: &RunConfig,
) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // After start: an adapter learns its capabilities in the handshake.
    let started = eng_start(&rt, &factory);
    let caps = factory.capabilities();
    let mut eng = Engine {
        rt,
        factory,
        cfg,
        summary: Summary::default(),
        caps: caps.clone(),
        refusals: Default::default(),
    };
    let mut findings = Vec::new();
    let mut scenarios = Vec::new();
    let mut failure: Option<String> = None;
    let mut config_error = false;
    if let Err(e) = started {
        config_error = matches!(e, SubjectError::Config(_));
        failure = Some(format!("starting the subject failed: {e}"));
    }
    let mut ran: Vec<&'static dyn Family> = Vec::new();
    let mut not_judged: Vec<NotJudged> = Vec::new();
    for fam in families {
        if crate::interrupt::requested() {
            scenarios.push(ScenarioResult {
                name: fam.name().into(),
                status: "aborted".into(),
                cases: 0,
                note: Some("not run: interrupted".into()),
            });
            continue;
        }
        if failure.is_some() {
            scenarios.push(ScenarioResult {
                name: fam.name().into(),
                status: "aborted".into(),
                cases: 0,
                note: Some("not run: the subject failed earlier".into()),
            });
            continue;
        }
        if let Err(reason) = fam.applicable(&caps, &cfg.options) {
            scenarios.push(ScenarioResult {
                name: fam.name().into(),
                status: "not-tested".into(),
                cases: 0,
                note: Some(reason.clone()),
            });
            not_judged.push(NotJudged {
                scenario: fam.name().into(),
                reason,
            });
            continue;
        }
        let (f, result, cov, fatal) = eng.family(*fam);
        findings.extend(f);
        if result.status == "not-tested" {
            // The reason is the scenario's note (every store it speaks for).
            not_judged.push(NotJudged {
                scenario: fam.name().into(),
                reason: result.note.clone().unwrap_or_default(),
            });
        } else if result.status == "fail" {
            // A failing family may still have left a store unjudged.
            not_judged.extend(
                eng.not_judged(*fam, &cov)
                    .into_iter()
                    .map(|reason| NotJudged {
                        scenario: fam.name().into(),
                        reason,
                    }),
            );
        }
        scenarios.push(result);
        ran.push(*fam);
        if let Some(msg) = fatal {
            failure = Some(msg);
        }
    }
    if failure.is_none()
        && !ran.is_empty()
        && eng.summary.operations == 0
        && !crate::interrupt::requested()
    {
        // Every session open was refused or failed: nothing was observed,
        // so isolation could not be judged (never a silent pass).
        let first = eng.refusals.keys().next().cloned().unwrap_or_default();
        failure = Some(format!(
            "no operation ran: the subject refused or failed every session open (first error: {first})"
        ));
    }
    let judged_anything = scenarios
        .iter()
        .any(|s| s.status == "pass" || s.status == "fail");
    if failure.is_none() && !judged_anything && !crate::interrupt::requested() {
        // Not a pass: the run could show nothing (see could-not-judge).
        failure = Some(
            "nothing was judged: every selected scenario is not tested (see \"could not judge\")"
                .to_string(),
        );
    }
    let stop_factory = eng.factory.clone();
    if let Err(e) = eng.rt.block_on(stop_factory.stop()) {
        failure.get_or_insert(format!("stopping the subject failed: {e}"));
    }
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    let checklist = checklist(&findings, &scenarios, families);
    let mut summary = eng.summary.clone();
    summary.findings = findings.len();
    for f in &findings {
        match f.severity {
            Severity::Critical => summary.critical += 1,
            Severity::High => summary.high += 1,
            Severity::Medium => summary.medium += 1,
            Severity::Low => summary.low += 1,
        }
    }
    let all: Vec<&str> = families.iter().map(|f| f.name()).collect();
    let replay = eng.replay(&if cfg.scenarios.is_empty() {
        String::new()
    } else {
        all.join(",")
    });
    Report {
        schema: SCHEMA,
        subject: cfg.subject.clone(),
        seed: cfg.seed,
        summary,
        checklist,
        scenarios,
        findings,
        refusals: eng
            .refusals
            .into_iter()
            .map(|(error, ids)| Refusal {
                users: ids.len(),
                example: ids[0].clone(),
                error,
            })
            .collect(),
        not_judged,
        subject_failure: failure,
        config_error,
        replay,
        incomplete: crate::interrupt::requested()
            .then(|| crate::interrupt::note(&format!("{} cases", eng.summary.cases))),
    }
}

/// The checklist: an item fails with a finding; passes when a scenario
/// covering it passed (every store that scenario speaks for judged), with
/// the covering scenarios that could not judge named in its note; and is
/// otherwise not tested, with the reason.
fn checklist(
    findings: &[Finding],
    scenarios: &[ScenarioResult],
    families: &[&'static dyn Family],
) -> Vec<ChecklistEntry> {
    CHECKLIST
        .iter()
        .map(|(id, title)| {
            let covering: Vec<&ScenarioResult> = scenarios
                .iter()
                .filter(|s| {
                    families
                        .iter()
                        .any(|f| f.name() == s.name && f.items().contains(id))
                })
                .collect();
            let unjudged: Vec<String> = covering
                .iter()
                .filter(|s| s.status != "pass" && s.status != "fail")
                .map(|s| format!("{}: {}", s.name, s.note.clone().unwrap_or_default()))
                .collect();
            let (status, note) = if findings.iter().any(|f| f.checklist == *id) {
                (Status::Fail, None)
            } else if covering.iter().any(|s| s.status == "pass") {
                let note =
                    (!unjudged.is_empty()).then(|| format!("not tested: {}", unjudged.join("; ")));
                (Status::Pass, note)
            } else if covering.is_empty() {
                (
                    Status::NotTested,
                    Some("no selected scenario covers it".to_string()),
                )
            } else {
                (Status::NotTested, Some(unjudged.join("; ")))
            };
            ChecklistEntry {
                id: id.to_string(),
                title: title.to_string(),
                status,
                note,
            }
        })
        .collect()
}
