//! The `docker` subject: the guide's Pattern C done right, through bollard.
//!
//! - A session manager per tenancy keys users by [`user_dir_name`] (the
//!   SHA-256 of the id), never the raw id, and creates one container per
//!   user on first `open`; reopening returns the same container, so files
//!   persist (checkpoints and histories are kept in-process per user, like
//!   `state`, and persist with the tenancy too).
//! - The container has no network (`--network none`), an init that reaps
//!   orphans, a process and a memory limit and `no-new-privileges`, and
//!   `execute` runs as `nobody` (`container.rs`). Nothing of the host is
//!   mounted: a user's files live only in its container's `/workspace`.
//! - File operations go through one root shell in the container
//!   (`channel.rs`; a pool container keeps its shell for life): the tar
//!   archives Docker's archive API would carry (a tar extracted for
//!   `write`, a tar of the file for `read`, `[ -e ]` for `exists`; `ls`,
//!   `glob` and `grep` take the workspace once and reuse [`common`]'s
//!   semantics), base64 on the shell's stdin and stdout. Paths are
//!   normalized first, so `..` never leaves the workspace.
//! - `execute` runs `timeout N sh -c CMD` in the user's container via exec as
//!   [`SANDBOX_USER`].
//! - Containers are kept warm from case to case ([`pool`]): a tenancy's
//!   `shutdown` resets its containers and proves each clean (processes,
//!   IPC, `docker diff` against the image), or removes it; the next case
//!   takes them before creating any. [`DockerSubject::cold`] turns this off.
//! - Every container carries the labels `isocheck.subject`, `isocheck.run`
//!   and `isocheck.tenancy` (a warm container keeps those of the case that
//!   created it): the factory's `stop` removes every container of the run, `start`
//!   removes containers left by an isocheck process on this host that no
//!   longer exists (a `kill -9`), and the CLI removes the run's containers
//!   on Ctrl-C or SIGTERM before exiting.
//!
//! The engine is the one `DOCKER_HOST` names (default
//! `unix:///var/run/docker.sock`); `scripts/docker-engine.sh start` starts a
//! private one and builds the default image. The image is taken from
//! `ISOCHECK_DOCKER_IMAGE` (default [`DEFAULT_IMAGE`]); it needs `sh`,
//! `sleep`, `mkdir` and `timeout` (busybox has them).

mod channel;
mod container;
mod files;
mod pool;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bollard::errors::Error as DockerError;
use bollard::exec::CreateExecOptions;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::common::{self, GrepQuery};
use super::features::{reference_caps, Naming, ReferenceParts, Salts};
use super::local::user_dir_name;
use super::memory::{MemoryCheckpointStore, MemoryHistory};
use crate::profile::Profile;
use crate::subject::*;
pub use container::{Confinement, MEMORY_LIMIT, SANDBOX_USER};
pub use files::DockerBackend;
pub use pool::PoolStats;

/// The image `scripts/docker-engine.sh start` builds.
pub const DEFAULT_IMAGE: &str = "isocheck-sandbox:busybox";
/// Environment variable naming the sandbox image.
pub const IMAGE_ENV: &str = "ISOCHECK_DOCKER_IMAGE";
/// Label every container of this subject carries (value: the subject kind).
pub const LABEL_SUBJECT: &str = "isocheck.subject";
/// Label naming the run (one factory) a container belongs to.
pub const LABEL_RUN: &str = "isocheck.run";
/// Label naming the tenancy a container belongs to.
pub const LABEL_TENANCY: &str = "isocheck.tenancy";
const LABEL_PID: &str = "isocheck.pid";
const LABEL_HOST: &str = "isocheck.host";

const WORKSPACE: &str = "/workspace";
const MAX_OUTPUT: usize = 65536;
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);

/// How sessions map to containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One container per user (the subject `docker`).
    PerUser,
    /// One container for the whole tenancy, a directory per user inside it
    /// (the leaky fixture `docker-shared-container`).
    SharedContainer,
}

