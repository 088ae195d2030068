//! The subject under test: a *tenancy* that maps a user id to a [`Session`].
//!
//! A session bundles what one user's agent run gets: a file [`Backend`] (the
//! operations of pydantic-ai-backends' `BackendProtocol`), and optionally a
//! [`CheckpointStore`] (pydantic-deep's `CheckpointStore`) and a
//! [`HistoryStore`] (the app's per-user message history). What a subject
//! lacks is declared in its [`Capabilities`] and reported as *not tested*.

pub mod adapter;
mod types;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use types::*;

/// Identifiers an app handed to a user, by kind (`thread_id` -> value).
pub type Identifiers = std::collections::BTreeMap<String, String>;

/// Result of a subject operation.
pub type SubjectResult<T> = Result<T, SubjectError>;

/// Something that hands out one [`Session`] per user id.
///
/// A fresh tenancy is created for every generated case (see [`SubjectFactory`]),
/// so state never carries over between cases unless the subject keeps it
/// outside the tenancy on purpose (which is what a leaky app does).
#[async_trait]
pub trait Tenancy: Send + Sync {
    /// Opens (or reopens) the session of `user`. Refusing a user id is
    /// allowed: return [`SubjectError::Refused`].
    async fn open(&self, user: &str) -> SubjectResult<Session>;

    /// Opens the session of `user` the way the app's client does: with the
    /// identifier it presents (`(kind, value)`, e.g. a thread id from the
    /// request), or none. Returns the session and the identifiers the app
    /// handed to the user for it (kinds declared by
    /// [`SubjectFactory::identifiers`]). Subjects that hand out none keep
    /// the default: [`Tenancy::open`], and presenting is unsupported.
    async fn open_presenting(
        &self,
        user: &str,
        presented: Option<(&str, &str)>,
    ) -> SubjectResult<(Session, Identifiers)> {
        match presented {
            None => Ok((self.open(user).await?, Identifiers::new())),
            Some((kind, _)) => Err(SubjectError::Unsupported(format!(
                "presenting a {kind} at open"
            ))),
        }
    }

    /// Seeds a context file shared by design (`/DEEP.md`, `/AGENTS.md`)
    /// before any session is opened. Declared by `FeatureCaps::context`.
    async fn seed_context(&self, _path: &str, _content: &str) -> SubjectResult<()> {
        Err(SubjectError::Unsupported("seed_context".into()))
    }

    /// Releases everything the tenancy holds (temp dirs, containers, ...).
    async fn shutdown(&self) -> SubjectResult<()> {
        Ok(())
    }
}

/// Creates tenancies: one per generated case.
#[async_trait]
pub trait SubjectFactory: Send + Sync {
    /// What the subject offers; the same for every tenancy it creates.
    fn capabilities(&self) -> Capabilities;
    /// The agent framework the subject declared (an adapter's handshake),
    /// once started; `None` when it declares none.
    fn framework(&self) -> Option<Framework> {
        None
    }
    /// Called once, inside the run's async runtime, before any case (start
    /// an adapter process, connect to a daemon). A
    /// [`SubjectError::Config`] here ends the run with exit code 2.
    async fn start(&self) -> SubjectResult<()> {
        Ok(())
    }
    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>>;
    /// The kinds of identifier the app hands to its users at open and
    /// accepts back from them (`thread_id`, `session_id`, ...), which the
    /// identifier-replay family presents as another user. Empty by default.
    fn identifiers(&self) -> Vec<String> {
        Vec::new()
    }
    /// The time budget a run of this subject gets when neither `--cases`
    /// nor `--budget` is given: for subjects slow by nature (a container
    /// per user), so that the default run ends in bounded time. None by
    /// default (256 cases per family, fully determined by the seed).
    fn default_budget(&self) -> Option<std::time::Duration> {
        None
    }
    /// Whether tenancies are independent of one another: nothing one
    /// creates or does is seen by another (no process, container pool,
    /// directory or module state in common), so cases may run at the same
    /// time. False by default; an in-process subject whose every tenancy
    /// is fresh says true.
    fn independent_tenancies(&self) -> bool {
        false
    }
    /// Called once after the last case, whatever happened (stop processes,
    /// remove containers). Must be safe to call after a failed `start`.
    async fn stop(&self) -> SubjectResult<()> {
        Ok(())
    }
}

