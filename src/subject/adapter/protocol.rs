//! The wire types of the adapter protocol `isocheck.adapter/v1`
//! (newline-delimited JSON; see docs/adapter-protocol.md).
//!
//! These are deliberately separate from the subject types in
//! [`crate::subject`]: the protocol is a public contract and changes only
//! with its version, whatever the harness does inside.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::subject as s;

/// The protocol version this client speaks.
pub const PROTOCOL: &str = "isocheck.adapter/v1";

/// The adapter's first line on stdout, before any request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Must be `isocheck.adapter/v1`.
    pub protocol: String,
    /// A short description of the subject (for the log), e.g. `pattern-a`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What every tenancy offers. Required unless `error` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<WireCapabilities>,
    /// The adapter cannot serve: the factory does not import (`config`),
    /// or the environment lacks something (`unsupported`, e.g. no Docker).
    /// isocheck then stops with exit code 2 and prints the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HelloError>,
    /// The agent framework the subject runs on, as the adapter found it
    /// installed (optional; shown in the report header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<WireFramework>,
}

/// The agent framework behind the subject: which one, which API generation
/// the adapter speaks to it, and the installed versions of the agent
/// packages it found (pydantic-deep, pydantic-ai-slim, deepagents, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireFramework {
    /// The framework, e.g. `pydantic-deep`.
    pub name: String,
    /// The API generation the adapter drives, e.g. `backend` (pydantic-deep
    /// 0.3.44: `DeepAgentDeps(backend=...)`) or `workspace` (0.3.50:
    /// `create_deep_agent(workspace=...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// Installed package versions, by distribution name.
    #[serde(default)]
    pub versions: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HelloError {
    pub kind: HelloErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum HelloErrorKind {
    Config,
    Unsupported,
}

/// What the subject offers; anything `false` is reported as *not tested*.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireCapabilities {
    /// File operations (ls_info, read, read_bytes, write, edit, glob_info, grep_raw, exists).
    #[serde(default)]
    pub files: bool,
    /// `execute`.
    #[serde(default)]
    pub execute: bool,
    /// The `ck_*` checkpoint-store operations.
    #[serde(default)]
    pub checkpoints: bool,
    /// `hist_append` / `hist_get`.
    #[serde(default)]
    pub history: bool,
    #[serde(default)]
    pub features: WireFeatureCaps,
    /// Whether a user's memory and checkpoints survive reopening the
    /// session (`open` again for the same user in the same tenancy): what
    /// the persistence family (C4) checks against. Optional: when absent,
    /// isocheck needs `--expect-persistence` for that family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<WirePersistence>,
    /// The kinds of identifier the app hands to a user when its session
    /// opens and accepts back from the user (`thread_id`, `session_id`):
    /// `open` then answers them in `identifiers`, and takes one in
    /// `present`. The identifier-replay family presents one user's to
    /// another. Optional: absent, no such identifier is tested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<String>,
}

/// The persistence pattern a subject declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WirePersistence {
    /// Nothing survives a reopened session (the guide's Pattern A).
    Ephemeral,
    /// Memory and checkpoints survive a reopened session (Patterns B, C).
    Persistent,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireFeatureCaps {
    /// `save_memory` / `read_memory`.
    #[serde(default)]
    pub memory: bool,
    /// `save_plan`.
    #[serde(default)]
    pub plans: bool,
    /// `evict`.
    #[serde(default)]
    pub eviction: bool,
    /// `seed_context`: the tenancy can hold context files shared by design
    /// (`/DEEP.md`, `/AGENTS.md`) that every session it opens then serves.
    #[serde(default)]
    pub context: bool,
}

/// A request from isocheck. Every request carries a fresh `id`; the reply
/// carries the same `id`. Many requests may be in flight at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub call: Call,
}

