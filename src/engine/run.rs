//! A whole run: start the subject, run each selected family in turn (or
//! say why it did not run), give the whole-run verdicts ("no operation
//! ran", "nothing judged"), stop the subject, and assemble the report.

use std::sync::Arc;

use super::checklist::checklist;
use super::clock::{Clock, Cut};
use super::{group, progress, Engine, RunConfig};
use crate::check::Family;
use crate::report::*;
use crate::subject::{SubjectError, SubjectFactory};

/// What the families left behind, for the report.
#[derive(Default)]
struct Outcome {
    findings: Vec<Finding>,
    scenarios: Vec<ScenarioResult>,
    not_judged: Vec<NotJudged>,
    /// Why isolation could not be fully judged.
    failure: Option<String>,
    config_error: bool,
    start_failed: bool,
    /// Families that ran.
    ran: usize,
    /// Why the run ended early (interrupt, timeout), if it did.
    over: Option<Cut>,
}

impl Outcome {
    /// Records a family's result and tells the watcher.
    fn push(&mut self, watcher: &progress::Watcher, r: ScenarioResult) {
        watcher.0.family_done(&r);
        self.scenarios.push(r);
    }

    /// A family that did not run, and why.
    fn skipped(&mut self, watcher: &progress::Watcher, fam: &dyn Family, status: &str, why: &str) {
        self.push(
            watcher,
            ScenarioResult {
                name: fam.name().into(),
                status: status.into(),
                cases: 0,
                note: Some(why.into()),
                id_classes: Vec::new(),
                identifiers: Vec::new(),
            },
        );
    }
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
    let started = rt.block_on(factory.start());
    let caps = factory.capabilities();
    let framework = factory.framework();
    let identifiers = factory.identifiers();
    let mut eng = Engine {
        gen: crate::gen::GenConfig {
            identifiers: identifiers.clone(),
            caps: Some(caps.clone()),
            ..cfg.gen.clone()
        },
        drive: crate::drive::DriveConfig {
            identifiers,
            one_task: factory.independent_tenancies(),
            ..cfg.drive.clone()
        },
        rt,
        factory,
        cfg,
        summary: Summary::default(),
        caps,
        refusals: Default::default(),
        errors: Default::default(),
        clock: Clock::new(cfg.budget, cfg.timeout),
        families_left: families.len(),
        over: None,
    };
    let mut out = Outcome::default();
    if let Err(e) = started {
        out.start_failed = true;
        out.config_error = matches!(e, SubjectError::Config(_));
        out.failure = Some(format!("starting the subject failed: {e}"));
    }
    for (i, fam) in families.iter().enumerate() {
        eng.families_left = families.len() - i;
        run_family(&mut eng, &mut out, *fam, i + 1, families.len());
    }
    whole_run_verdicts(&eng, &mut out);
    cfg.progress.0.finished();
    let stop_factory = eng.factory.clone();
    if let Err(e) = eng.rt.block_on(stop_factory.stop()) {
        out.failure
            .get_or_insert(format!("stopping the subject failed: {e}"));
    }
    assemble(eng, out, families, framework)
}

/// Runs family `index` of `of`, or records why it does not run.
fn run_family(
    eng: &mut Engine,
    out: &mut Outcome,
    fam: &'static dyn Family,
    index: usize,
    of: usize,
) {
    let cfg = eng.cfg;
    let watcher = &cfg.progress;
    out.over = out.over.or(eng.clock.run_over());
    if let Some(cut) = out.over {
        let why = match cut {
            Cut::Timeout => "not run: the run timed out",
            _ => "not run: interrupted",
        };
        return out.skipped(watcher, fam, "aborted", why);
    }
    if out.failure.is_some() {
        return out.skipped(
            watcher,
            fam,
            "aborted",
            "not run: the subject failed earlier",
        );
    }
    if let Err(reason) = fam.applicable(&eng.caps, &cfg.options) {
        out.skipped(watcher, fam, "not-tested", &reason);
        out.not_judged.push(NotJudged {
            scenario: fam.name().into(),
            reason,
        });
        return;
    }
    watcher.0.family_started(fam.name(), index, of, cfg.cases);
    let (findings, result, coverage, fatal) = eng.family(fam);
    out.findings.extend(findings);
    if result.status == "not-tested" {
        // The reason is the scenario's note (every store it speaks for).
        out.not_judged.push(NotJudged {
            scenario: fam.name().into(),
            reason: result.note.clone().unwrap_or_default(),
        });
    } else if result.status == "fail" {
        // A failing family may still have left a store unjudged.
        let missing = eng.not_judged(fam, &coverage);
        out.not_judged
            .extend(missing.into_iter().map(|reason| NotJudged {
                scenario: fam.name().into(),
                reason,
            }));
    }
    out.over = out.over.or(eng.over);
    out.push(watcher, result);
    out.ran += 1;
    if let Some(msg) = fatal {
        out.failure = Some(msg);
    }
}

/// A run that observed nothing, or judged nothing, is never a pass.
fn whole_run_verdicts(eng: &Engine, out: &mut Outcome) {
    if out.failure.is_some() || out.over.is_some() {
        return;
    }
    if out.ran > 0 && eng.summary.operations == 0 {
        // Every session open was refused or failed: nothing was observed.
        let first = eng.refusals.keys().next().cloned().unwrap_or_default();
        out.failure = Some(format!(
            "no operation ran: the subject refused or failed every session open (first error: {first})"
        ));
        return;
    }
    let judged_anything = out
        .scenarios
        .iter()
        .any(|s| s.status == "pass" || s.status == "fail");
    if !judged_anything {
        // Not a pass: the run could show nothing (see could-not-judge).
        out.failure = Some(
            "nothing was judged: every selected scenario is not tested (see \"could not judge\")"
                .to_string(),
        );
    }
}

/// The report: findings grouped by root cause and ranked, the checklist,
/// the summary, refusals, and the replay line.
fn assemble(
    eng: Engine,
    out: Outcome,
    families: &[&'static dyn Family],
    framework: Option<crate::subject::Framework>,
) -> Report {
    let cfg = eng.cfg;
    let findings = group::group(out.findings);
    let checklist = checklist(&findings, &out.scenarios, families);
    let mut summary = eng.summary.clone();
    summary.count(&findings);
    let all: Vec<&str> = families.iter().map(|f| f.name()).collect();
    let replay = eng.replay(&if cfg.scenarios.is_empty() {
        String::new()
    } else {
        all.join(",")
    });
    let incomplete = out.over.map(|cut| {
        let done = format!("{} cases", eng.summary.cases);
        match (cut, cfg.timeout) {
            (Cut::Timeout, Some(t)) => format!(
                "timed out (--timeout {}) after {done}; this report is incomplete",
                humantime::format_duration(t)
            ),
            _ => crate::interrupt::note(&done),
        }
    });
    Report {
        schema: SCHEMA,
        subject: cfg.subject.clone(),
        framework,
        seed: cfg.seed,
        summary,
        checklist,
        scenarios: out.scenarios,
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
        errors: SubjectErrors::from_counts(eng.errors),
        not_judged: out.not_judged,
        subject_failure: out.failure,
        config_error: out.config_error,
        start_failed: out.start_failed,
        replay,
        incomplete,
        baseline: None,
        partition: cfg.partition.map(|(i, n)| format!("{}/{n}", i + 1)),
    }
}
