//! The run loop: for each selected family, generate cases with proptest,
//! drive each against a fresh tenancy, judge the history, and on a failure
//! shrink it to a minimal case. The search then goes on (in a new round)
//! for problems of a kind not yet found, so one run reports every distinct
//! kind of leak rather than the first only.
//!
//! Everything is derived from the seed: the same seed, options and subject
//! give the same report, byte for byte.

use std::sync::Arc;
use std::time::Duration;

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

use crate::canary::Minter;
use crate::check::cause::{self, strength, RootCause};
use crate::check::{CheckCtx, CheckOptions, Coverage, Family, Violation};
use crate::drive::{drive, DriveConfig, Fatal, History};
use crate::gen::{display_id, materialize, GenConfig, Scenario};
use crate::report::*;
use crate::subject::{SubjectError, SubjectFactory};

mod checklist;
mod clock;
mod finding;
mod group;
mod merge;
pub mod progress;
mod shrink;

use checklist::checklist;
use clock::{part, Clock, Cut};
pub use finding::summarize;
pub use merge::merge;

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The subject's name as given on the command line (for reports).
    pub subject: String,
    pub seed: u64,
    /// Generated cases per family (each directed id-class search of
    /// hostile-user-ids gets 1/32 of it more, at least 4).
    pub cases: usize,
    pub gen: GenConfig,
    pub drive: DriveConfig,
    /// Families to run, by name (empty: all).
    pub scenarios: Vec<String>,
    /// Re-runs allowed while shrinking one failure.
    pub max_shrink_runs: usize,
    /// Search rounds per family (each can add a finding of a new root
    /// cause, e.g. one more id class that aliases another user).
    pub max_rounds: usize,
    /// Extra command-line words that reproduce the run (`--users 3`).
    pub replay_args: Vec<String>,
    /// Thresholds and expectations some families judge against.
    pub options: CheckOptions,
    /// `--budget`: search time shared among the families (see `clock`).
    pub budget: Option<Duration>,
    /// `--timeout`: the run's deadline (see `clock`).
    pub timeout: Option<Duration>,
    /// `--partition i/n` as (i - 1, n): this run evaluates the cases whose
    /// index in each family's random search is i - 1 modulo n (every case
    /// is still drawn, so the partitions of one seed split one stream of
    /// cases); the small directed id-class searches run in every part.
    pub partition: Option<(usize, usize)>,
    /// Who is told how the run goes (default: nobody).
    pub progress: progress::Watcher,
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
            max_rounds: 32,
            replay_args: Vec::new(),
            options: CheckOptions::default(),
            budget: None,
            timeout: None,
            partition: None,
            progress: progress::Watcher::default(),
        }
    }
}

struct Eval {
    history: History,
    violations: Vec<Violation>,
    /// The root cause of each violation.
    causes: Vec<RootCause>,
    coverage: Coverage,
}

/// The root causes found so far, with the strongest kind each was seen as.
type Known = std::collections::BTreeMap<RootCause, u8>;

/// Whether violation `v` (cause `rc`) shows something not yet found: a
/// new cause, or a known one seen more strongly (a content leak where only
/// an existence leak was known). A hostile id reaching a store that plain
/// ids are known to share is nothing new.
fn is_new(v: &Violation, rc: &RootCause, known: &Known) -> bool {
    if rc.class == "ambiguous" {
        return false;
    }
    if cause::shared_counterpart(rc).is_some_and(|s| known.contains_key(&s)) {
        return false;
    }
    known.get(rc).is_none_or(|k| strength(v.kind) > *k)
}

impl Eval {
    fn has_new(&self, known: &Known) -> bool {
        self.violations
            .iter()
            .zip(&self.causes)
            .any(|(v, rc)| is_new(v, rc, known))
    }
}

/// What one family's search has found and exercised so far.
struct Search {
    minter: Minter,
    known: Known,
    findings: Vec<Finding>,
    coverage: Coverage,
    cases: usize,
    /// Operations the family's cases performed (shrink runs aside).
    operations: usize,
    /// Set when the run must end (interrupt, timeout): no further search.
    over: Option<Cut>,
    /// Whether the time budget ended one of the family's searches.
    budget_ended: bool,
    /// id class -> (ids of that class tried, of them refused)
    classes: std::collections::BTreeMap<&'static str, (usize, usize)>,
}

