//! A family's search: the random cases and, for hostile ids, a directed
//! search per id class, each in rounds that shrink the first case showing
//! something new; then the family's verdict from what its cases observed.

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

use super::case::Running;
use super::clock::{part, Cut};
use super::{minter_for, rng_for, Engine, Known};
use crate::canary::Minter;
use crate::check::cause::RootCause;
use crate::check::{Coverage, Family};
use crate::drive::{Fatal, History};
use crate::gen::{materialize, GenConfig, Scenario};
use crate::report::*;

/// Where a search stands in its stream of cases.
struct Cursor {
    /// This round's generator.
    runner: TestRunner,
    /// Cases left in the search.
    left: usize,
    /// The last case's index in the search (partitions take every n-th).
    index: usize,
    /// No case has been drawn yet.
    first: bool,
    /// Whether `--partition` applies to this search.
    partitioned: bool,
}

/// A case drawn for a batch, with where the search stands after it.
struct Drawn {
    scenario: Scenario,
    plan: Option<crate::gen::Plan>,
    left: usize,
    index: usize,
    minter: Minter,
}

/// Cases to run at once, and the time cut that ended the drawing.
struct Batch {
    cases: Vec<Drawn>,
    cut: Option<Cut>,
}

impl Batch {
    /// The cases' plans, taken out to be run.
    fn plans(&mut self) -> Vec<crate::gen::Plan> {
        self.cases
            .iter_mut()
            .filter_map(|c| c.plan.take())
            .collect()
    }
}

/// What one family's search has found and exercised so far.
pub(super) struct Search {
    minter: Minter,
    known: Known,
    findings: Vec<Finding>,
    /// For each finding, its cause and the shared-store causes that make
    /// it nothing new when found (later in the search, too).
    subsumed_by: Vec<(RootCause, Vec<RootCause>)>,
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
    /// identifier kind -> (presentations by another user, of them judged)
    replays: std::collections::BTreeMap<String, (usize, usize)>,
}

impl Search {
    /// Drops what a shared store found later in the search makes nothing
    /// new (a hostile id, or another user's identifier, that reached a
    /// store plain ids share): its findings and its cause.
    fn drop_subsumed(&mut self) {
        let gone: Vec<bool> = self
            .subsumed_by
            .iter()
            .map(|(_, by)| by.iter().any(|c| self.known.contains_key(c)))
            .collect();
        for ((rc, _), g) in self.subsumed_by.iter().zip(&gone) {
            let kept = |(i, (c, _)): (usize, &(RootCause, _))| c == rc && !gone[i];
            if *g && !self.subsumed_by.iter().enumerate().any(kept) {
                self.known.remove(rc);
            }
        }
        let mut g = gone.iter();
        self.findings
            .retain(|_| !g.next().copied().unwrap_or(false));
        let mut g = gone.iter();
        self.subsumed_by
            .retain(|_| !g.next().copied().unwrap_or(false));
    }

    fn new(minter: Minter) -> Self {
        Search {
            minter,
            known: Known::new(),
            findings: Vec::new(),
            subsumed_by: Vec::new(),
            coverage: Coverage::default(),
            cases: 0,
            operations: 0,
            over: None,
            budget_ended: false,
            classes: Default::default(),
            replays: Default::default(),
        }
    }

    fn tally_replays(&mut self, h: &History) {
        for p in crate::check::identifier_replay::presentations(h) {
            let t = self.replays.entry(p.kind).or_default();
            t.0 += 1;
            t.1 += usize::from(p.judged);
        }
    }