fn engine_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// The image to run: `ISOCHECK_DOCKER_IMAGE` or [`DEFAULT_IMAGE`].
pub fn image_from_env() -> String {
    std::env::var(IMAGE_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string())
}

fn status_of(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// An engine error as a subject error: 404 is not-found, other answers of
/// the engine are errors of the operation, and a failed connection means
/// the subject (its engine) is gone.
fn engine_err(what: &str, e: DockerError) -> SubjectError {
    match &e {
        DockerError::DockerResponseServerError {
            status_code: 404, ..
        } => SubjectError::NotFound(what.to_string()),
        DockerError::DockerResponseServerError { message, .. } => {
            SubjectError::Failed(format!("{what}: {}", message.trim()))
        }
        DockerError::RequestTimeoutError => {
            SubjectError::Timeout(format!("{what}: the Docker engine did not answer"))
        }
        _ => SubjectError::Crashed(format!("{what}: Docker engine: {e}")),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn label_filter(label: &str, value: &str) -> ListContainersOptions {
    ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{label}={value}")],
        )])),
        ..Default::default()
    }
}

/// Removes containers (forcefully), concurrently; returns how many went and
/// the first error other than "already gone".
pub(crate) async fn remove_all(docker: &Docker, ids: &[String]) -> (usize, Option<SubjectError>) {
    let results = futures_util::future::join_all(ids.iter().map(|id| async move {
        docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await
    }))
    .await;
    let mut removed = 0;
    let mut first = None;
    for (id, r) in ids.iter().zip(results) {
        match r {
            Ok(()) => removed += 1,
            // Gone already, or its removal is under way.
            Err(e) if matches!(status_of(&e), Some(404 | 409)) => {}
            Err(e) => {
                first.get_or_insert(engine_err(&format!("removing container {id}"), e));
            }
        }
    }
    (removed, first)
}

/// Ids of every container carrying `label=value`.
async fn labelled(docker: &Docker, label: &str, value: &str) -> SubjectResult<Vec<String>> {
    let list = docker
        .list_containers(Some(label_filter(label, value)))
        .await
        .map_err(|e| engine_err("listing containers", e))?;
    Ok(list.into_iter().filter_map(|c| c.id).collect())
}

/// Removes `known` and every container labelled `label=value` until none
/// is left: a removal can fail while an archive request on the container
/// is still in flight (vfs: "directory not empty"), and a creation under
/// way when the list was taken lands a moment later. Returns how many went.
async fn purge(
    docker: &Docker,
    known: Vec<String>,
    label: &str,
    value: &str,
) -> SubjectResult<usize> {
    let mut removed = 0;
    let mut ids = known;
    let mut last = None;
    for round in 0..6 {
        for id in labelled(docker, label, value).await? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Ok(removed);
        }
        if round > 0 {
            // Left over from the last round: give in-flight requests a moment.
            tokio::time::sleep(Duration::from_millis(100 << round.min(3))).await;
        }
        let (n, err) = remove_all(docker, &ids).await;
        removed += n;
        last = err;
        ids.clear();
    }
    let left = labelled(docker, label, value).await?;
    match (left.is_empty(), last) {
        (true, _) => Ok(removed),
        (false, Some(e)) => Err(e),
        (false, None) => Err(SubjectError::Failed(format!(
            "{} container(s) labelled {label}={value} could not be removed",
            left.len()
        ))),
    }
}

/// What a user gets, kept for the life of the tenancy (Pattern C persists).
struct UserBox {
    backend: Arc<dyn Backend>,
    checkpoints: Arc<MemoryCheckpointStore>,
    history: Arc<MemoryHistory>,
}

/// Where the tenancy's containers come from.
struct Engine {
    docker: Docker,
    image: String,
    run: String,
    kind: &'static str,
    /// Set on Ctrl-C: no new container is created.
    closing: AtomicBool,
    /// Container creations under way (the signal handler waits for them).
    creating: AtomicUsize,
    /// Warm containers (see [`pool`]); `None`: one container per user and
    /// case, removed with the case.
    pool: Option<pool::Pool>,
    confinement: Confinement,
}

