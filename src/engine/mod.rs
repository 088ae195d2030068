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

use proptest::test_runner::{RngAlgorithm, TestRng};
use sha2::{Digest, Sha256};

use crate::canary::Minter;
use crate::check::cause::{self, strength, RootCause};
use crate::check::{CheckOptions, Coverage, Family, Surface, Violation};
use crate::drive::{DriveConfig, History};
use crate::gen::GenConfig;
use crate::report::*;
use crate::subject::{SubjectError, SubjectFactory};

mod case;
mod checklist;
mod clock;
mod finding;
mod group;
mod merge;
pub mod progress;
mod run;
mod search;
mod shrink;

use clock::{Clock, Cut};
pub use finding::summarize;
pub use merge::merge;
pub use run::run;

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
    /// Most cases in a batch run at the same time when the subject's
    /// tenancies are independent of one another (see `case`; fewer with
    /// many users). 1 runs one case at a time. The report is the same
    /// whatever it is (tests/concurrent_cases.rs).
    pub concurrent_cases: usize,
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
            concurrent_cases: 8,
        }
    }
}

struct Eval {
    history: History,
    violations: Vec<Violation>,
    /// The root cause of each violation.
    causes: Vec<RootCause>,
    /// The store each violation was seen on (before an id alias's is
    /// reported as the files of the root it aliases).
    raw: Vec<Surface>,
    coverage: Coverage,
}

/// The root causes found so far, with the strongest kind each was seen as.
type Known = std::collections::BTreeMap<RootCause, u8>;

/// The shared-store causes that would make `rc` nothing new: on the store
/// it is reported on and on the store it was seen on (`raw`), which
/// differ for an id alias (reported on the files of the root it aliases).
/// An alias pair seen sharing a memory store that plain ids share too is
/// that shared store, not an alias.
fn counterparts(rc: &RootCause, raw: Surface) -> Vec<RootCause> {
    let Some(s) = cause::shared_counterpart(rc) else {
        return Vec::new();
    };
    let mut out = vec![s.clone()];
    if raw != s.surface {
        out.push(RootCause { surface: raw, ..s });
    }
    out
}

/// Whether violation `v` (cause `rc`, seen on store `raw`) shows something
/// not yet found: a new cause, or a known one seen more strongly (a content
/// leak where only an existence leak was known). A hostile id reaching a
/// store that plain ids are known to share is nothing new.
fn is_new(v: &Violation, rc: &RootCause, raw: Surface, known: &Known) -> bool {
    if rc.class == "ambiguous" {
        return false;
    }
    if counterparts(rc, raw).iter().any(|s| known.contains_key(s)) {
        return false;
    }
    known.get(rc).is_none_or(|k| strength(v.kind) > *k)
}

impl Eval {
    fn has_new(&self, known: &Known) -> bool {
        (0..self.violations.len())
            .any(|i| is_new(&self.violations[i], &self.causes[i], self.raw[i], known))
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
    /// (operation, error) -> how many operations the subject answered so
    /// (the subject errors of the summary)
    errors: std::collections::BTreeMap<(String, String), usize>,
    clock: Clock,
    /// Families still to run, the current one included (budget shares).
    families_left: usize,
    /// Why a search ended the run early (interrupt, timeout), if one did.
    over: Option<Cut>,
    /// The generator's and the driver's configuration, with what the
    /// subject declared once started (the identifier kinds it hands out).
    gen: crate::gen::GenConfig,
    drive: crate::drive::DriveConfig,
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
    /// The findings a minimal case shows: for each cause it shows that is
    /// new, its strongest violation, with the weaker ones as support; each
    /// with the shared-store causes that, once found, make it nothing new
    /// (see [`counterparts`]).
    fn findings_of(
        &self,
        fam: &dyn Family,
        ev: &Eval,
        known: &mut Known,
    ) -> Vec<(Finding, (RootCause, Vec<RootCause>))> {
        let mut out = Vec::new();
        let mut done: Vec<&RootCause> = Vec::new();
        let pairs: Vec<(&Violation, &RootCause)> = ev.violations.iter().zip(&ev.causes).collect();
        for (i, (v, rc)) in pairs.iter().enumerate() {
            if done.contains(rc) || !is_new(v, rc, ev.raw[i], known) {
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
            let by: Vec<RootCause> = (0..pairs.len())
                .filter(|&j| pairs[j].1 == *rc)
                .flat_map(|j| counterparts(rc, ev.raw[j]))
                .collect();
            out.push((f, ((*rc).clone(), by)));
            let k = known.entry((*rc).clone()).or_default();
            *k = (*k).max(strength(lead.kind));
        }
        out
    }

    /// Why each store `fam` speaks for was not judged (empty: all were).
    fn not_judged(&self, fam: &dyn Family, coverage: &Coverage) -> Vec<String> {
        fam.unjudged(&self.caps, coverage)
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
            identifiers: Vec::new(),
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

/// At most this many characters of a subject error are kept in a report.
const ERROR_CHARS: usize = 240;

/// The error of an entry that counts as a subject error: not a not-found
/// answer, an edit whose text is absent (expected answers of a working
/// subject) or another user's identifier refused (the right answer).
fn subject_error(e: &crate::drive::Entry) -> Option<&SubjectError> {
    let err = e.outcome.as_ref().err()?;
    let counts = match err {
        SubjectError::NotFound(_) => false,
        SubjectError::Failed(_) => !matches!(e.op, crate::gen::Op::Edit { .. }),
        SubjectError::Refused(_) => !matches!(e.op, crate::gen::Op::ReopenPresenting { .. }),
        _ => true,
    };
    counts.then_some(err)
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
