//! Findings, the checklist they map to, and the report renderers.
//!
//! The JSON form is a stable, versioned schema (`isocheck.report/v1`); it
//! holds no timings, temp paths or other values that change between runs
//! with the same seed, so it can be kept as a snapshot.

pub mod baseline;
pub mod failures;
mod html;
mod junit;
mod markdown;
pub mod outputs;
mod sarif;
mod text;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use text::{render_text, render_text_styled};

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

/// A report format (`--format`, `--output FORMAT=PATH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: checklist, scenarios, findings with traces.
    Text,
    /// The versioned JSON schema (`isocheck.report/v1`).
    Json,
    /// A GitHub step summary or PR comment.
    Markdown,
    /// JUnit XML: a test suite per scenario family.
    Junit,
    /// SARIF 2.1.0: a rule per scenario family, a result per finding.
    Sarif,
    /// One self-contained page: checklist, leak matrix, findings.
    Html,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Sarif => "sarif",
            Format::Html => "html",
        }
    }

    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Sarif,
        Format::Html,
    ];
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
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
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
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
    /// A user's sandbox lacks a hardening measure (sandbox-hardening).
    Hardening,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ContentLeak => "content-leak",
            Kind::ExistenceLeak => "existence-leak",
            Kind::Interference => "interference",
            Kind::Integrity => "integrity",
            Kind::Collision => "collision",
            Kind::Accumulation => "accumulation",
            Kind::Persistence => "persistence",
            Kind::Hardening => "hardening",
        }
    }

    pub fn headline(self) -> &'static str {
        match self {
            Kind::ContentLeak => "a user read data written by another user",
            Kind::ExistenceLeak => "a user saw that another user's data exists",
            Kind::Interference => "another user's operation removed or replaced a user's data",
            Kind::Integrity => "a user's own data was lost",
            Kind::Collision => "distinct names or ids share one storage location",
            Kind::Accumulation => "evicted results accumulate beyond the limit",
            Kind::Persistence => "persistence does not match the chosen pattern",
            Kind::Hardening => "the sandbox that runs a user's code is not hardened",
        }
    }
}

/// One step of a reproducing trace.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct TraceLine {
    pub step: usize,
    /// `run` for generated operations, `sweep` for the closing observations.
    #[serde(deserialize_with = "leak_str")]
    #[schemars(extend("enum" = ["run", "sweep"]))]
    pub phase: Label,
    pub user: String,
    pub op: String,
    pub outcome: String,
    /// Whether this line is the observation that shows the problem.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence: bool,
}

/// Where a finding was seen.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct Evidence {
    /// The kind of problem this observation shows.
    pub kind: Kind,
    /// The scenario whose case made the observation.
    pub scenario: String,
    pub observer: String,
    /// The other user involved: whose data leaked, or whose operation
    /// destroyed the observer's data (interference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub operation: String,
    pub step: usize,
    pub detail: String,
    /// Where the other user's data appeared: `read` (an operation's
    /// return), `listing`, `grep`, `exists`, `system-prompt`, `checkpoint`,
    /// `checkpoint-list`, `checkpoint-count`, `history`, `command-output`,
    /// `result` (the observer's own operation's result).
    #[serde(deserialize_with = "leak_str")]
    #[schemars(extend("enum" = ["read", "listing", "grep", "exists", "system-prompt", "tool-return", "checkpoint", "checkpoint-list", "checkpoint-count", "history", "command-output", "result"]))]
    pub seen_in: Label,
    /// How many observations in the minimal case show the same problem.
    pub occurrences: usize,
}

/// A phrase for [`Evidence::seen_in`].
pub fn seen_in_text(seen_in: &str) -> &'static str {
    match seen_in {
        "read" => "a read's return",
        "listing" => "a listing",
        "grep" => "a search's matches",
        "exists" => "an existence check",
        "system-prompt" => "the system prompt of the user's agent run",
        "tool-return" => "a tool's return",
        "checkpoint" => "a checkpoint's messages",
        "checkpoint-list" => "a checkpoint listing",
        "checkpoint-count" => "a checkpoint count",
        "history" => "the message history",
        "command-output" => "a command's output",
        _ => "the operation's result",
    }
}

