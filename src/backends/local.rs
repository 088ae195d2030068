//! A per-user directory backend, a file checkpoint store and a file history,
//! and the `local` subject built from them (the guide's Pattern B done right).
//!
//! Two things make it safe where the guide's `f"/workspaces/{user_id}"` is not:
//! - [`user_dir_name`] maps user ids to directory names injectively and
//!   without any special meaning: no traversal (`..`, `/`), no nesting
//!   (`alice` vs `alice/x`), no case or Unicode aliasing (`Alice`, NFC/NFD).
//! - [`LocalBackend::resolve`] keeps every virtual path inside the user's
//!   root: `..` stops at the root, absolute paths such as
//!   `/.deep/memory/main/MEMORY.md` are taken relative to the root, and a
//!   path through a symbolic link is refused.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::common::{self, GrepQuery};
use super::features::{reference_caps, Naming, ReferenceParts, Salts};
use super::memory::checkpoint_ops;
use crate::profile::Profile;
use crate::subject::*;

/// Injective, filesystem-safe directory name for a user id: `u-` and the
/// SHA-256 of the id's bytes in lowercase hex. Distinct ids get distinct
/// names (up to SHA-256 collisions), and no name is special to any
/// filesystem, case-insensitive ones included.
pub fn user_dir_name(user: &str) -> String {
    format!("u-{}", hex::encode(Sha256::digest(user.as_bytes())))
}

fn io_err(e: std::io::Error, what: &str) -> SubjectError {
    match e.kind() {
        ErrorKind::NotFound => SubjectError::NotFound(what.to_string()),
        _ => SubjectError::Failed(format!("{what}: {e}")),
    }
}

/// A backend rooted at one directory of the host filesystem.
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// A backend whose virtual `/` is `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> SubjectResult<Self> {
        let root = root.into();
        fs::create_dir_all(&root)
            .map_err(|e| SubjectError::Refused(format!("cannot create root: {e}")))?;
        Ok(Self { root })
    }

    /// Host path for a virtual path, never outside the root. Refuses a path
    /// whose existing components include a symbolic link.
    pub fn resolve(&self, path: &str) -> SubjectResult<(String, PathBuf)> {
        if path.contains('\0') {
            return Err(SubjectError::Refused("path contains NUL".into()));
        }
        let virt = common::normalize(path);
        let mut host = self.root.clone();
        for seg in virt.split('/').filter(|s| !s.is_empty()) {
            host.push(seg);
            match fs::symlink_metadata(&host) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(SubjectError::Refused(format!(
                        "{virt}: symbolic links are not followed"
                    )))
                }
                _ => {}
            }
        }
        Ok((virt, host))
    }

    /// Every regular file under the root as (virtual path, size), without
    /// following links.
    fn walk(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![(self.root.clone(), String::new())];
        while let Some((dir, virt)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(ft) = entry.file_type() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                let v = format!("{virt}/{name}");
                if ft.is_dir() {
                    stack.push((entry.path(), v));
                } else if ft.is_file() {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    out.push((v, size));
                }
            }
        }
        out.sort();
        out
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn ls_info(&self, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let (virt, host) = self.resolve(path)?;
        let mut out = Vec::new();
        let entries = match fs::read_dir(&host) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(e, &virt)),
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            let size = if ft.is_file() {
                entry.metadata().ok().map(|m| m.len())
            } else {
                None
            };
            out.push(FileInfo {
                path: common::join(&virt, &name),
                is_dir: ft.is_dir(),
                size,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn read(&self, path: &str, offset: usize, limit: usize) -> SubjectResult<String> {
        Ok(common::format_read(
            &self.read_bytes(path).await?,
            offset,
            limit,
        ))
    }

    async fn read_bytes(&self, path: &str) -> SubjectResult<Vec<u8>> {
        let (virt, host) = self.resolve(path)?;
        if host.is_dir() {
            return Err(SubjectError::Failed(format!("{virt} is a directory")));
        }
        fs::read(&host).map_err(|e| io_err(e, &virt))
    }

    async fn write(&self, path: &str, content: &str) -> SubjectResult<()> {
        let (virt, host) = self.resolve(path)?;
        if virt == "/" {
            return Err(SubjectError::Failed("cannot write to /".into()));
        }
        if let Some(parent) = host.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(e, &virt))?;
        }
        fs::write(&host, content).map_err(|e| io_err(e, &virt))
    }

    async fn edit(
        &self,
        path: &str,
        old: &str,
        new: &str,
        replace_all: bool,
    ) -> SubjectResult<usize> {
        let (virt, host) = self.resolve(path)?;
        let content = fs::read(&host).map_err(|e| io_err(e, &virt))?;
        let (updated, n) = common::apply_edit(&content, old, new, replace_all, &virt)?;
        fs::write(&host, updated).map_err(|e| io_err(e, &virt))?;
        Ok(n)
    }

    async fn glob_info(&self, pattern: &str, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let (base, _) = self.resolve(path)?;
        let files = self.walk();
        common::glob_files(files.iter().map(|(p, s)| (p.as_str(), *s)), pattern, &base)
    }

    async fn grep_raw(
        &self,
        pattern: &str,
        path: Option<&str>,
        glob: Option<&str>,
    ) -> SubjectResult<Vec<GrepMatch>> {
        if let Some(p) = path {
            self.resolve(p)?;
        }
        let query = GrepQuery::new(pattern, path, glob)?;
        let mut out = Vec::new();
        for (virt, _) in self.walk().iter().filter(|(p, _)| query.wants(p)) {
            if let Ok((_, host)) = self.resolve(virt) {
                if let Ok(content) = fs::read(&host) {
                    query.search(virt, &content, &mut out);
                }
            }
        }
        Ok(out)
    }

    async fn exists(&self, path: &str) -> SubjectResult<bool> {
        let (_, host) = self.resolve(path)?;
        Ok(host.exists())
    }
}

