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
}

impl SubjectError {
    /// Whether the error means the subject itself is broken (exit code 3).
    pub fn is_fatal(&self) -> bool {
        matches!(self, SubjectError::Crashed(_) | SubjectError::Timeout(_))
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
        }
    }
}