/// One root cause, with its proof. Findings are ranked by severity, then
/// checklist item; `id` is the rank (`F1`), `fingerprint` is stable across
/// seeds and runs (for baselines).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct Finding {
    pub id: String,
    /// 16 hex digits from the checklist item, the cause class, the store
    /// and (for a family's own kind of problem) the scenario; never from
    /// the seed.
    pub fingerprint: String,
    /// The scenario whose minimal case is the proof below.
    pub scenario: String,
    pub checklist: String,
    pub title: String,
    pub kind: Kind,
    pub severity: Severity,
    /// The root cause class: `shared-store`, `id-alias/<class>`,
    /// `integrity`, `collision`, `accumulation`, `persistence`.
    pub cause: String,
    /// The cause in a sentence.
    pub cause_text: String,
    /// The store it showed on (`files`, `memory`, `plans`, `evicted`,
    /// `context`, `checkpoints`, `history`, `execute`, `reopen`).
    pub store: crate::check::Surface,
    pub users: Vec<String>,
    /// Who wrote what where, who saw it how, and why that is a leak.
    pub story: Vec<String>,
    pub evidence: Evidence,
    /// Weaker observations of the same cause (an existence leak under a
    /// content leak), from this or other scenarios.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supporting: Vec<Evidence>,
    /// Every place another user's data appeared, over all observations of
    /// this cause (see [`Evidence::seen_in`]).
    #[serde(deserialize_with = "leak_strs")]
    #[schemars(extend("items" = {"enum": ["read", "listing", "grep", "exists", "system-prompt", "tool-return", "checkpoint", "checkpoint-list", "checkpoint-count", "history", "command-output", "result"]}))]
    pub seen_in: Vec<Label>,
    /// Every scenario that saw this cause.
    pub witnesses: Vec<String>,
    pub trace: Vec<TraceLine>,
    pub replay: String,
    /// Accepted by `--baseline`: still reported, but it does not fail the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baselined: bool,
}

impl Finding {
    /// The finding's one-line headline, as the text report prints it:
    /// `F1 [critical] C1 shared-store: a user read ... (files)`.
    pub fn headline(&self) -> String {
        format!(
            "{} [{}] {} {}: {}",
            self.id,
            self.severity.as_str(),
            self.checklist,
            self.cause,
            self.title
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct ChecklistEntry {
    pub id: String,
    pub title: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How one scenario family went.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct ScenarioResult {
    pub name: String,
    /// `pass`, `fail`, `not-tested` (with a reason) or `aborted`.
    #[schemars(extend("enum" = ["pass", "fail", "not-tested", "aborted"]))]
    pub status: String,
    pub cases: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a family with hostile user ids: what each id class did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_classes: Vec<ClassVerdict>,
    /// For identifier-replay: what presenting each kind of identifier
    /// handed to one user as another user did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<IdentifierVerdict>,
}

/// What presenting one kind of identifier, handed to one user, as another
/// user did in a run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct IdentifierVerdict {
    /// `checkpoint-id`, `plan-path`, `evicted-path`, `memory-path`, or a
    /// kind the subject hands out at open (`thread_id`, ...).
    pub kind: String,
    /// `bypassed` (a finding names it), `enforced` (presented, and every
    /// answer refused it or showed only the presenter's own data),
    /// `shared-store` (plain users already share the store, so no verdict
    /// of its own) or `undetermined` (never presented after it was handed
    /// out, or no answer could show a leak).
    #[schemars(extend("enum" = ["bypassed", "enforced", "shared-store", "undetermined"]))]
    pub verdict: String,
    /// Times a user presented one handed to another user.
    pub presented: usize,
    /// Of them, those whose answer could show a leak (answered or refused;
    /// a reopened session: looked at afterwards).
    pub judged: usize,
}

/// What one class of hostile user ids did in a run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct ClassVerdict {
    /// The class (`dot`, `nesting`, ...).
    pub class: String,
    /// `aliased` (a finding names it), `refused` (the subject refused
    /// every id of it), `isolated` (tried, no leak), `shared-store` (tried,
    /// but plain ids already share the store, so no verdict of its own) or
    /// `not-tried`.
    #[schemars(extend("enum" = ["aliased", "refused", "isolated", "shared-store", "not-tried"]))]
    pub verdict: String,
    pub ids_tried: usize,
    pub ids_refused: usize,
}

/// Something a run could not judge, and why: a scenario that was not
/// tested, or a store a scenario speaks for that no case exercised.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct NotJudged {
    pub scenario: String,
    pub reason: String,
}

/// User ids the subject refused with the same error (not a leak; listed
/// so that a refusal is visible and never mistaken for a pass).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[schemars(deny_unknown_fields)]
pub struct Refusal {
    pub error: String,
    /// Distinct user ids refused with this error.
    pub users: usize,
    /// The first of them, in a printable form.
    pub example: String,
}

/// Operations the subject answered with the same error (the summary's
/// `subject_errors`, by operation and error; recorded, never a pass).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
pub struct SubjectErrors {
    /// The operation, as traces name it (`save_memory`, `ck_get`, ...).
    pub operation: String,
    /// The error, with the user id and absolute paths replaced.
    pub error: String,
    pub count: usize,
}

impl SubjectErrors {
    /// At most this many (operation, error) pairs are listed; the summary
    /// counts them all.
    pub const LISTED: usize = 20;