/// pydantic-deep's `FileCheckpointStore`: one JSON file per checkpoint in
/// one directory. File names are digests of the checkpoint id, so hostile
/// ids (`../other/x`, absolute paths) cannot name a file elsewhere.
pub struct FileCheckpointStore {
    dir: PathBuf,
}

impl FileCheckpointStore {
    pub fn new(dir: impl Into<PathBuf>) -> SubjectResult<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| SubjectError::Refused(format!("cannot create checkpoint dir: {e}")))?;
        Ok(Self { dir })
    }

    fn file_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            hex::encode(Sha256::digest(id.as_bytes()))
        ))
    }

    fn load_all(&self) -> SubjectResult<Vec<Checkpoint>> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|e| io_err(e, "checkpoint dir"))?;
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                out.push(read_checkpoint(&entry.path())?);
            }
        }
        out.sort_by_key(|c| c.created_at);
        Ok(out)
    }

    fn rewrite(&self, items: &[Checkpoint]) -> SubjectResult<()> {
        for entry in fs::read_dir(&self.dir)
            .map_err(|e| io_err(e, "checkpoint dir"))?
            .flatten()
        {
            if entry.path().extension().is_some_and(|e| e == "json") {
                fs::remove_file(entry.path()).map_err(|e| io_err(e, "checkpoint"))?;
            }
        }
        for cp in items {
            self.store(cp)?;
        }
        Ok(())
    }

    fn store(&self, cp: &Checkpoint) -> SubjectResult<()> {
        let json = serde_json::to_vec(cp).map_err(|e| SubjectError::Failed(e.to_string()))?;
        fs::write(self.file_of(&cp.id), json).map_err(|e| io_err(e, "checkpoint"))
    }
}

fn read_checkpoint(path: &Path) -> SubjectResult<Checkpoint> {
    let bytes = fs::read(path).map_err(|e| io_err(e, "checkpoint"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SubjectError::Failed(format!("corrupt checkpoint file: {e}")))
}

#[async_trait]
impl CheckpointStore for FileCheckpointStore {
    async fn save(&self, checkpoint: Checkpoint) -> SubjectResult<()> {
        self.store(&checkpoint)
    }
    async fn get(&self, id: &str) -> SubjectResult<Option<Checkpoint>> {
        match read_checkpoint(&self.file_of(id)) {
            Ok(cp) if cp.id == id => Ok(Some(cp)),
            Ok(_) | Err(SubjectError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
    async fn get_by_label(&self, label: &str) -> SubjectResult<Option<Checkpoint>> {
        Ok(checkpoint_ops::by_label(&self.load_all()?, label))
    }
    async fn list_all(&self) -> SubjectResult<Vec<Checkpoint>> {
        self.load_all()
    }
    async fn remove(&self, id: &str) -> SubjectResult<bool> {
        match fs::remove_file(self.file_of(id)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(e, "checkpoint")),
        }
    }
    async fn remove_oldest(&self) -> SubjectResult<bool> {
        let mut items = self.load_all()?;
        let removed = checkpoint_ops::remove_oldest(&mut items);
        self.rewrite(&items)?;
        Ok(removed)
    }
    async fn count(&self) -> SubjectResult<usize> {
        Ok(self.load_all()?.len())
    }
    async fn clear(&self) -> SubjectResult<()> {
        self.rewrite(&[])
    }
}

/// A message history kept as JSON lines in one file.
pub struct FileHistory {
    file: PathBuf,
}

impl FileHistory {
    pub fn new(file: impl Into<PathBuf>) -> Self {
        Self { file: file.into() }
    }
}

#[async_trait]
impl HistoryStore for FileHistory {
    async fn append(&self, message: &str) -> SubjectResult<()> {
        let line =
            serde_json::to_string(message).map_err(|e| SubjectError::Failed(e.to_string()))?;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .map_err(|e| io_err(e, "history"))?;
        writeln!(f, "{line}").map_err(|e| io_err(e, "history"))
    }
    async fn get(&self) -> SubjectResult<Vec<String>> {
        let text = match fs::read_to_string(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(e, "history")),
        };
        text.lines()
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| SubjectError::Failed(format!("corrupt history: {e}")))
            })
            .collect()
    }
}

