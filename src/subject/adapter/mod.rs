//! The adapter client: a subject reached through a separate process that
//! speaks newline-delimited JSON on its stdin/stdout (`isocheck.adapter/v1`,
//! see docs/adapter-protocol.md). The process is started by
//! [`SubjectFactory::start`], serves every tenancy of the run, and is
//! stopped (stdin closed, then killed after a grace period, always reaped)
//! by [`SubjectFactory::stop`].

pub mod conn;
mod debris;
pub mod protocol;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use self::conn::Conn;
use self::protocol::*;
use super::*;

/// Parses `CMD ARGS` and returns a factory that starts the process when the
/// run starts. Errors are configuration errors (exit code 2).
pub fn adapter_factory(command: &str) -> Result<Arc<dyn SubjectFactory>, String> {
    Ok(Arc::new(AdapterFactory::new(conn::split_command(command)?)))
}

/// A subject served by an adapter process.
pub struct AdapterFactory {
    argv: Vec<String>,
    conn: OnceLock<Arc<Conn>>,
    caps: OnceLock<Capabilities>,
    framework: OnceLock<Option<Framework>>,
    identifiers: OnceLock<Vec<String>>,
}

impl AdapterFactory {
    pub fn new(argv: Vec<String>) -> Self {
        Self {
            argv,
            conn: OnceLock::new(),
            caps: OnceLock::new(),
            identifiers: OnceLock::new(),
            framework: OnceLock::new(),
        }
    }

    /// The adapter's process id, once started.
    pub fn pid(&self) -> Option<u32> {
        self.conn.get().and_then(|c| c.pid())
    }

    fn conn(&self) -> SubjectResult<Arc<Conn>> {
        self.conn
            .get()
            .cloned()
            .ok_or_else(|| SubjectError::Crashed("the adapter is not running".into()))
    }
}

#[derive(Deserialize)]
struct TenancyId {
    tenancy: String,
}

#[derive(Deserialize)]
struct SessionId {
    session: String,
    #[serde(default)]
    identifiers: Identifiers,
}

#[async_trait]
impl SubjectFactory for AdapterFactory {
    /// The capabilities the adapter announced (nothing before `start`).
    fn capabilities(&self) -> Capabilities {
        self.caps.get().cloned().unwrap_or_default()
    }

    fn framework(&self) -> Option<Framework> {
        self.framework.get().cloned().flatten()
    }

    fn identifiers(&self) -> Vec<String> {
        self.identifiers.get().cloned().unwrap_or_default()
    }

    async fn start(&self) -> SubjectResult<()> {
        if self.conn.get().is_some() {
            return Ok(());
        }
        let (conn, hello) = Conn::start(&self.argv).await?;
        let conn::Handshake {
            caps,
            identifiers,
            subject,
            framework,
        } = hello;
        let subject = subject.unwrap_or_default();
        eprintln!(
            "isocheck: adapter '{}' (pid {}) serves {subject}",
            conn.command(),
            conn.pid()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into())
        );
        if let Some(f) = &framework {
            eprintln!("isocheck: the subject runs on {}", f.describe());
        }
        let _ = self.caps.set(caps);
        let _ = self.identifiers.set(identifiers);
        let _ = self.framework.set(framework);
        if self.conn.set(conn.clone()).is_err() {
            conn.stop().await;
        }
        Ok(())
    }

    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>> {
        let conn = self.conn()?;
        let t: TenancyId = conn.call_timed(Call::NewTenancy).await?;
        Ok(Box::new(AdapterTenancy {
            conn,
            id: t.tenancy,
            caps: self.capabilities(),
        }))
    }

    async fn stop(&self) -> SubjectResult<()> {
        if let Some(c) = self.conn.get() {
            c.stop().await;
        }
        Ok(())
    }
}

/// One tenancy held by the adapter.
pub struct AdapterTenancy {
    conn: Arc<Conn>,
    id: String,
    caps: Capabilities,
}