impl Search {
    fn new(minter: Minter) -> Self {
        Search {
            minter,
            known: Known::new(),
            findings: Vec::new(),
            coverage: Coverage::default(),
            cases: 0,
            operations: 0,
            over: None,
            budget_ended: false,
            classes: Default::default(),
        }
    }

    fn tally_classes(&mut self, h: &History) {
        for (u, c) in h.plan.id_classes.iter().enumerate() {
            if let Some(c) = c {
                let t = self.classes.entry(c).or_default();
                t.0 += 1;
                if h.refused.get(u).is_some_and(|r| r.is_some()) {
                    t.1 += 1;
                }
            }
        }
    }

    /// Whether a cause of id class `class` was found.
    fn found_class(&self, class: &str) -> bool {
        self.known.keys().any(|k| k.id_class() == Some(class))
    }

    /// Per id class: aliased (a finding), refused (every id of it),
    /// isolated (tried, no finding) or not tried. Empty for a family
    /// without hostile ids.
    fn class_verdicts(&self, fam: &dyn Family) -> Vec<ClassVerdict> {
        // Only a family that tries every class gives each a verdict.
        if fam.directed(&GenConfig::default()).is_empty() {
            return Vec::new();
        }
        let shared = self.known.keys().any(|k| k.class == "shared-store");
        crate::gen::ID_CLASSES
            .iter()
            .map(|(class, _)| {
                let (tried, refused) = self.classes.get(class).copied().unwrap_or_default();
                let verdict = if self.found_class(class) {
                    "aliased"
                } else if shared {
                    // Plain ids share the store: no class has a verdict of
                    // its own (its directed search is skipped).
                    "shared-store"
                } else if tried == 0 {
                    "not-tried"
                } else if refused == tried {
                    "refused"
                } else {
                    "isolated"
                };
                ClassVerdict {
                    class: class.to_string(),
                    verdict: verdict.to_string(),
                    ids_tried: tried,
                    ids_refused: refused,
                }
            })
            .collect()
    }
}