struct DockerTenancy {
    engine: Arc<Engine>,
    id: String,
    layout: Layout,
    /// The session manager: user key (hash of the id) -> the user's box.
    users: Mutex<HashMap<String, Arc<OnceCell<Arc<UserBox>>>>>,
    /// The one container of [`Layout::SharedContainer`].
    shared: OnceCell<String>,
    /// Every container this tenancy started, for shutdown.
    started: Mutex<Vec<String>>,
    parts: ReferenceParts,
}

impl DockerTenancy {
    async fn new_container(&self, key: &str) -> SubjectResult<String> {
        let warm = self.engine.pool.as_ref().and_then(|p| p.take());
        let id = match warm {
            Some(id) => id,
            None => {
                let id = self.engine.container(&self.id, key).await?;
                if let Some(pool) = &self.engine.pool {
                    // A container whose pristine state could not be taken is
                    // used for this case and removed after it, never reused.
                    let _ = pool.adopt(&self.engine.docker, &id).await;
                }
                id
            }
        };
        self.started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.clone());
        Ok(id)
    }

    async fn make_box(&self, key: &str) -> SubjectResult<Arc<UserBox>> {
        let backend = match self.layout {
            Layout::PerUser => {
                let id = self.new_container(key).await?;
                let shell = self.engine.pool.as_ref().and_then(|p| p.shell(&id));
                DockerBackend::new(
                    self.engine.docker.clone(),
                    id,
                    WORKSPACE.into(),
                    self.engine.sandbox_user(),
                    shell,
                )
            }
            Layout::SharedContainer => {
                let container = self
                    .shared
                    .get_or_try_init(|| self.new_container("shared"))
                    .await?
                    .clone();
                let b = DockerBackend::new(
                    self.engine.docker.clone(),
                    container,
                    format!("{WORKSPACE}/{key}"),
                    self.engine.sandbox_user(),
                    None,
                );
                let r = b
                    .exec(
                        vec!["mkdir".into(), "-p".into(), b.root.clone()],
                        "/",
                        ENGINE_TIMEOUT,
                    )
                    .await?;
                if r.exit_code != Some(0) {
                    return Err(SubjectError::Failed(format!(
                        "mkdir {}: {}",
                        b.root, r.output
                    )));
                }
                if b.user.is_some() {
                    self.engine.give_sandbox_user(&b.container, &b.root).await?;
                }
                b
            }
        };
        Ok(Arc::new(UserBox {
            backend: Arc::new(backend),
            checkpoints: Arc::new(MemoryCheckpointStore::new()),
            history: Arc::new(MemoryHistory::new()),
        }))
    }
}

#[async_trait]
impl Tenancy for DockerTenancy {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        if user.is_empty() {
            return Err(SubjectError::Refused("empty user id".into()));
        }
        let key = user_dir_name(user);
        let cell = self
            .users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let b = cell.get_or_try_init(|| self.make_box(&key)).await?.clone();
        Ok(Session {
            features: Some(self.parts.open(&b.backend, user).await?),
            backend: b.backend.clone(),
            checkpoints: Some(b.checkpoints.clone()),
            history: Some(b.history.clone()),
        })
    }

    async fn seed_context(&self, path: &str, content: &str) -> SubjectResult<()> {
        self.parts.seeds.add(path, content);
        Ok(())
    }

    async fn shutdown(&self) -> SubjectResult<()> {
        let ids = std::mem::take(&mut *self.started.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(pool) = &self.engine.pool {
            // Reset and kept for the next case, or removed (see `pool`);
            // the run's `stop` removes whatever is left.
            pool.release(&self.engine.docker, ids).await;
            return Ok(());
        }
        purge(&self.engine.docker, ids, LABEL_TENANCY, &self.id)
            .await
            .map(|_| ())
    }
}