#[async_trait]
impl Tenancy for AdapterTenancy {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        self.open_presenting(user, None).await.map(|(s, _)| s)
    }

    async fn open_presenting(
        &self,
        user: &str,
        presented: Option<(&str, &str)>,
    ) -> SubjectResult<(Session, Identifiers)> {
        let s: SessionId = self
            .conn
            .call(Call::Open {
                tenancy: self.id.clone(),
                user: user.to_string(),
                present: presented
                    .map(|(k, v)| Identifiers::from([(k.to_string(), v.to_string())])),
            })
            .await?;
        let session = Arc::new(AdapterSession {
            conn: self.conn.clone(),
            id: s.session,
        });
        let f = &self.caps.features;
        let session = Session {
            backend: session.clone(),
            checkpoints: self
                .caps
                .checkpoints
                .then(|| session.clone() as Arc<dyn CheckpointStore>),
            history: self
                .caps
                .history
                .then(|| session.clone() as Arc<dyn HistoryStore>),
            features: (f.memory || f.plans || f.eviction)
                .then(|| session.clone() as Arc<dyn Features>),
        };
        Ok((session, s.identifiers))
    }

    async fn seed_context(&self, path: &str, content: &str) -> SubjectResult<()> {
        if !self.caps.features.context {
            return Err(SubjectError::Unsupported(
                "seed_context (the adapter does not declare features.context)".into(),
            ));
        }
        let _: Option<Unit> = self
            .conn
            .call(Call::SeedContext {
                tenancy: self.id.clone(),
                path: path.into(),
                content: content.into(),
            })
            .await?;
        Ok(())
    }

    async fn shutdown(&self) -> SubjectResult<()> {
        self.conn
            .call_timed::<serde_json::Value>(Call::CloseTenancy {
                tenancy: self.id.clone(),
            })
            .await
            .map(|_| ())
    }
}

/// One user's session in the adapter.
pub struct AdapterSession {
    conn: Arc<Conn>,
    id: String,
}

/// `null` (the unit result).
#[derive(Deserialize)]
struct Unit;

impl AdapterSession {
    fn sid(&self) -> String {
        self.id.clone()
    }

    async fn unit(&self, call: Call) -> SubjectResult<()> {
        let _: Option<Unit> = self.conn.call(call).await?;
        Ok(())
    }
}

#[async_trait]
impl Backend for AdapterSession {
    async fn ls_info(&self, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let v: Vec<WireFileInfo> = self
            .conn
            .call(Call::LsInfo {
                session: self.sid(),
                path: path.into(),
            })
            .await?;
        Ok(v.into_iter().map(Into::into).collect())
    }

    async fn read(&self, path: &str, offset: usize, limit: usize) -> SubjectResult<String> {
        self.conn
            .call(Call::Read {
                session: self.sid(),
                path: path.into(),
                offset: offset as u64,
                limit: limit as u64,
            })
            .await
    }

    async fn read_bytes(&self, path: &str) -> SubjectResult<Vec<u8>> {
        let h: String = self
            .conn
            .call(Call::ReadBytes {
                session: self.sid(),
                path: path.into(),
            })
            .await?;
        hex::decode(&h).map_err(|e| {
            SubjectError::Crashed(format!(
                "the adapter's reply to read_bytes is not hex ({e}): {}",
                conn::quote(&h)
            ))
        })
    }

    async fn write(&self, path: &str, content: &str) -> SubjectResult<()> {
        self.unit(Call::Write {
            session: self.sid(),
            path: path.into(),
            content: content.into(),
        })
        .await
    }

    async fn edit(
        &self,
        path: &str,
        old: &str,
        new: &str,
        replace_all: bool,
    ) -> SubjectResult<usize> {
        self.conn
            .call(Call::Edit {
                session: self.sid(),
                path: path.into(),
                old: old.into(),
                new: new.into(),
                replace_all,
            })
            .await
    }

    async fn glob_info(&self, pattern: &str, path: &str) -> SubjectResult<Vec<FileInfo>> {
        let v: Vec<WireFileInfo> = self
            .conn
            .call(Call::GlobInfo {
                session: self.sid(),
                pattern: pattern.into(),
                path: path.into(),
            })
            .await?;
        Ok(v.into_iter().map(Into::into).collect())
    }