struct Engine<'a> {
    rt: tokio::runtime::Runtime,
    factory: Arc<dyn SubjectFactory>,
    cfg: &'a RunConfig,
    summary: Summary,
    caps: crate::subject::Capabilities,
    /// error -> refused ids (printable), in first-seen order per error
    refusals: std::collections::BTreeMap<String, Vec<String>>,
    clock: Clock,
    /// Families still to run, the current one included (budget shares).
    families_left: usize,
    /// Why a search ended the run early (interrupt, timeout), if one did.
    over: Option<Cut>,
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
        let mut violations = Vec::new();
        let mut coverage = Coverage::default();
        let ctx = CheckCtx {
            options: &self.cfg.options,
            caps: &self.caps,
            profile: &self.cfg.drive.profile,
        };
        fam.check(&history, &ctx, &mut violations, &mut coverage);
        let causes = violations.iter().map(|v| cause::of(&history, v)).collect();
        Ok(Eval {
            history,
            violations,
            causes,
            coverage,
        })
    }

    /// Rounds of strategy `strategy` (named `label` for its random
    /// stream), `cases` cases in all: each round runs what is left of them
    /// and shrinks the first one that shows something new; the search ends
    /// at a round that finds nothing new or when the cases are spent (so
    /// `--cases N` is at most N cases per search, whatever was found).
    /// `Err` carries a fatal error; an interrupt or timeout sets `st.over`,
    /// a spent budget share `st.budget_ended`.
    fn search(
        &mut self,
        fam: &dyn Family,
        strategy: &BoxedStrategy<Scenario>,
        label: &str,
        cases: usize,
        st: &mut Search,
        partitioned: bool,
    ) -> Result<(), String> {
        let mut left = cases;
        // Every search runs at least one case, whatever the budget says.
        let mut first = true;
        // The case's index in this search (partitions take every n-th).
        let mut index = 0usize;
        for round in 0..self.cfg.max_rounds {
            if left == 0 {
                break;
            }
            let mut runner =
                TestRunner::new_with_rng(Config::default(), rng_for(self.cfg.seed, label, round));
            let mut found = None;
            while left > 0 {
                left -= 1;
                match self.clock.cut() {
                    None => {}
                    Some(Cut::Budget) if first => {}
                    Some(Cut::Budget) => {
                        st.budget_ended = true;
                        return Ok(());
                    }
                    Some(over) => {
                        st.over = Some(over);
                        self.over = Some(over);
                        return Ok(());
                    }
                }
                let tree = strategy
                    .new_tree(&mut runner)
                    .map_err(|reason| format!("the generator failed: {reason}"))?;
                index += 1;
                if partitioned
                    && self
                        .cfg
                        .partition
                        .is_some_and(|(i, n)| (index - 1) % n != i)
                {
                    continue; // another partition's case
                }
                first = false;
                st.cases += 1;
                self.summary.cases += 1;
                let ev = self
                    .eval(fam, &tree.current(), &mut st.minter)
                    .map_err(|Fatal(m)| m)?;
                self.cfg.progress.0.case_done(st.cases, st.findings.len());
                st.coverage.merge(&ev.coverage);
                st.operations += ev.history.entries.len();
                st.tally_classes(&ev.history);
                if ev.has_new(&st.known) {
                    let min = self
                        .shrink(fam, tree.current(), ev, &st.known, &mut st.minter)
                        .map_err(|Fatal(m)| m)?;
                    found = Some(min);
                    break;
                }
            }
            let Some(ev) = found else { break };
            let new = self.findings_of(fam, &ev, &mut st.known);
            st.findings.extend(new);
        }
        Ok(())
    }

    /// Runs one family; returns its findings, result and coverage, or the
    /// fatal error that stopped it.
    fn family(
        &mut self,
        fam: &dyn Family,
    ) -> (Vec<Finding>, ScenarioResult, Coverage, Option<String>) {
        let mut st = Search::new(minter_for(self.cfg.seed, fam.name()));
        let cases = self.cfg.cases;
        let directed = fam.directed(&self.cfg.gen);
        // With a budget: this family's share, half of it for the random
        // search when directed ones follow.
        let family_end = self.clock.family_end(self.families_left);
        let fraction = if directed.is_empty() { 1.0 } else { 0.5 };
        self.clock.search_until(part(family_end, 1, fraction));
        let mut outcome = self.search(
            fam,
            &fam.strategy(&self.cfg.gen),
            fam.name(),
            cases,
            &mut st,
            true,
        );
        // Directed searches: every id class is tried, even after others
        // were found (one class found must not hide the next), each with
        // 1/32 of the budget, at least 4 cases (or the whole budget if
        // smaller): a directed case has one id of the class among plain
        // ids, but whether its alias shows depends on the paths drawn
        // (`bob/..` only shows once bob lists or reads under `alice/`), and
        // one case is too few to call a class isolated.
        let share = (cases / 32).max(4).min(cases);
        // Not after a first finding with --rounds 1 (stop at the first),
        // nor once plain ids share the files (every alias is subsumed).
        let stop_early = self.cfg.max_rounds == 1 && !st.findings.is_empty();
        let shared_files = st
            .known
            .keys()
            .any(|k| k.class == "shared-store" && k.surface == crate::check::Surface::Files);
        let mut classes_left = directed.len();
        for (class, strategy) in directed {
            if outcome.is_err()
                || st.over.is_some()
                || stop_early
                || shared_files
                || st.found_class(class)
            {
                classes_left -= 1;
                continue;
            }
            // The family's time left, shared among the classes left.
            self.clock.search_until(part(family_end, classes_left, 1.0));
            classes_left -= 1;
            let label = format!("{}/{class}", fam.name());
            // Not partitioned: a class's few cases run in every part, so the
            // parts together try each class exactly as a whole run does.
            outcome = self.search(fam, &strategy, &label, share, &mut st, false);
        }
        self.clock.search_until(None);
        let classes = st.class_verdicts(fam);
        let Search {
            known: _,
            findings,
            coverage,
            cases,
            operations,
            over,
            budget_ended,
            ..
        } = st;
        if let Err(msg) = outcome {
            let status = if findings.is_empty() {
                "aborted"
            } else {
                "fail"
            };
            let result = self.result(fam, status, cases, Some(msg.clone()));
            return (findings, result, coverage, Some(msg));
        }
        // A note that the budget ended the search goes with any verdict.
        let budget_note =
            budget_ended.then(|| format!("the time budget ended the search after {cases} cases"));
        let result = |eng: &Self, status: &str, note: Option<String>| {
            let note = match (note, &budget_note) {
                (Some(n), Some(b)) => Some(format!("{n}; {b}")),
                (n, b) => n.or_else(|| b.clone()),
            };
            let mut r = eng.result(fam, status, cases, note);
            r.id_classes = classes.clone();
            r
        };
        if let Some(over) = over {
            // Findings made are real; without one, what ran is no verdict.
            let status = if findings.is_empty() {
                "aborted"
            } else {
                "fail"
            };
            let note = match over {
                Cut::Timeout => format!("the run timed out after {cases} cases"),
                _ => crate::interrupt::note(&format!("{cases} cases")),
            };
            return (findings, result(self, status, Some(note)), coverage, None);
        }
        if findings.is_empty() && operations == 0 {
            // Nothing was observed: no session could be opened (or no
            // operation ran), which is never a pass.
            let note = "no operation ran: every session open was refused or failed \
                        (see the refused user ids)";
            return (
                findings,
                result(self, "not-tested", Some(note.into())),
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
                    result(self, "not-tested", Some(note)),
                    coverage,
                    None,
                );
            }
        }
        let status = if findings.is_empty() { "pass" } else { "fail" };
        (findings, result(self, status, None), coverage, None)
    }

    /// The findings a minimal case shows: for each cause it shows that is
    /// new, its strongest violation, with the weaker ones as support.
    fn findings_of(&self, fam: &dyn Family, ev: &Eval, known: &mut Known) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut done: Vec<&RootCause> = Vec::new();
        let pairs: Vec<(&Violation, &RootCause)> = ev.violations.iter().zip(&ev.causes).collect();
        for (v, rc) in &pairs {
            if done.contains(rc) || !is_new(v, rc, known) {
                continue;
            }
            done.push(rc);
            let same: Vec<&Violation> = pairs
                .iter()
                .filter(|(_, c)| c == rc)
                .map(|(x, _)| *x)
                .collect();
            let lead = same
                .iter()
                .copied()
                .max_by_key(|x| (x.severity(), strength(x.kind), std::cmp::Reverse(x.entry)))
                .unwrap_or(v);
            let occurrences = same.iter().filter(|x| x.kind == lead.kind).count();
            let mut supporting: Vec<Evidence> = Vec::new();
            for x in &same {
                if x.kind != lead.kind && !supporting.iter().any(|s| s.kind == x.kind) {
                    let n = same.iter().filter(|y| y.kind == x.kind).count();
                    supporting.push(finding::evidence(fam.name(), &ev.history, x, n));
                }
            }
            let mut f = finding::build(
                fam.name(),
                &ev.history,
                lead,
                rc,
                occurrences,
                supporting,
                self.replay(fam.name()),
            );
            for x in &same {
                for place in finding::places(&ev.history, x) {
                    if !f.seen_in.contains(&place) {
                        f.seen_in.push(place);
                    }
                }
            }
            out.push(f);
            let k = known.entry((*rc).clone()).or_default();
            *k = (*k).max(strength(lead.kind));
        }
        out
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
            id_classes: Vec::new(),
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
}