/// What one user gets from the tenancy.
#[derive(Clone)]
pub struct Session {
    pub backend: Arc<dyn Backend>,
    pub checkpoints: Option<Arc<dyn CheckpointStore>>,
    pub history: Option<Arc<dyn HistoryStore>>,
    /// The app's own stateful features, when it exposes them; checks then
    /// use the app's naming instead of the profile's.
    pub features: Option<Arc<dyn Features>>,
}

/// Feature operations: what the framework itself writes to the backend.
/// Each returns the path it wrote, so checks learn the app's naming.
#[async_trait]
pub trait Features: Send + Sync {
    /// Saves `content` as the memory of agent `agent` (pydantic-deep's
    /// memory tool: `/.deep/memory/{agent}/MEMORY.md`).
    async fn save_memory(&self, _agent: &str, _content: &str) -> SubjectResult<String> {
        Err(SubjectError::Unsupported("save_memory".into()))
    }
    /// Reads the memory of agent `agent` (`None` if there is none).
    async fn read_memory(&self, _agent: &str) -> SubjectResult<Option<String>> {
        Err(SubjectError::Unsupported("read_memory".into()))
    }
    /// Saves a plan from a title (`/plans/{slug}-{id}.md`).
    async fn save_plan(&self, _title: &str, _content: &str) -> SubjectResult<String> {
        Err(SubjectError::Unsupported("save_plan".into()))
    }
    /// Evicts a large tool result under a tool-call id (`/large_tool_results/{call_id}`).
    async fn evict(&self, _call_id: &str, _content: &str) -> SubjectResult<String> {
        Err(SubjectError::Unsupported("evict".into()))
    }
}

/// File operations of pydantic-ai-backends' `BackendProtocol`.
///
/// Paths are the agent's virtual paths (`/notes.md`, `/.deep/memory/main/MEMORY.md`).
#[async_trait]
pub trait Backend: Send + Sync {
    async fn ls_info(&self, path: &str) -> SubjectResult<Vec<FileInfo>>;
    /// Lines `offset..offset+limit`, in whatever presentation the backend uses
    /// (pydantic-ai-backends numbers them like `cat -n`).
    async fn read(&self, path: &str, offset: usize, limit: usize) -> SubjectResult<String>;
    async fn read_bytes(&self, path: &str) -> SubjectResult<Vec<u8>>;
    async fn write(&self, path: &str, content: &str) -> SubjectResult<()>;
    /// Replaces `old` by `new`; returns the number of occurrences replaced.
    async fn edit(
        &self,
        path: &str,
        old: &str,
        new: &str,
        replace_all: bool,
    ) -> SubjectResult<usize>;
    async fn glob_info(&self, pattern: &str, path: &str) -> SubjectResult<Vec<FileInfo>>;
    async fn grep_raw(
        &self,
        pattern: &str,
        path: Option<&str>,
        glob: Option<&str>,
    ) -> SubjectResult<Vec<GrepMatch>>;
    async fn exists(&self, path: &str) -> SubjectResult<bool>;
    /// Optional capability (declared in [`Capabilities::execute`]).
    async fn execute(
        &self,
        _command: &str,
        _timeout: Option<Duration>,
    ) -> SubjectResult<ExecResult> {
        Err(SubjectError::Unsupported("execute".into()))
    }
}

/// pydantic-deep's `CheckpointStore`.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn save(&self, checkpoint: Checkpoint) -> SubjectResult<()>;
    async fn get(&self, id: &str) -> SubjectResult<Option<Checkpoint>>;
    async fn get_by_label(&self, label: &str) -> SubjectResult<Option<Checkpoint>>;
    async fn list_all(&self) -> SubjectResult<Vec<Checkpoint>>;
    async fn remove(&self, id: &str) -> SubjectResult<bool>;
    async fn remove_oldest(&self) -> SubjectResult<bool>;
    async fn count(&self) -> SubjectResult<usize>;
    async fn clear(&self) -> SubjectResult<()>;
}

/// A per-user message history (what the app passes as `message_history=`).
#[async_trait]
pub trait HistoryStore: Send + Sync {
    async fn append(&self, message: &str) -> SubjectResult<()>;
    async fn get(&self) -> SubjectResult<Vec<String>>;
}
