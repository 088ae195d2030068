//! Findings, the checklist they map to, and the report renderers.
//!
//! The JSON form is a stable, versioned schema (`isocheck.report/v1`); it
//! holds no timings, temp paths or other values that change between runs
//! with the same seed, so it can be kept as a snapshot.

mod text;

use serde::Serialize;

pub use text::render_text;

/// The schema id of the JSON report.
pub const SCHEMA: &str = "isocheck.report/v1";

/// The guide's five checklist items, in its order.
pub const CHECKLIST: [(&str, &str); 5] = [
    ("C1", "separate backend per user"),
    ("C2", "separate checkpoint store per user"),
    ("C3", "message histories per user"),
    ("C4", "memory persistence matches the chosen pattern"),
    ("C5", "sandboxed execution of untrusted code"),
];

/// Items beyond the checklist.
pub const EXTRA: [(&str, &str); 3] = [
    ("X1", "a user's own data is lost or corrupted"),
    (
        "X2",
        "distinct names or generated ids share one storage location",
    ),
    ("X3", "evicted results accumulate beyond the limit"),
];

pub fn item_title(id: &str) -> &'static str {
    CHECKLIST
        .iter()
        .chain(EXTRA.iter())
        .find(|(i, _)| *i == id)
        .map(|(_, t)| *t)
        .unwrap_or("")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What kind of problem a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A user saw data another user wrote.
    ContentLeak,
    /// A user saw that another user's data exists (names, counts).
    ExistenceLeak,
    /// Another user's operation removed or replaced a user's data.
    Interference,
    /// A user's own data was lost with no other user involved.
    Integrity,
    /// Two distinct names (agents, call ids) or generated ids of one user
    /// were stored in the same place, or ids are too short to stay distinct.
    Collision,
    /// Files accumulate beyond the configured limit.
    Accumulation,
    /// State persisted, or did not, against the declared pattern.
    Persistence,
}

impl Kind {
    pub fn headline(self) -> &'static str {
        match self {
            Kind::ContentLeak => "a user read data written by another user",
            Kind::ExistenceLeak => "a user saw that another user's data exists",
            Kind::Interference => "another user's operation removed or replaced a user's data",
            Kind::Integrity => "a user's own data was lost",
            Kind::Collision => "distinct names or ids share one storage location",
            Kind::Accumulation => "evicted results accumulate beyond the limit",
            Kind::Persistence => "persistence does not match the chosen pattern",
        }
    }
}

/// One step of a reproducing trace.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TraceLine {
    pub step: usize,
    /// `run` for generated operations, `sweep` for the closing observations.
    pub phase: &'static str,
    pub user: String,
    pub op: String,
    pub outcome: String,
    /// Whether this line is the observation that shows the problem.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub evidence: bool,
}

/// Where a finding was seen.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Evidence {
    pub observer: String,
    /// The other user involved: whose data leaked, or whose operation
    /// destroyed the observer's data (interference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub operation: String,
    pub step: usize,
    pub detail: String,
    /// How many observations in the minimal case show the same problem.
    pub occurrences: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub scenario: String,
    pub checklist: String,
    pub title: String,
    pub kind: Kind,
    pub severity: Severity,
    pub users: Vec<String>,
    pub evidence: Evidence,
    pub trace: Vec<TraceLine>,
    pub replay: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotTested,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotTested => "not-tested",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChecklistEntry {
    pub id: String,
    pub title: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How one scenario family went.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScenarioResult {
    pub name: String,
    /// `pass`, `fail`, `not-tested` (with a reason) or `aborted`.
    pub status: String,
    pub cases: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Something a run could not judge, and why: a scenario that was not
/// tested, or a store a scenario speaks for that no case exercised.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NotJudged {
    pub scenario: String,
    pub reason: String,
}

/// User ids the subject refused with the same error (not a leak; listed
/// so that a refusal is visible and never mistaken for a pass).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusal {
    pub error: String,
    /// Distinct user ids refused with this error.
    pub users: usize,
    /// The first of them, in a printable form.
    pub example: String,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub cases: usize,
    pub operations: usize,
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    /// Cases re-run while shrinking failures.
    pub shrink_runs: usize,
    /// Operations the subject answered with an error (recorded, never a
    /// pass), beyond not-found answers and edits whose text was absent.
    pub subject_errors: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    pub schema: &'static str,
    pub subject: String,
    pub seed: u64,
    pub summary: Summary,
    pub checklist: Vec<ChecklistEntry>,
    pub scenarios: Vec<ScenarioResult>,
    pub findings: Vec<Finding>,
    pub refusals: Vec<Refusal>,
    /// What could not be judged, and why (a pass never covers these).
    pub not_judged: Vec<NotJudged>,
    /// Set when the subject failed (crash, timeout, panic): isolation could
    /// not be fully judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_failure: Option<String>,
    /// The failure was a configuration mistake (exit code 2), not a
    /// failing subject (exit code 3).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub config_error: bool,
    pub replay: String,
    /// Set when the run was interrupted (Ctrl-C, SIGTERM): the report holds
    /// what ran before, and is no verdict on what did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

impl Report {
    /// The process exit code: 2 for a configuration error, 1 for findings
    /// at or above `fail_on`, else 3 if the subject failed, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if self.config_error {
            2
        } else if self.findings.iter().any(|f| f.severity >= fail_on) {
            1
        } else if self.subject_failure.is_some() {
            3
        } else {
            0
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a report always serializes");
        s.push('\n');
        s
    }

    /// Fails with the rendered report when there is any finding or subject
    /// failure: for `#[test]`s of a Rust backend.
    pub fn assert_isolated(&self) {
        if !self.findings.is_empty() || self.subject_failure.is_some() {
            panic!("isocheck found isolation problems:\n{}", render_text(self));
        }
    }
}