/// A temp root with `workspaces/`, `checkpoints/` and `histories/`, removed
/// when dropped.
pub struct TempRoot {
    dir: tempfile::TempDir,
}

impl TempRoot {
    pub fn new(prefix: &str) -> SubjectResult<Self> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| SubjectError::Crashed(format!("cannot create temp dir: {e}")))?;
        for sub in ["workspaces", "checkpoints", "histories"] {
            fs::create_dir_all(dir.path().join(sub))
                .map_err(|e| SubjectError::Crashed(e.to_string()))?;
        }
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The `local` subject: Pattern B with a safe user-to-directory mapping.
/// Sessions of the same user share its directories, so state persists.
#[derive(Default)]
pub struct LocalSubject {
    pub profile: Arc<Profile>,
    pub naming: Naming,
    salts: Salts,
}

impl LocalSubject {
    pub fn new(profile: Arc<Profile>, naming: Naming) -> Self {
        Self {
            profile,
            naming,
            salts: Salts::default(),
        }
    }
}

struct LocalTenancy {
    root: TempRoot,
    parts: ReferenceParts,
}

#[async_trait]
impl Tenancy for LocalTenancy {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        if user.is_empty() {
            return Err(SubjectError::Refused("empty user id".into()));
        }
        let name = user_dir_name(user);
        let base = self.root.path();
        let backend: Arc<dyn Backend> =
            Arc::new(LocalBackend::new(base.join("workspaces").join(&name))?);
        Ok(Session {
            features: Some(self.parts.open(&backend, user).await?),
            backend,
            checkpoints: Some(Arc::new(FileCheckpointStore::new(
                base.join("checkpoints").join(&name),
            )?)),
            history: Some(Arc::new(FileHistory::new(
                base.join("histories").join(format!("{name}.jsonl")),
            ))),
        })
    }

    async fn seed_context(&self, path: &str, content: &str) -> SubjectResult<()> {
        self.parts.seeds.add(path, content);
        Ok(())
    }
}

#[async_trait]
impl SubjectFactory for LocalSubject {
    fn capabilities(&self) -> Capabilities {
        reference_caps(Persistence::Persistent)
    }
    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>> {
        Ok(Box::new(LocalTenancy {
            root: TempRoot::new("isocheck-local-")?,
            parts: ReferenceParts::new("local", self.profile.clone(), self.naming, &self.salts),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dir_names_do_not_alias() {
        let ids = [
            "alice",
            "Alice",
            "alice ",
            "../alice",
            "alice/x",
            ".",
            "",
            "caf\u{e9}",
            "cafe\u{301}",
            "a\0b",
        ];
        let names: std::collections::BTreeSet<_> = ids.iter().map(|i| user_dir_name(i)).collect();
        assert_eq!(names.len(), ids.len());
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')));
    }

    #[tokio::test]
    async fn paths_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("secret.txt");
        fs::write(&outside, "secret").unwrap();
        let b = LocalBackend::new(tmp.path().join("root")).unwrap();
        assert!(matches!(
            b.read_bytes("../secret.txt").await,
            Err(SubjectError::NotFound(_))
        ));
        b.write("/../../x.txt", "x").await.unwrap();
        assert!(tmp.path().join("root/x.txt").exists());
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("root/link")).unwrap();
        assert!(matches!(
            b.read_bytes("/link/secret.txt").await,
            Err(SubjectError::Refused(_))
        ));
        let all = b.glob_info("**/*", "/").await.unwrap();
        assert_eq!(
            all.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            vec!["/x.txt"]
        );
    }
}