/// The operation of a request (the `op` field) and its arguments.
/// The comment of each says what `ok` holds in the reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    /// A fresh tenancy (one per generated case). ok: `{"tenancy": ID}`.
    NewTenancy,
    /// Release a tenancy and everything it holds (temp dirs, containers). ok: `null`.
    CloseTenancy { tenancy: String },
    /// Seed a context file shared by design (`/DEEP.md`, `/AGENTS.md`) for
    /// every session the tenancy opens; sent before any `open` of the
    /// tenancy, only when `features.context` is declared. ok: `null`.
    SeedContext {
        tenancy: String,
        path: String,
        content: String,
    },
    /// Open (or reopen) the session of `user`. ok: `{"session": ID}`, plus
    /// `"identifiers": {kind: value}` when the handshake declares kinds;
    /// error kind `refused` when the app rejects the user id (or the
    /// identifier presented).
    Open {
        tenancy: String,
        user: String,
        /// The identifier the user presents, `{kind: value}` (only kinds the
        /// handshake declared); absent: the user's own client, presenting
        /// what the app gave it before, or nothing on a first visit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        present: Option<std::collections::BTreeMap<String, String>>,
    },
    /// ok: array of FileInfo.
    LsInfo { session: String, path: String },
    /// ok: string (the backend's presentation, e.g. numbered lines).
    Read {
        session: String,
        path: String,
        offset: u64,
        limit: u64,
    },
    /// ok: string, the bytes in lowercase hex.
    ReadBytes { session: String, path: String },
    /// ok: `null`.
    Write {
        session: String,
        path: String,
        content: String,
    },
    /// ok: integer, the occurrences replaced.
    Edit {
        session: String,
        path: String,
        old: String,
        new: String,
        replace_all: bool,
    },
    /// ok: array of FileInfo.
    GlobInfo {
        session: String,
        pattern: String,
        path: String,
    },
    /// ok: array of GrepMatch.
    GrepRaw {
        session: String,
        pattern: String,
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        glob: Option<String>,
    },
    /// ok: boolean.
    Exists { session: String, path: String },
    /// ok: ExecResult.
    Execute {
        session: String,
        command: String,
        /// Seconds; `null` for the backend's default.
        #[serde(default)]
        timeout: Option<u64>,
    },
    /// ok: `null`.
    CkSave {
        session: String,
        checkpoint: WireCheckpoint,
    },
    /// ok: Checkpoint or `null`.
    CkGet {
        session: String,
        checkpoint_id: String,
    },
    /// ok: Checkpoint or `null`.
    CkGetByLabel { session: String, label: String },
    /// ok: array of Checkpoint, oldest first.
    CkList { session: String },
    /// ok: boolean (whether it existed).
    CkRemove {
        session: String,
        checkpoint_id: String,
    },
    /// ok: boolean (whether one was removed).
    CkRemoveOldest { session: String },
    /// ok: integer.
    CkCount { session: String },
    /// ok: `null`.
    CkClear { session: String },
    /// ok: `null`.
    HistAppend { session: String, message: String },
    /// ok: array of strings.
    HistGet { session: String },
    /// ok: string, the path written.
    SaveMemory {
        session: String,
        agent: String,
        content: String,
    },
    /// ok: string, or `null` when there is no memory.
    ReadMemory { session: String, agent: String },
    /// ok: string, the path written.
    SavePlan {
        session: String,
        title: String,
        content: String,
    },
    /// ok: string, the path written.
    Evict {
        session: String,
        call_id: String,
        content: String,
    },
}

impl Call {
    pub fn name(&self) -> &'static str {
        match self {
            Call::NewTenancy => "new_tenancy",
            Call::CloseTenancy { .. } => "close_tenancy",
            Call::SeedContext { .. } => "seed_context",
            Call::Open { .. } => "open",
            Call::LsInfo { .. } => "ls_info",
            Call::Read { .. } => "read",
            Call::ReadBytes { .. } => "read_bytes",
            Call::Write { .. } => "write",
            Call::Edit { .. } => "edit",
            Call::GlobInfo { .. } => "glob_info",
            Call::GrepRaw { .. } => "grep_raw",
            Call::Exists { .. } => "exists",
            Call::Execute { .. } => "execute",
            Call::CkSave { .. } => "ck_save",
            Call::CkGet { .. } => "ck_get",
            Call::CkGetByLabel { .. } => "ck_get_by_label",
            Call::CkList { .. } => "ck_list",
            Call::CkRemove { .. } => "ck_remove",
            Call::CkRemoveOldest { .. } => "ck_remove_oldest",
            Call::CkCount { .. } => "ck_count",
            Call::CkClear { .. } => "ck_clear",
            Call::HistAppend { .. } => "hist_append",
            Call::HistGet { .. } => "hist_get",
            Call::SaveMemory { .. } => "save_memory",
            Call::ReadMemory { .. } => "read_memory",
            Call::SavePlan { .. } => "save_plan",
            Call::Evict { .. } => "evict",
        }
    }
}