/// The `docker` subject (and, with [`Layout::SharedContainer`], its leaky
/// fixture).
pub struct DockerSubject {
    profile: Arc<Profile>,
    naming: Naming,
    layout: Layout,
    kind: &'static str,
    image: String,
    run: String,
    salts: Salts,
    tenancies: AtomicU64,
    engine: OnceCell<Arc<Engine>>,
    cleanup_on_signal: bool,
    signal_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Keep containers warm across cases (the default).
    warm: bool,
    /// How containers are confined; the unhardened fixture's host `/tmp`
    /// directory is created on connect and removed on `stop`.
    unhardened: bool,
}

impl DockerSubject {
    /// `kind` names the subject in labels and salts (`docker`, `docker-shared`).
    pub fn new(profile: Arc<Profile>, layout: Layout, kind: &'static str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Self {
            profile,
            naming: Naming::default(),
            layout,
            kind,
            image: image_from_env(),
            run: format!("{}-{nanos:x}", std::process::id()),
            salts: Salts::default(),
            tenancies: Default::default(),
            engine: OnceCell::new(),
            cleanup_on_signal: false,
            signal_task: Mutex::new(None),
            warm: true,
            unhardened: false,
        }
    }

    /// Containers without hardening (see [`Confinement::Unhardened`]); cold.
    pub fn unhardened(mut self) -> Self {
        self.unhardened = true;
        self.warm = false;
        self
    }

    /// The host directory the unhardened fixture mounts at `/tmp`.
    fn host_tmp(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("isocheck-unhardened-{}", self.run))
    }

    /// One container per user and case, created and removed with the case
    /// (no warm pool): slower, for comparison.
    pub fn cold(mut self) -> Self {
        self.warm = false;
        self
    }

    /// How the warm pool went so far (`None` when cold or not started).
    pub fn pool_stats(&self) -> Option<PoolStats> {
        self.engine.get()?.pool.as_ref().map(|p| p.stats())
    }

    /// The image to run instead of `ISOCHECK_DOCKER_IMAGE`'s.
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }

    /// On Ctrl-C or SIGTERM, remove the run's containers and exit with 130
    /// (the CLI's behaviour; a library user keeps its own signal handling).
    pub fn cleanup_on_signal(mut self) -> Self {
        self.cleanup_on_signal = true;
        self
    }

    /// The run id in the `isocheck.run` label of this factory's containers.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    async fn connect(&self) -> SubjectResult<Arc<Engine>> {
        let host = engine_host();
        let unreachable = |why: String| {
            SubjectError::Config(format!(
                "no Docker engine is reachable at {host} ({why}); start one with: eval \"$(scripts/docker-engine.sh start)\""
            ))
        };
        let docker = Docker::connect_with_defaults()
            .map_err(|e| unreachable(e.to_string()))?
            .with_timeout(Duration::from_secs(60));
        let docker = match tokio::time::timeout(ENGINE_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable("no answer within 10 s".into())),
        };
        match docker.inspect_image(&self.image).await {
            Ok(_) => {}
            Err(e) if status_of(&e) == Some(404) => {
                return Err(SubjectError::Config(format!(
                    "image {} is not in the Docker engine at {host} (scripts/docker-engine.sh start builds {DEFAULT_IMAGE}; or set {IMAGE_ENV})",
                    self.image
                )))
            }
            Err(e) => return Err(unreachable(e.to_string())),
        }
        Ok(Arc::new(Engine {
            docker,
            image: self.image.clone(),
            run: self.run.clone(),
            kind: self.kind,
            closing: AtomicBool::new(false),
            creating: AtomicUsize::new(0),
            pool: self.warm.then(pool::Pool::default),
            confinement: if self.unhardened {
                let tmp = self.host_tmp();
                std::fs::create_dir_all(&tmp).map_err(|e| {
                    SubjectError::Config(format!("creating {}: {e}", tmp.display()))
                })?;
                Confinement::Unhardened { tmp }
            } else {
                Confinement::Hardened
            },
        }))
    }

    /// Removes containers an isocheck process on this host left behind and
    /// can no longer remove (it was killed).
    async fn remove_orphans(docker: &Docker) {
        let Ok(list) = docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(HashMap::from([(
                    "label".to_string(),
                    vec![LABEL_SUBJECT.to_string()],
                )])),
                ..Default::default()
            }))
            .await
        else {
            return;
        };
        let me = hostname();
        let orphans: Vec<String> = list
            .into_iter()
            .filter(|c| {
                let labels = c.labels.clone().unwrap_or_default();
                let pid = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok());
                labels.get(LABEL_HOST) == Some(&me) && pid.is_some_and(|p| !pid_alive(p))
            })
            .filter_map(|c| c.id)
            .collect();
        if !orphans.is_empty() {
            let (n, _) = remove_all(docker, &orphans).await;
            eprintln!(
                "isocheck: removed {n} container(s) left by an isocheck run that no longer exists"
            );
        }
    }
}