    /// Per identifier kind the family gives a verdict on: bypassed (a
    /// finding), shared-store (plain users share the store already),
    /// enforced (presented and judged, no finding) or undetermined.
    fn identifier_verdicts(&self, kinds: Vec<String>) -> Vec<IdentifierVerdict> {
        let shared = self.known.keys().any(|k| k.class == "shared-store");
        kinds
            .into_iter()
            .map(|kind| {
                let (presented, judged) = self.replays.get(&kind).copied().unwrap_or_default();
                let class = format!("id-replay/{kind}");
                let verdict = if self.known.keys().any(|k| k.class == class) {
                    "bypassed"
                } else if shared {
                    "shared-store"
                } else if judged > 0 {
                    "enforced"
                } else {
                    "undetermined"
                };
                IdentifierVerdict {
                    kind,
                    verdict: verdict.to_string(),
                    presented,
                    judged,
                }
            })
            .collect()
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

impl Engine<'_> {
    /// Rounds of strategy `strategy` (named `label` for its random
    /// stream), `cases` cases in all: each round runs what is left of them
    /// and shrinks the first one that shows something new; the search ends
    /// at a round that finds nothing new or when the cases are spent (so
    /// `--cases N` is at most N cases per search, whatever was found).
    /// `Err` carries a fatal error; an interrupt or timeout sets `st.over`,
    /// a spent budget share `st.budget_ended`.
    fn search(
        &mut self,
        fam: &'static dyn Family,
        strategy: &BoxedStrategy<Scenario>,
        label: &str,
        cases: usize,
        st: &mut Search,
        partitioned: bool,
    ) -> Result<(), String> {
        // Only a family that judges presentations of identifiers counts them.
        let replays = !fam
            .identifier_kinds(&self.caps, &self.gen.identifiers)
            .is_empty();
        // With batches, the next one is drawn and started while this one
        // runs (drawing is this thread's work, driving the workers').
        let ahead = self.concurrent();
        let mut cur = Cursor {
            runner: TestRunner::default(),
            left: cases,
            index: 0,
            first: true,
            partitioned,
        };
        for round in 0..self.cfg.max_rounds {
            if cur.left == 0 {
                break;
            }
            cur.runner =
                TestRunner::new_with_rng(Config::default(), rng_for(self.cfg.seed, label, round));
            let mut found = None;
            let mut next: Option<(Batch, Running)> = None;
            while (cur.left > 0 || next.is_some()) && found.is_none() {
                let (batch, running) = match next.take() {
                    Some(n) => n,
                    None => self.start(fam, strategy, &mut cur, st)?,
                };
                if ahead && batch.cut.is_none() && cur.left > 0 {
                    next = Some(self.start(fam, strategy, &mut cur, st)?);
                }
                let evals = self.finish(running);
                let cut = batch.cut;
                if let Some((case, ev)) = self.take(batch, evals, st, replays)? {
                    // Where a sequential search would be after this case
                    // (the batch drawn ahead is dropped, its cases aborted).
                    (cur.left, cur.index, st.minter) = (case.left, case.index, case.minter);
                    drop(next.take());
                    let min = if fam.fixed_cases().is_none() {
                        self.shrink(fam, case.scenario, ev, &st.known, &mut st.minter)
                            .map_err(|Fatal(m)| m)?
                    } else {
                        ev
                    };
                    found = Some(min);
                    break;
                }
                match cut {
                    None => {}
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
            }
            let Some(ev) = found else { break };
            for (f, by) in self.findings_of(fam, &ev, &mut st.known) {
                st.findings.push(f);
                st.subsumed_by.push(by);
            }
        }
        Ok(())
    }

    /// Draws the next batch and starts its cases.
    fn start(
        &self,
        fam: &'static dyn Family,
        strategy: &BoxedStrategy<Scenario>,
        cur: &mut Cursor,
        st: &mut Search,
    ) -> Result<(Batch, Running), String> {
        let mut b = self.draw(strategy, cur, st)?;
        let r = self.start_cases(fam, b.plans());
        Ok((b, r))
    }

    /// Takes a batch's cases in order: counts each, and returns the first
    /// that shows something new, with its evaluation (the cases after it
    /// count for nothing). `Err` is a fatal error of a case taken.
    fn take(
        &mut self,
        batch: Batch,
        evals: Vec<Result<super::Eval, Fatal>>,
        st: &mut Search,
        replays: bool,
    ) -> Result<Option<(Drawn, super::Eval)>, String> {
        for (case, ev) in batch.cases.into_iter().zip(evals) {
            let ev = ev.map_err(|Fatal(m)| m)?;
            self.record(&ev.history);
            st.cases += 1;
            self.summary.cases += 1;
            self.cfg.progress.0.case_done(st.cases, st.findings.len());
            st.coverage.merge(&ev.coverage);
            st.operations += ev.history.entries.len();
            st.tally_classes(&ev.history);
            if replays {
                st.tally_replays(&ev.history);
            }
            if ev.has_new(&st.known) {
                return Ok(Some((case, ev)));
            }
        }
        Ok(None)
    }

    /// Draws the next batch of cases (see `case`): up to the batch size,
    /// each materialized with the family's minter in order, with where the
    /// search stands after it. Stops early at the end of the cases or of
    /// the time (`cut`, acted on once the batch has run).
    fn draw(
        &self,
        strategy: &BoxedStrategy<Scenario>,
        cur: &mut Cursor,
        st: &mut Search,
    ) -> Result<Batch, String> {
        let mut batch = Batch {
            cases: Vec::new(),
            cut: None,
        };
        let size = self.batch_size();
        while cur.left > 0 && batch.cases.len() < size {
            match self.clock.cut() {
                None => {}
                // Every search runs at least one case, whatever the budget says.
                Some(Cut::Budget) if cur.first => {}
                Some(cut) => {
                    batch.cut = Some(cut);
                    break;
                }
            }
            cur.left -= 1;
            let tree = strategy
                .new_tree(&mut cur.runner)
                .map_err(|reason| format!("the generator failed: {reason}"))?;
            cur.index += 1;
            if cur.partitioned
                && self
                    .cfg
                    .partition
                    .is_some_and(|(i, n)| (cur.index - 1) % n != i)
            {
                continue; // another partition's case
            }
            cur.first = false;
            let scenario = tree.current();
            let plan = materialize(&scenario, &mut st.minter, &self.cfg.drive.profile);
            batch.cases.push(Drawn {
                scenario,
                plan: Some(plan),
                left: cur.left,
                index: cur.index,
                minter: st.minter.clone(),
            });
        }
        Ok(batch)
    }

    /// Runs one family; returns its findings, result and coverage, or the
    /// fatal error that stopped it.
    pub(super) fn family(
        &mut self,
        fam: &'static dyn Family,
    ) -> (Vec<Finding>, ScenarioResult, Coverage, Option<String>) {
        let mut st = Search::new(minter_for(self.cfg.seed, fam.name()));
        let outcome = self.searches(fam, &mut st);
        self.verdict(fam, st, outcome)
    }

    /// The family's random search, then a directed search per id class;
    /// `Err` is the fatal error that stopped them.
    fn searches(&mut self, fam: &'static dyn Family, st: &mut Search) -> Result<(), String> {
        let cases = fam
            .fixed_cases()
            .map_or(self.cfg.cases, |n| n.min(self.cfg.cases));
        let directed = fam.directed(&self.gen);
        // With a budget: this family's share, half of it for the random
        // search when directed ones follow.
        let family_end = self.clock.family_end(self.families_left);
        let fraction = if directed.is_empty() { 1.0 } else { 0.5 };
        self.clock.search_until(part(family_end, 1, fraction));
        let mut outcome = self.search(fam, &fam.strategy(&self.gen), fam.name(), cases, st, true);
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
            outcome = self.search(fam, &strategy, &label, share, st, false);
        }
        self.clock.search_until(None);
        outcome
    }

    /// The family's result from what its searches found and observed: a
    /// pass needs observations that could have shown every store's leak.
    fn verdict(
        &self,
        fam: &dyn Family,
        st: Search,
        outcome: Result<(), String>,
    ) -> (Vec<Finding>, ScenarioResult, Coverage, Option<String>) {
        let mut st = st;
        st.drop_subsumed();
        let classes = st.class_verdicts(fam);
        let identifiers =
            st.identifier_verdicts(fam.identifier_kinds(&self.caps, &self.gen.identifiers));
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
            r.identifiers = identifiers.clone();
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
}