/// A reply: exactly one of `ok` and `error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Reply {
    Ok {
        id: u64,
        /// The result; its shape depends on the request's `op`.
        ok: serde_json::Value,
    },
    Error {
        id: u64,
        error: WireError,
    },
}

/// An answer of a working subject that is not a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The path, checkpoint or memory does not exist.
    NotFound,
    /// The subject rejects the input (typically a user id at `open`).
    Refused,
    /// The subject does not offer this operation.
    Unsupported,
    /// Any other error the subject returned.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireFileInfo {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireGrepMatch {
    pub path: String,
    pub line_number: u64,
    pub line: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireExecResult {
    pub output: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub truncated: bool,
}

/// A checkpoint as isocheck sees it. Adapters map it to the app's own
/// type (pydantic-deep: `messages` become user prompts, `created_at` a
/// timestamp) and back, keeping every field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireCheckpoint {
    pub id: String,
    pub label: String,
    pub turn: u64,
    pub messages: Vec<String>,
    /// A monotonic creation stamp; `ck_remove_oldest` removes the smallest.
    pub created_at: u64,
}

/// Every message of the protocol, for the JSON Schema.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "isocheck.adapter/v1")]
pub enum Message {
    Hello(Hello),
    Request(Request),
    Reply(Reply),
}

/// The JSON Schema of the protocol (docs/adapter-protocol.schema.json).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Message);
    let mut out = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    out.push('\n');
    out
}

impl From<WireCapabilities> for s::Capabilities {
    fn from(c: WireCapabilities) -> Self {
        s::Capabilities {
            files: c.files,
            execute: c.execute,
            checkpoints: c.checkpoints,
            history: c.history,
            features: s::FeatureCaps {
                memory: c.features.memory,
                plans: c.features.plans,
                eviction: c.features.eviction,
                context: c.features.context,
            },
            // Undeclared: the persistence family needs --expect-persistence.
            persistence: c.persistence.map(Into::into),
        }
    }
}

impl From<WirePersistence> for s::Persistence {
    fn from(p: WirePersistence) -> Self {
        match p {
            WirePersistence::Ephemeral => s::Persistence::Ephemeral,
            WirePersistence::Persistent => s::Persistence::Persistent,
        }
    }
}

impl From<WireFileInfo> for s::FileInfo {
    fn from(f: WireFileInfo) -> Self {
        s::FileInfo {
            path: f.path,
            is_dir: f.is_dir,
            size: f.size,
        }
    }
}

impl From<WireGrepMatch> for s::GrepMatch {
    fn from(m: WireGrepMatch) -> Self {
        s::GrepMatch {
            path: m.path,
            line_number: m.line_number,
            line: m.line,
        }
    }
}

impl From<WireExecResult> for s::ExecResult {
    fn from(e: WireExecResult) -> Self {
        s::ExecResult {
            output: e.output,
            exit_code: e.exit_code,
            truncated: e.truncated,
        }
    }
}

impl From<WireCheckpoint> for s::Checkpoint {
    fn from(c: WireCheckpoint) -> Self {
        s::Checkpoint {
            id: c.id,
            label: c.label,
            turn: c.turn,
            messages: c.messages,
            created_at: c.created_at,
        }
    }
}

impl From<s::Checkpoint> for WireCheckpoint {
    fn from(c: s::Checkpoint) -> Self {
        WireCheckpoint {
            id: c.id,
            label: c.label,
            turn: c.turn,
            messages: c.messages,
            created_at: c.created_at,
        }
    }
}

impl From<WireError> for s::SubjectError {
    fn from(e: WireError) -> Self {
        match e.kind {
            ErrorKind::NotFound => s::SubjectError::NotFound(e.message),
            ErrorKind::Refused => s::SubjectError::Refused(e.message),
            ErrorKind::Unsupported => s::SubjectError::Unsupported(e.message),
            ErrorKind::Failed => s::SubjectError::Failed(e.message),
        }
    }
}