/// Why the engine `DOCKER_HOST` names cannot run the `docker` subject (it
/// does not answer, or lacks the image), or `None` when it can. For tests
/// and tools deciding whether to skip.
pub fn engine_problem() -> Option<String> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Some(format!("cannot start a tokio runtime: {e}")),
    };
    let subject = DockerSubject::new(Arc::default(), Layout::PerUser, "docker");
    rt.block_on(async { subject.connect().await.err().map(|e| e.to_string()) })
}

#[async_trait]
impl SubjectFactory for DockerSubject {
    /// About 0.3 s a case with the warm pool: 100 s of search (about 25
    /// cases a family) and the run's start and stop stay under 2 minutes.
    fn default_budget(&self) -> Option<Duration> {
        Some(Duration::from_secs(100))
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            execute: true,
            ..reference_caps(Persistence::Persistent)
        }
    }

    async fn start(&self) -> SubjectResult<()> {
        let engine = self.engine.get_or_try_init(|| self.connect()).await?;
        Self::remove_orphans(&engine.docker).await;
        if self.cleanup_on_signal {
            let engine = engine.clone();
            let run = self.run.clone();
            let task = tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                // No new containers; let creations and archive requests
                // under way finish (a vfs root cannot be removed while a
                // request still writes into it), then remove everything.
                engine.closing.store(true, Ordering::SeqCst);
                for _ in 0..200 {
                    if engine.creating.load(Ordering::SeqCst) == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                let purged = purge(&engine.docker, Vec::new(), LABEL_RUN, &run).await;
                if let Confinement::Unhardened { tmp } = &engine.confinement {
                    let _ = std::fs::remove_dir_all(tmp);
                }
                match purged {
                    Ok(n) => eprintln!("isocheck: interrupted; removed {n} container(s)"),
                    Err(e) => eprintln!("isocheck: interrupted; removing containers failed: {e}"),
                }
                std::process::exit(130);
            });
            *self.signal_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        }
        Ok(())
    }

    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>> {
        let engine = self
            .engine
            .get_or_try_init(|| self.connect())
            .await?
            .clone();
        let n = self.tenancies.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(DockerTenancy {
            id: format!("{}-{n}", self.run),
            engine,
            layout: self.layout,
            users: Mutex::new(HashMap::new()),
            shared: OnceCell::new(),
            started: Mutex::new(Vec::new()),
            parts: ReferenceParts::new(self.kind, self.profile.clone(), self.naming, &self.salts),
        }))
    }

    async fn stop(&self) -> SubjectResult<()> {
        let task = self
            .signal_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            if self
                .engine
                .get()
                .is_some_and(|e| e.closing.load(Ordering::SeqCst))
            {
                // Interrupted: the handler removes the containers and exits
                // with 130; the run must not go on to print a report.
                let _ = task.await;
            } else {
                task.abort();
            }
        }
        let Some(engine) = self.engine.get() else {
            return Ok(());
        };
        let idle = engine.pool.as_ref().map(|p| p.drain()).unwrap_or_default();
        let purged = purge(&engine.docker, idle, LABEL_RUN, &self.run).await;
        if let Confinement::Unhardened { tmp } = &engine.confinement {
            let _ = std::fs::remove_dir_all(tmp);
        }
        purged.map(|_| ())
    }
}
