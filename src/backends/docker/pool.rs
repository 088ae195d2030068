//! Warm containers: kept from one case to the next, reset in between.
//!
//! A container per user and case costs a create, a start and a remove
//! (about 2.5 s a case on 2 cores). The pool keeps a case's containers when
//! its tenancy shuts down, resets them, and hands them to the next case.
//!
//! A reset that missed anything would be a leak between *cases*, blamed on
//! the subject. So a reset is checked, never trusted: it kills every
//! process but the container's init and its `sleep`, empties `/workspace`,
//! `/tmp`, `/dev/shm` and `/dev/mqueue`; then a second exec lists what is
//! left (processes, IPC files, System V IPC objects) and the engine's
//! `docker diff` of the container against its image must be what it was
//! when the container was new (plus the two emptied directories changed).
//! Anything else, or any error on the way, and the container is removed
//! instead of reused. Pool containers carry the run's labels, so Ctrl-C
//! and `stop` remove them like any other.
//!
//! Each pool container keeps one root shell for its life (see `channel`):
//! its users' file operations, its resets and inspections go through it,
//! so a reused container costs no `docker exec` but the users' own
//! commands. The reset spares that shell (and only it, init and the
//! `sleep`); a shell that died (the memory limit's OOM killer, say) is
//! started again for the reset, which then proves the container clean as
//! before.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::Docker;

use super::channel::Channel;
use super::{remove_all, WORKSPACE};
use crate::subject::{SubjectError, SubjectResult};

const RESET_TIMEOUT: Duration = Duration::from_secs(10);

/// Kills every process but init (1), this shell and the container's
/// `sleep` (`{keep}`), then empties the directories users can write. Run
/// by the container's own shell (see `channel`), in that shell's process:
/// the loop forks nothing, so `$$` is the only shell alive.
const RESET: &str = r#"for d in /proc/[0-9]*; do
  p=${d#/proc/}
  case $p in 1|$$|{keep}) ;; *) kill -9 "$p" 2>/dev/null ;; esac