/// `text` with absolute paths replaced by `<path>`: refusals that differ
/// only in a temp directory or the id in a path are one refusal.
pub(crate) fn redact_paths(text: &str) -> String {
    static PATH: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PATH.get_or_init(|| {
        regex::Regex::new(r#"(^|[\s'"(=:\[])/[^\s'"),\]]+"#).expect("a valid regex")
    });
    re.replace_all(text, "${1}<path>").into_owned()
}

fn eng_start(
    rt: &tokio::runtime::Runtime,
    factory: &Arc<dyn SubjectFactory>,
) -> Result<(), SubjectError> {
    rt.block_on(factory.start())
}

/// Records a family's result and tells the watcher.
fn push(scenarios: &mut Vec<ScenarioResult>, watcher: &progress::Watcher, r: ScenarioResult) {
    watcher.0.family_done(&r);
    scenarios.push(r);
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
    let framework = factory.framework();
    let mut eng = Engine {
        rt,
        factory,
        cfg,
        summary: Summary::default(),
        caps: caps.clone(),
        refusals: Default::default(),
        clock: Clock::new(cfg.budget, cfg.timeout),
        families_left: families.len(),
        over: None,
    };
    let mut findings = Vec::new();
    let mut scenarios = Vec::new();
    let mut failure: Option<String> = None;
    let mut config_error = false;
    let start_failed = started.is_err();
    if let Err(e) = started {
        config_error = matches!(e, SubjectError::Config(_));
        failure = Some(format!("starting the subject failed: {e}"));
    }
    let mut ran: Vec<&'static dyn Family> = Vec::new();
    let mut not_judged: Vec<NotJudged> = Vec::new();
    // Set once the run must end early (interrupt, timeout).
    let mut over: Option<Cut> = None;
    for (i, fam) in families.iter().enumerate() {
        eng.families_left = families.len() - i;
        over = over.or(eng.clock.run_over());
        if let Some(cut) = over {
            let why = match cut {
                Cut::Timeout => "not run: the run timed out",
                _ => "not run: interrupted",
            };
            push(
                &mut scenarios,
                &cfg.progress,
                ScenarioResult {
                    name: fam.name().into(),
                    status: "aborted".into(),
                    cases: 0,
                    note: Some(why.into()),
                    id_classes: Vec::new(),
                },
            );
            continue;
        }
        if failure.is_some() {
            push(
                &mut scenarios,
                &cfg.progress,
                ScenarioResult {
                    name: fam.name().into(),
                    status: "aborted".into(),
                    cases: 0,
                    note: Some("not run: the subject failed earlier".into()),
                    id_classes: Vec::new(),
                },
            );
            continue;
        }
        if let Err(reason) = fam.applicable(&caps, &cfg.options) {
            push(
                &mut scenarios,
                &cfg.progress,
                ScenarioResult {
                    name: fam.name().into(),
                    status: "not-tested".into(),
                    cases: 0,
                    note: Some(reason.clone()),
                    id_classes: Vec::new(),
                },
            );
            not_judged.push(NotJudged {
                scenario: fam.name().into(),
                reason,
            });
            continue;
        }
        cfg.progress
            .0
            .family_started(fam.name(), i + 1, families.len(), cfg.cases);
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
        over = over.or(eng.over);
        push(&mut scenarios, &cfg.progress, result);
        ran.push(*fam);
        if let Some(msg) = fatal {
            failure = Some(msg);
        }
    }
    if failure.is_none() && !ran.is_empty() && eng.summary.operations == 0 && over.is_none() {
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
    if failure.is_none() && !judged_anything && over.is_none() {
        // Not a pass: the run could show nothing (see could-not-judge).
        failure = Some(
            "nothing was judged: every selected scenario is not tested (see \"could not judge\")"
                .to_string(),
        );
    }
    cfg.progress.0.finished();
    let stop_factory = eng.factory.clone();
    if let Err(e) = eng.rt.block_on(stop_factory.stop()) {
        failure.get_or_insert(format!("stopping the subject failed: {e}"));
    }
    let findings = group::group(findings);
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
        framework,
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
        start_failed,
        replay,
        incomplete: over.map(|cut| {
            let done = format!("{} cases", eng.summary.cases);
            match (cut, cfg.timeout) {
                (Cut::Timeout, Some(t)) => format!(
                    "timed out (--timeout {}) after {done}; this report is incomplete",
                    humantime::format_duration(t)
                ),
                _ => crate::interrupt::note(&done),
            }
        }),
        baseline: None,
        partition: cfg.partition.map(|(i, n)| format!("{}/{n}", i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_paths;

    #[test]
    fn refusals_differing_in_paths_are_one() {
        let a = "OSError: [Errno 36] File name too long: '/tmp/x-1/workspaces/bobbob'";
        let b = "OSError: [Errno 36] File name too long: '/tmp/y-2/workspaces/alicealice'";
        assert_eq!(redact_paths(a), redact_paths(b));
        assert_eq!(
            redact_paths(a),
            "OSError: [Errno 36] File name too long: '<path>'"
        );
        assert_eq!(
            redact_paths("ValueError: embedded null byte"),
            "ValueError: embedded null byte"
        );
        assert_eq!(redact_paths("a/b is relative"), "a/b is relative");
    }
}
