use serde::{Deserialize, Serialize};

/// What a subject offers. Anything `false` is reported as *not tested*.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The file operations of the backend (always required).
    pub files: bool,
    /// `execute(command, timeout)` on the backend.
    pub execute: bool,
    /// A checkpoint store per session.
    pub checkpoints: bool,
    /// A message-history store per session.
    pub history: bool,
    /// Which [`crate::subject::Features`] operations the session offers.
    #[serde(default)]
    pub features: FeatureCaps,
    /// The persistence pattern the subject declares, if any
    /// (`--expect-persistence` overrides it).
    #[serde(default)]
    pub persistence: Option<Persistence>,
}

/// Feature operations a subject offers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureCaps {
    #[serde(default)]
    pub memory: bool,
    #[serde(default)]
    pub plans: bool,
    #[serde(default)]
    pub eviction: bool,
    /// `Tenancy::seed_context`: context files shared by design.
    #[serde(default)]
    pub context: bool,
}

/// Whether a subject's memory and checkpoints survive reopening a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// State is lost when the session ends (the guide's Pattern A).
    Ephemeral,
    /// State survives across sessions (Patterns B and C).
    Persistent,
}

/// The agent framework a subject runs on, as its adapter declared it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Framework {
    pub name: String,
    /// The API generation the adapter drives (`backend`, `workspace`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// Installed package versions, by distribution name (sorted).
    pub versions: std::collections::BTreeMap<String, String>,
}

impl Framework {
    /// One line for the report header: `pydantic-deep 0.3.50 (workspace API;
    /// pydantic-ai-slim 2.62.0, ...)`.
    pub fn describe(&self) -> String {
        let mut s = self.name.clone();
        if let Some(v) = self.versions.get(&self.name) {
            s.push(' ');
            s.push_str(v);
        }
        let others: Vec<String> = self
            .versions
            .iter()
            .filter(|(k, _)| **k != self.name)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let mut inner = Vec::new();
        if let Some(g) = &self.generation {
            inner.push(format!("{g} API"));
        }
        if !others.is_empty() {
            inner.push(others.join(", "));
        }
        if !inner.is_empty() {
            s.push_str(&format!(" ({})", inner.join("; ")));
        }
        s
    }
}

impl Capabilities {
    /// Files, checkpoints and history; no execute, no feature operations.
    pub fn stores() -> Self {
        Capabilities {
            files: true,
            execute: false,
            checkpoints: true,
            history: true,
            features: FeatureCaps::default(),
            persistence: None,
        }
    }
}

/// An entry of `ls_info` / `glob_info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A line matched by `grep_raw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrepMatch {
    pub path: String,
    pub line_number: u64,
    pub line: String,
}

/// The result of `execute`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecResult {
    pub output: String,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub truncated: bool,
}

/// pydantic-deep's `Checkpoint` as far as isolation is concerned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub label: String,
    pub turn: u64,
    pub messages: Vec<String>,
    /// Monotonic creation stamp; `remove_oldest` removes the smallest.
    pub created_at: u64,
}

/// An error returned by (or about) the subject.
///
/// `Crashed` and `Timeout` are *fatal*: the subject can no longer be judged
/// and the run ends with exit code 3. The others are answers of a working
/// subject and are recorded in the history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum SubjectError {
    #[error("not found: {0}")]
    NotFound(String),
    /// The subject rejects the input (a user id, a path, a checkpoint id).
    #[error("refused: {0}")]
    Refused(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Any other error the subject returned.
    #[error("{0}")]
    Failed(String),
    #[error("subject crashed: {0}")]
    Crashed(String),
    #[error("subject timed out: {0}")]
    Timeout(String),
    /// The subject is misconfigured (an adapter's factory does not import,
    /// another protocol version): exit code 2.
    #[error("subject configuration error: {0}")]
    Config(String),
}

impl SubjectError {
    /// Whether the error means the subject itself is broken (exit code 3).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SubjectError::Crashed(_) | SubjectError::Timeout(_) | SubjectError::Config(_)
        )
    }

    /// A short stable name for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            SubjectError::NotFound(_) => "not-found",
            SubjectError::Refused(_) => "refused",
            SubjectError::Unsupported(_) => "unsupported",
            SubjectError::Failed(_) => "failed",
            SubjectError::Crashed(_) => "crashed",
            SubjectError::Timeout(_) => "timeout",
            SubjectError::Config(_) => "config",
        }
    }
}
