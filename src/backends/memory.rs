//! In-memory backend, checkpoint store and history: pydantic-ai-backends'
//! `StateBackend` and pydantic-deep's `InMemoryCheckpointStore`, and the
//! `state` subject built from them (the guide's Pattern A: a fresh set per
//! session, so nothing is shared and nothing persists).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::common::{self, GrepQuery};
use super::features::{reference_caps, Naming, ReferenceParts, Salts};
use crate::profile::Profile;
use crate::subject::*;

/// A file tree held in memory (pydantic-ai-backends' `StateBackend`).
#[derive(Default)]
pub struct MemoryBackend {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> R) -> R {
        // A poisoned lock only means another task panicked mid-operation;
        // the map itself is still consistent (every mutation is one call).
        let mut guard = self.files.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

fn sized(files: &BTreeMap<String, Vec<u8>>) -> impl Iterator<Item = (&str, u64)> {
    files.iter().map(|(p, c)| (p.as_str(), c.len() as u64))
}

#[async_trait]
impl Backend for MemoryBackend {
    async fn ls_info(&self, path: &str) -> SubjectResult<Vec<FileInfo>> {
        Ok(self.with(|f| common::ls_from_files(sized(f), path)))
    }

    async fn read(&self, path: &str, offset: usize, limit: usize) -> SubjectResult<String> {
        let bytes = self.read_bytes(path).await?;
        Ok(common::format_read(&bytes, offset, limit))
    }

    async fn read_bytes(&self, path: &str) -> SubjectResult<Vec<u8>> {
        let path = common::normalize(path);
        self.with(|f| f.get(&path).cloned())
            .ok_or(SubjectError::NotFound(path))
    }

    async fn write(&self, path: &str, content: &str) -> SubjectResult<()> {
        let path = common::normalize(path);
        if path == "/" {
            return Err(SubjectError::Failed("cannot write to /".into()));
        }
        self.with(|f| f.insert(path, content.as_bytes().to_vec()));
        Ok(())
    }

    async fn edit(
        &self,
        path: &str,
        old: &str,
        new: &str,
        replace_all: bool,
    ) -> SubjectResult<usize> {
        let path = common::normalize(path);
        self.with(|f| {
            let content = f
                .get(&path)
                .ok_or_else(|| SubjectError::NotFound(path.clone()))?;
            let (updated, n) = common::apply_edit(content, old, new, replace_all, &path)?;
            f.insert(path.clone(), updated.into_bytes());
            Ok(n)
        })
    }

    async fn glob_info(&self, pattern: &str, path: &str) -> SubjectResult<Vec<FileInfo>> {
        self.with(|f| common::glob_files(sized(f), pattern, path))
    }

    async fn grep_raw(
        &self,
        pattern: &str,
        path: Option<&str>,
        glob: Option<&str>,
    ) -> SubjectResult<Vec<GrepMatch>> {
        let query = GrepQuery::new(pattern, path, glob)?;
        Ok(self.with(|f| {
            let mut out = Vec::new();
            for (p, content) in f.iter().filter(|(p, _)| query.wants(p)) {
                query.search(p, content, &mut out);
            }
            out
        }))
    }

    async fn exists(&self, path: &str) -> SubjectResult<bool> {
        let path = common::normalize(path);
        Ok(self.with(|f| path == "/" || f.keys().any(|p| common::is_under(p, &path))))
    }
}

/// pydantic-deep's `InMemoryCheckpointStore`.
#[derive(Default)]
pub struct MemoryCheckpointStore {
    items: Mutex<Vec<Checkpoint>>,
}

impl MemoryCheckpointStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<Checkpoint>) -> R) -> R {
        let mut guard = self.items.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }
}

/// The checkpoint-store semantics both reference stores share, over a list
/// kept in creation order.
pub mod checkpoint_ops {
    use crate::subject::Checkpoint;

    pub fn save(items: &mut Vec<Checkpoint>, cp: Checkpoint) {
        items.retain(|c| c.id != cp.id);
        items.push(cp);
        items.sort_by_key(|c| c.created_at);
    }