    /// The list of a report: the most frequent first (then by operation
    /// and error), at most [`Self::LISTED`].
    pub fn from_counts(
        counts: impl IntoIterator<Item = ((String, String), usize)>,
    ) -> Vec<SubjectErrors> {
        let mut out: Vec<SubjectErrors> = counts
            .into_iter()
            .map(|((operation, error), count)| SubjectErrors {
                operation,
                error,
                count,
            })
            .collect();
        out.sort_by(|a, b| {
            (b.count, &a.operation, &a.error).cmp(&(a.count, &b.operation, &b.error))
        });
        out.truncate(Self::LISTED);
        out
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(deny_unknown_fields)]
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
    /// Findings accepted by `--baseline` (counted in `findings` too).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub baselined: usize,
}

impl Summary {
    /// Sets the finding counts, total and by severity, from `findings`.
    pub fn count(&mut self, findings: &[Finding]) {
        self.findings = findings.len();
        (self.critical, self.high, self.medium, self.low) = (0, 0, 0, 0);
        for f in findings {
            match f.severity {
                Severity::Critical => self.critical += 1,
                Severity::High => self.high += 1,
                Severity::Medium => self.medium += 1,
                Severity::Low => self.low += 1,
            }
        }
    }
}

impl ScenarioResult {
    /// The identifier kinds grouped by verdict, in the order reports print
    /// them (`bypassed`, `shared-store`, `enforced`, `undetermined`).
    pub fn identifiers_by_verdict(&self) -> Vec<(&'static str, Vec<&str>)> {
        ["bypassed", "shared-store", "enforced", "undetermined"]
            .into_iter()
            .map(|verdict| {
                let of = self
                    .identifiers
                    .iter()
                    .filter(|c| c.verdict == verdict)
                    .map(|c| c.kind.as_str())
                    .collect::<Vec<_>>();
                (verdict, of)
            })
            .filter(|(_, of)| !of.is_empty())
            .collect()
    }

    /// One line per group of id classes and of identifier kinds with the
    /// same verdict: `id classes aliased: dot, nesting`, `identifiers
    /// enforced: checkpoint-id, plan-path`.
    pub fn verdict_lines(&self) -> Vec<String> {
        let classes = self
            .classes_by_verdict()
            .into_iter()
            .map(|(v, of)| format!("id classes {v}: {}", of.join(", ")));
        let kinds = self
            .identifiers_by_verdict()
            .into_iter()
            .map(|(v, of)| format!("identifiers {v}: {}", of.join(", ")));
        classes.chain(kinds).collect()
    }