done
for d in /workspace /tmp /dev/shm /dev/mqueue; do
  [ -d "$d" ] && rm -rf "$d"/* "$d"/.[!.]* "$d"/..?* 2>/dev/null
done
true"#;

/// What is left after a reset: `pid N` for every process but this shell,
/// `file PATH` for anything in the IPC directories, `ipc LINE` for every
/// System V IPC object.
const INSPECT: &str = r#"for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] || echo "pid $p"
done
find /dev/shm /dev/mqueue -mindepth 1 2>/dev/null | sed 's/^/file /'
for f in shm msg sem; do
  tail -n +2 /proc/sysvipc/$f 2>/dev/null | sed 's/^/ipc /'
done
true"#;

/// A container as it was when new: what to keep alive, and its changes
/// against the image.
#[derive(Clone)]
struct Pristine {
    sleep_pid: u32,
    changes: BTreeSet<String>,
    /// The container's root shell: file operations, resets, inspections.
    shell: Arc<Channel>,
}

/// How the pool went, for benchmarks and the closing line of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Containers created.
    pub created: usize,
    /// Times a reset container was handed out again.
    pub reused: usize,
    /// Containers removed because their reset could not be proven.
    pub discarded: usize,
}

/// Idle, reset containers and what each looked like new.
#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<String>>,
    pristine: Mutex<HashMap<String, Pristine>>,
    created: AtomicUsize,
    reused: AtomicUsize,
    discarded: AtomicUsize,
}

impl Pool {
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            created: self.created.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
        }
    }

    /// The root shell of pool container `id` (see `channel`).
    pub fn shell(&self, id: &str) -> Option<Arc<Channel>> {
        let pristine = self.pristine.lock().unwrap_or_else(|e| e.into_inner());
        pristine.get(id).map(|p| p.shell.clone())
    }

    /// An idle container, if there is one.
    pub fn take(&self) -> Option<String> {
        let id = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
        self.reused.fetch_add(1, Ordering::Relaxed);
        Some(id)
    }

    /// Records a new container's pristine state (its `sleep` and its
    /// changes against the image), before anybody used it.
    pub async fn adopt(&self, docker: &Docker, id: &str) -> SubjectResult<()> {
        let shell = Arc::new(Channel::new(docker.clone(), id.to_string()));
        let out = inspect(&shell, "adopting a container").await?;
        let pids: Vec<u32> = out
            .lines()
            .filter_map(|l| l.strip_prefix("pid ")?.trim().parse().ok())
            .filter(|p| *p != 1)
            .collect();
        let [sleep_pid] = pids[..] else {
            return Err(SubjectError::Failed(format!(
                "a new container should run only its init and sleep, found pids {pids:?}"
            )));
        };
        let changes = changes(docker, id).await?;
        self.created.fetch_add(1, Ordering::Relaxed);
        self.pristine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id.to_string(),
                Pristine {
                    sleep_pid,
                    changes,
                    shell,
                },
            );
        Ok(())
    }

    /// Resets the containers a tenancy used and keeps those whose reset is
    /// proven; removes the others. Errors are not the case's: a container
    /// that cannot be reset is simply not reused.
    pub async fn release(&self, docker: &Docker, ids: Vec<String>) {
        let results =
            futures_util::future::join_all(ids.iter().map(|id| self.reset(docker, id))).await;
        let mut dirty = Vec::new();
        for (id, r) in ids.into_iter().zip(results) {
            match r {
                Ok(()) => self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(id),
                Err(_) => {
                    self.pristine
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    dirty.push(id);
                }
            }
        }
        if !dirty.is_empty() {
            self.discarded.fetch_add(dirty.len(), Ordering::Relaxed);
            let _ = remove_all(docker, &dirty).await;
        }
    }

    /// Resets one container and proves it clean, or says what is left.
    pub(super) async fn reset(&self, docker: &Docker, id: &str) -> Result<(), String> {
        let pristine = self
            .pristine
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or("not a pool container")?;
        let shell = &pristine.shell;
        let reset = RESET.replace("{keep}", &pristine.sleep_pid.to_string());
        let r = tokio::time::timeout(RESET_TIMEOUT, shell.run(&reset, "resetting"))
            .await
            .map_err(|_| "the reset took longer than 10 s".to_string())?
            .map_err(|e| e.to_string())?;
        if r.status != 0 {
            return Err(format!("the reset failed: {}", r.stderr));
        }
        // Killed processes can take a moment to be reaped.
        let mut left = Vec::new();
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
            let out = inspect(shell, "inspecting")
                .await
                .map_err(|e| e.to_string())?;
            left = leftovers(&out, pristine.sleep_pid);
            if left.is_empty() {
                break;
            }
        }
        if !left.is_empty() {
            return Err(format!("left after the reset: {}", left.join(", ")));
        }
        let now = changes(docker, id).await.map_err(|e| e.to_string())?;
        let extra: Vec<&String> = now
            .iter()
            .filter(|p| !pristine.changes.contains(*p) && !is_emptied_root(p))
            .collect();
        if !extra.is_empty() {
            return Err(format!("files changed outside the workspace: {extra:?}"));
        }
        Ok(())
    }

    /// Every idle container, emptying the pool (the run removes them).
    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What INSPECT prints, through the container's shell.
async fn inspect(shell: &Channel, what: &str) -> SubjectResult<String> {
    let r = tokio::time::timeout(RESET_TIMEOUT, shell.run(INSPECT, what))
        .await
        .map_err(|_| SubjectError::Failed(format!("{what}: longer than 10 s")))??;
    Ok(String::from_utf8_lossy(&r.stdout).into_owned())
}

/// The directories the reset empties: they may show as changed.
fn is_emptied_root(path: &str) -> bool {
    path == WORKSPACE || path == "/tmp"
}

/// What INSPECT found beyond init and the container's sleep.
fn leftovers(output: &str, sleep_pid: u32) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| match l.strip_prefix("pid ") {
            Some(p) => {
                let p: u32 = p.trim().parse().unwrap_or(0);
                p != 1 && p != sleep_pid
            }
            None => true,
        })
        .map(str::to_string)
        .collect()
}

/// The paths of the container's filesystem changes against its image
/// (`docker diff`).
async fn changes(docker: &Docker, id: &str) -> SubjectResult<BTreeSet<String>> {
    let list = docker
        .container_changes(id)
        .await
        .map_err(|e| SubjectError::Failed(format!("docker diff {id}: {e}")))?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.path)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_everything_but_init_and_the_sleep() {
        let out = "pid 1\npid 7\npid 42\nfile /dev/shm/x\nipc 0 1 2\n";
        assert_eq!(
            leftovers(out, 7),
            vec!["pid 42", "file /dev/shm/x", "ipc 0 1 2"]
        );
        assert!(leftovers("pid 1\npid 7\n", 7).is_empty());
    }
}