    async fn grep_raw(
        &self,
        pattern: &str,
        path: Option<&str>,
        glob: Option<&str>,
    ) -> SubjectResult<Vec<GrepMatch>> {
        let v: Vec<WireGrepMatch> = self
            .conn
            .call(Call::GrepRaw {
                session: self.sid(),
                pattern: pattern.into(),
                path: path.map(Into::into),
                glob: glob.map(Into::into),
            })
            .await?;
        Ok(v.into_iter().map(Into::into).collect())
    }

    async fn exists(&self, path: &str) -> SubjectResult<bool> {
        self.conn
            .call(Call::Exists {
                session: self.sid(),
                path: path.into(),
            })
            .await
    }

    async fn execute(&self, command: &str, timeout: Option<Duration>) -> SubjectResult<ExecResult> {
        let r: WireExecResult = self
            .conn
            .call(Call::Execute {
                session: self.sid(),
                command: command.into(),
                timeout: timeout.map(|t| t.as_secs().max(1)),
            })
            .await?;
        Ok(r.into())
    }
}

#[async_trait]
impl CheckpointStore for AdapterSession {
    async fn save(&self, checkpoint: Checkpoint) -> SubjectResult<()> {
        self.unit(Call::CkSave {
            session: self.sid(),
            checkpoint: checkpoint.into(),
        })
        .await
    }

    async fn get(&self, id: &str) -> SubjectResult<Option<Checkpoint>> {
        let c: Option<WireCheckpoint> = self
            .conn
            .call(Call::CkGet {
                session: self.sid(),
                checkpoint_id: id.into(),
            })
            .await?;
        Ok(c.map(Into::into))
    }

    async fn get_by_label(&self, label: &str) -> SubjectResult<Option<Checkpoint>> {
        let c: Option<WireCheckpoint> = self
            .conn
            .call(Call::CkGetByLabel {
                session: self.sid(),
                label: label.into(),
            })
            .await?;
        Ok(c.map(Into::into))
    }

    async fn list_all(&self) -> SubjectResult<Vec<Checkpoint>> {
        let v: Vec<WireCheckpoint> = self
            .conn
            .call(Call::CkList {
                session: self.sid(),
            })
            .await?;
        Ok(v.into_iter().map(Into::into).collect())
    }

    async fn remove(&self, id: &str) -> SubjectResult<bool> {
        self.conn
            .call(Call::CkRemove {
                session: self.sid(),
                checkpoint_id: id.into(),
            })
            .await
    }

    async fn remove_oldest(&self) -> SubjectResult<bool> {
        self.conn
            .call(Call::CkRemoveOldest {
                session: self.sid(),
            })
            .await
    }

    async fn count(&self) -> SubjectResult<usize> {
        self.conn
            .call(Call::CkCount {
                session: self.sid(),
            })
            .await
    }

    async fn clear(&self) -> SubjectResult<()> {
        self.unit(Call::CkClear {
            session: self.sid(),
        })
        .await
    }
}

#[async_trait]
impl HistoryStore for AdapterSession {
    async fn append(&self, message: &str) -> SubjectResult<()> {
        self.unit(Call::HistAppend {
            session: self.sid(),
            message: message.into(),
        })
        .await
    }

    async fn get(&self) -> SubjectResult<Vec<String>> {
        self.conn
            .call(Call::HistGet {
                session: self.sid(),
            })
            .await
    }
}

#[async_trait]
impl Features for AdapterSession {
    async fn save_memory(&self, agent: &str, content: &str) -> SubjectResult<String> {
        self.conn
            .call(Call::SaveMemory {
                session: self.sid(),
                agent: agent.into(),
                content: content.into(),
            })
            .await
    }

    async fn read_memory(&self, agent: &str) -> SubjectResult<Option<String>> {
        self.conn
            .call(Call::ReadMemory {
                session: self.sid(),
                agent: agent.into(),
            })
            .await
    }

    async fn save_plan(&self, title: &str, content: &str) -> SubjectResult<String> {
        self.conn
            .call(Call::SavePlan {
                session: self.sid(),
                title: title.into(),
                content: content.into(),
            })
            .await
    }

    async fn evict(&self, call_id: &str, content: &str) -> SubjectResult<String> {
        self.conn
            .call(Call::Evict {
                session: self.sid(),
                call_id: call_id.into(),
                content: content.into(),
            })
            .await
    }
}