    pub fn by_label(items: &[Checkpoint], label: &str) -> Option<Checkpoint> {
        items
            .iter()
            .filter(|c| c.label == label)
            .max_by_key(|c| c.created_at)
            .cloned()
    }

    pub fn remove(items: &mut Vec<Checkpoint>, id: &str) -> bool {
        let before = items.len();
        items.retain(|c| c.id != id);
        items.len() != before
    }

    pub fn remove_oldest(items: &mut Vec<Checkpoint>) -> bool {
        match items
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.created_at)
            .map(|(i, _)| i)
        {
            Some(i) => {
                items.remove(i);
                true
            }
            None => false,
        }
    }
}

#[async_trait]
impl CheckpointStore for MemoryCheckpointStore {
    async fn save(&self, checkpoint: Checkpoint) -> SubjectResult<()> {
        self.with(|v| checkpoint_ops::save(v, checkpoint));
        Ok(())
    }
    async fn get(&self, id: &str) -> SubjectResult<Option<Checkpoint>> {
        Ok(self.with(|v| v.iter().find(|c| c.id == id).cloned()))
    }
    async fn get_by_label(&self, label: &str) -> SubjectResult<Option<Checkpoint>> {
        Ok(self.with(|v| checkpoint_ops::by_label(v, label)))
    }
    async fn list_all(&self) -> SubjectResult<Vec<Checkpoint>> {
        Ok(self.with(|v| v.clone()))
    }
    async fn remove(&self, id: &str) -> SubjectResult<bool> {
        Ok(self.with(|v| checkpoint_ops::remove(v, id)))
    }
    async fn remove_oldest(&self) -> SubjectResult<bool> {
        Ok(self.with(checkpoint_ops::remove_oldest))
    }
    async fn count(&self) -> SubjectResult<usize> {
        Ok(self.with(|v| v.len()))
    }
    async fn clear(&self) -> SubjectResult<()> {
        self.with(|v| v.clear());
        Ok(())
    }
}

/// A message history held in memory.
#[derive(Default)]
pub struct MemoryHistory {
    messages: Mutex<Vec<String>>,
}

impl MemoryHistory {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl HistoryStore for MemoryHistory {
    async fn append(&self, message: &str) -> SubjectResult<()> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.to_string());
        Ok(())
    }
    async fn get(&self) -> SubjectResult<Vec<String>> {
        Ok(self
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
}

/// A session made of fresh in-memory parts.
pub fn fresh_session() -> Session {
    Session {
        backend: Arc::new(MemoryBackend::new()),
        checkpoints: Some(Arc::new(MemoryCheckpointStore::new())),
        history: Some(Arc::new(MemoryHistory::new())),
        features: None,
    }
}

/// The `state` subject: Pattern A, a fresh in-memory set per session.
/// Memory, plans and evicted results are named by [`ReferenceFeatures`];
/// context files are copied into every new session.
#[derive(Default)]
pub struct StateSubject {
    pub profile: Arc<Profile>,
    pub naming: Naming,
    salts: Salts,
}

impl StateSubject {
    pub fn new(profile: Arc<Profile>, naming: Naming) -> Self {
        Self {
            profile,
            naming,
            salts: Salts::default(),
        }
    }
}

struct StateTenancy {
    parts: ReferenceParts,
}

#[async_trait]
impl Tenancy for StateTenancy {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        let mut s = fresh_session();
        s.features = Some(self.parts.open(&s.backend, user).await?);
        Ok(s)
    }

    async fn seed_context(&self, path: &str, content: &str) -> SubjectResult<()> {
        self.parts.seeds.add(path, content);
        Ok(())
    }
}

#[async_trait]
impl SubjectFactory for StateSubject {
    fn capabilities(&self) -> Capabilities {
        reference_caps(Persistence::Ephemeral)
    }
    fn independent_tenancies(&self) -> bool {
        true // in memory only; salts are taken in creation order
    }
    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>> {
        Ok(Box::new(StateTenancy {
            parts: ReferenceParts::new("state", self.profile.clone(), self.naming, &self.salts),
        }))
    }
}