    /// The id classes grouped by verdict, in the order reports print them
    /// (`aliased`, `refused`, `isolated`, `shared-store`, `not-tried`);
    /// verdicts no class had are left out.
    pub fn classes_by_verdict(&self) -> Vec<(&'static str, Vec<&str>)> {
        [
            "aliased",
            "refused",
            "isolated",
            "shared-store",
            "not-tried",
        ]
        .into_iter()
        .map(|verdict| {
            let of = self
                .id_classes
                .iter()
                .filter(|c| c.verdict == verdict)
                .map(|c| c.class.as_str())
                .collect::<Vec<_>>();
            (verdict, of)
        })
        .filter(|(_, of)| !of.is_empty())
        .collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
/// An `isocheck run` report.
#[schemars(deny_unknown_fields)]
pub struct Report {
    /// Always `isocheck.report/v1`.
    #[serde(deserialize_with = "leak_str")]
    #[schemars(extend("const" = "isocheck.report/v1"))]
    pub schema: Label,
    pub subject: String,
    /// The agent framework the subject declared (adapter handshake), with
    /// the installed package versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<crate::subject::Framework>,
    pub seed: u64,
    pub summary: Summary,
    pub checklist: Vec<ChecklistEntry>,
    pub scenarios: Vec<ScenarioResult>,
    pub findings: Vec<Finding>,
    pub refusals: Vec<Refusal>,
    /// What the subject errors of the summary were, the most frequent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SubjectErrors>,
    /// What could not be judged, and why (a pass never covers these).
    pub not_judged: Vec<NotJudged>,
    /// Set when the subject failed (crash, timeout, panic): isolation could
    /// not be fully judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_failure: Option<String>,
    /// The failure was a configuration mistake (exit code 2), not a
    /// failing subject (exit code 3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub config_error: bool,
    /// The subject could not even start: nothing ran, and the command line
    /// prints `subject_failure` alone instead of a report.
    #[serde(skip)]
    pub start_failed: bool,
    pub replay: String,
    /// Set when the run was interrupted (Ctrl-C, SIGTERM): the report holds
    /// what ran before, and is no verdict on what did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    /// The baseline file given with `--baseline`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// `--partition i/n`: this report holds one of n parts of the run's
    /// cases (`isocheck merge` combines them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

impl Report {
    /// The process exit code: 2 for a configuration error, 1 for findings
    /// at or above `fail_on` that no baseline accepts, else 3 if the
    /// subject failed, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if self.config_error {
            2
        } else if self
            .findings
            .iter()
            .any(|f| f.severity >= fail_on && !f.baselined)
        {
            1
        } else if self.subject_failure.is_some() || self.incomplete.is_some() {
            // An incomplete report (a timeout) judged too little to pass.
            3
        } else {
            0
        }
    }

    /// The report in `format` (`sarif_artifact`: see [`render_sarif`]).
    pub fn render(&self, format: Format, sarif_artifact: Option<&str>) -> String {
        match format {
            Format::Text => render_text(self),
            Format::Json => self.to_json(),
            Format::Markdown => render_markdown(self),
            Format::Junit => render_junit(self),
            Format::Sarif => render_sarif(self, sarif_artifact),
            Format::Html => render_html(self),
        }
    }

    /// The JSON Schema of [`Report`] (docs/report.schema.json).
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Report);
        let mut out = serde_json::to_string_pretty(&schema).expect("a schema serializes");
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a report always serializes");
        s.push('\n');
        s
    }

    /// Fails with the rendered report when there is any finding or subject
    /// failure: for `#[test]`s of a Rust backend.
    /// The JSON report with the seed hidden (`"seed": "[seed]"`, `--seed
    /// [seed]` in replay lines), for `insta::assert_json_snapshot!`: with a
    /// fixed seed the rest is the same on every run (no timings, no temp
    /// paths, no uuids).
    pub fn redacted(&self) -> serde_json::Value {
        let seed = format!("--seed {}", self.seed);
        let mut v = serde_json::to_value(self).expect("a report always serializes");
        fn walk(v: &mut serde_json::Value, seed: &str) {
            match v {
                serde_json::Value::String(s) if s.contains(seed) => {
                    *s = s.replace(seed, "--seed [seed]");
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(x, seed)),
                serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(x, seed)),
                _ => {}
            }
        }
        walk(&mut v, &seed);
        v["seed"] = "[seed]".into();
        v
    }

    pub fn assert_isolated(&self) {
        if !self.findings.is_empty() || self.subject_failure.is_some() {
            panic!("isocheck found isolation problems:\n{}", render_text(self));
        }
    }
}

/// A fixed label (a phase, a place, the schema). An alias, so that serde
/// does not borrow it from the input when a report is read back.
pub type Label = &'static str;

/// A label read back from a JSON report (`isocheck merge`): reports hold
/// `&'static str` labels, so the few read back are leaked (a handful of
/// short strings per merged report, in a process that then exits).
fn leak_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    Ok(Box::leak(String::deserialize(d)?.into_boxed_str()))
}

fn leak_strs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
    Ok(Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|s| &*Box::leak(s.into_boxed_str()))
        .collect())
}
