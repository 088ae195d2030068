//! Creating a container and how it is confined: the hardened sandbox of
//! the `docker` subject, or the unhardened one of its fixture (see
//! sandbox-hardening).

use super::*;

/// How a container is confined (see sandbox-hardening).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confinement {
    /// No network, an init, a memory and a process limit,
    /// `no-new-privileges`, nothing of the host mounted, and `execute` as
    /// [`SANDBOX_USER`] (who owns the workspace): the `docker` subject.
    Hardened,
    /// Host network and IPC, no memory or process limit, root on a
    /// writable root filesystem, the host directory `tmp` mounted at `/tmp`
    /// in every user's container, and the engine's own socket (when
    /// `DOCKER_HOST` names a `unix://` one) at `/var/run/docker.sock` (the
    /// fixture `docker-unhardened`; its commands are only isocheck's probes).
    Unhardened { tmp: std::path::PathBuf },
}

/// The user `execute` runs as in a hardened container (`nobody`).
pub const SANDBOX_USER: &str = "65534:65534";
/// The memory limit of a hardened container.
pub const MEMORY_LIMIT: i64 = 256 * 1024 * 1024;

/// Counts a creation under way for as long as it lives.
struct Creating<'a>(&'a AtomicUsize);

impl Drop for Creating<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Engine {
    /// Creates and starts a container labelled for `tenancy`; removes it
    /// again if it cannot be started or the run is being interrupted.
    pub(super) async fn container(&self, tenancy: &str, key: &str) -> SubjectResult<String> {
        self.creating.fetch_add(1, Ordering::SeqCst);
        let _guard = Creating(&self.creating);
        let interrupted = || SubjectError::Crashed("interrupted".into());
        if self.closing.load(Ordering::SeqCst) {
            return Err(interrupted());
        }
        let labels = HashMap::from([
            (LABEL_SUBJECT.to_string(), self.kind.to_string()),
            (LABEL_RUN.to_string(), self.run.clone()),
            (LABEL_TENANCY.to_string(), tenancy.to_string()),
            (LABEL_PID.to_string(), std::process::id().to_string()),
            (LABEL_HOST.to_string(), hostname()),
            ("isocheck.user-key".to_string(), key.to_string()),
        ]);
        let body = ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(vec!["sleep".into(), "infinity".into()]),
            working_dir: Some(WORKSPACE.into()),
            env: Some(vec!["TMPDIR=/tmp".into(), "HOME=/workspace".into()]),
            labels: Some(labels),
            network_disabled: Some(self.confinement == Confinement::Hardened),
            host_config: Some(self.host_config()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(|e| match status_of(&e) {
                Some(404) => SubjectError::Config(format!(
                    "image {} is not in the Docker engine at {} (build it with scripts/docker-engine.sh start, or set {IMAGE_ENV})",
                    self.image,
                    engine_host()
                )),
                _ => engine_err("creating a container", e),
            })?;
        if let Err(e) = self
            .docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            let _ = remove_all(&self.docker, std::slice::from_ref(&created.id)).await;
            return Err(engine_err("starting a container", e));
        }
        if self.closing.load(Ordering::SeqCst) {
            let _ = remove_all(&self.docker, std::slice::from_ref(&created.id)).await;
            return Err(interrupted());
        }
        if self.confinement == Confinement::Hardened {
            // The sandbox user owns its workspace (files come in through the
            // archive API as root's, readable by it) and can reach `/`: an
            // image imported from a `mktemp -d` directory has a 0700 root
            // (scripts/docker-engine.sh before it set 0755), which would
            // leave it nothing to run.
            let open_root = async {
                let argv = vec!["chmod".into(), "755".into(), "/".into()];
                let r =
                    files::exec_in(&self.docker, &created.id, argv, "/", ENGINE_TIMEOUT).await?;
                match r.exit_code {
                    Some(0) => Ok(()),
                    _ => Err(SubjectError::Failed(format!("chmod 755 /: {}", r.output))),
                }
            };
            let ready = match open_root.await {
                Ok(()) => self.give_sandbox_user(&created.id, WORKSPACE).await,
                Err(e) => Err(e),
            };
            if let Err(e) = ready {
                let _ = remove_all(&self.docker, std::slice::from_ref(&created.id)).await;
                return Err(e);
            }
        }
        Ok(created.id)
    }

    pub(super) fn host_config(&self) -> HostConfig {
        match &self.confinement {
            Confinement::Hardened => HostConfig {
                network_mode: Some("none".into()),
                init: Some(true),
                pids_limit: Some(256),
                memory: Some(MEMORY_LIMIT),
                security_opt: Some(vec!["no-new-privileges:true".into()]),
                auto_remove: Some(false),
                ..Default::default()
            },
            Confinement::Unhardened { tmp } => HostConfig {
                network_mode: Some("host".into()),
                ipc_mode: Some("host".into()),
                init: Some(true),
                binds: Some(
                    std::iter::once(format!("{}:/tmp", tmp.display()))
                        .chain(
                            engine_host()
                                .strip_prefix("unix://")
                                .map(|sock| format!("{sock}:/var/run/docker.sock")),
                        )
                        .collect(),
                ),
                auto_remove: Some(false),
                ..Default::default()
            },
        }
    }

    /// The user `execute` runs as.
    pub(super) fn sandbox_user(&self) -> Option<String> {
        (self.confinement == Confinement::Hardened).then(|| SANDBOX_USER.to_string())
    }

    /// Makes [`SANDBOX_USER`] the owner of `dir` in `container`.
    pub(super) async fn give_sandbox_user(&self, container: &str, dir: &str) -> SubjectResult<()> {
        let argv = vec!["chown".into(), SANDBOX_USER.into(), dir.into()];
        let r = files::exec_in(&self.docker, container, argv, "/", ENGINE_TIMEOUT).await?;
        match r.exit_code {
            Some(0) => Ok(()),
            _ => Err(SubjectError::Failed(format!("chown {dir}: {}", r.output))),
        }
    }
}
