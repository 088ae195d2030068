//! sandbox-hardening (checklist C5: sandboxed execution of untrusted code)
//!
//! What it checks: where the subject offers `execute`, every user's own
//! `execute` (the app as it runs; never `docker inspect`) runs small POSIX
//! shell probes that look at the sandbox from inside, and each probe that
//! finds a measure missing is a finding of its own (cause
//! `hardening/<probe>`, C5), with its own severity:
//!
//! - `docker-socket` (critical): a Docker socket at `/var/run/docker.sock`,
//!   `/run/docker.sock` or the `unix://` path `DOCKER_HOST` names exists and
//!   is writable, or `DOCKER_HOST` names a `tcp://`/`ssh://` engine. Whoever
//!   holds the engine holds every user's sandbox and the host.
//! - `shared-tmp` (critical): each user writes a canary file to `/tmp`
//!   (`/tmp/isocheck-hardening-<token>`), every user looks there after all
//!   the writes, and each removes its own canary last (a host's `/tmp`
//!   keeps nothing); another user's canary seen is another user's data
//!   read.
//! - `network` (high): the harness opens a TCP listener on the host for
//!   the case and the probe connects to it (`127.0.0.1` and the sandbox's
//!   default gateway; never any outside address) with the case's token,
//!   through `nc`, bash's `/dev/tcp` or python3. The listener's receipt of
//!   the token is the strongest evidence. Without a receipt, a non-loopback
//!   interface with an address or a default route inside the sandbox
//!   (`ip -o addr`, `/proc/net/route`) is evidence too: the sandbox has a
//!   network, only the listener was not reachable from it here (a private
//!   engine without a bridge, a firewall). Only loopback and no route is a
//!   pass.
//! - `host-mount` (high): `/proc/self/mountinfo` shows a mount of a disk
//!   filesystem other than the sandbox's own root: a host directory (bind
//!   mount or volume). Pseudo filesystems (proc, sysfs, tmpfs, devpts,
//!   mqueue, cgroup, overlay, ...) and the engine's own per-container
//!   `/etc/resolv.conf`, `/etc/hostname` and `/etc/hosts` and its init
//!   (`/sbin/docker-init`, read-only) do not count; a
//!   root filesystem whose mount root is `/` of a disk (a host shell, or the
//!   host's `/` mounted whole) does. A per-user workspace directory of the
//!   host counts as well: its isolation rests on how the app names it.
//! - `shared-ipc` (high): `readlink /proc/self/ns/ipc` is the same for two
//!   users: their code shares System V IPC and POSIX message queues.
//! - `root-writable` (medium): commands run as uid 0 and can create a file
//!   in `/` or `/usr` (removed again at once): untrusted code can replace
//!   the sandbox's programs and has root's kernel surface for an escape.
//!   A non-root user, or a read-only root filesystem, passes.
//! - `memory-limit` (medium) and `pids-limit` (medium): the cgroup limits
//!   (`memory.max` or v1 `memory.limit_in_bytes`; `pids.max`) on the path
//!   from the cgroup mount down to the process's cgroups, as
//!   `/proc/self/cgroup` names them (in a container the mount is its own
//!   cgroup; on a host every ancestor binds too). The smallest counts; none
//!   at all, `max`, or one at or above the host's memory (`MemTotal`) or
//!   `kernel.pid_max` is no limit: one user's code can starve every user.
//!   (On a cgroup v1 engine `/sys/fs/cgroup/memory.max` does not exist;
//!   the v1 files are read there.)
//!
//! Why it matters: a sandbox per user keeps users apart only if it holds.
//! Code an agent runs does whatever a prompt injection tells it to; from a
//! sandbox with a network it sends the user's data out, from one with the
//! engine's socket or the host's files it reaches every other user, and
//! from one without limits it takes the machine from them all. Severities:
//! critical where another user's data or the engine that holds
//! every user is reached directly; high where the way out is open (the
//! network, the host's files, shared IPC); medium where one user can harm
//! the others' availability or an escape is made easier, but nothing is
//! reached by itself.
//!
//! A probe passes only if it was judged: its command ran to its end
//! marker and its output could be read (for `shared-ipc` and `shared-tmp`,
//! with another user's reading or canary to compare). A probe that could
//! not run, or whose output could not be read, is *not tested*, with the
//! reason, never a pass. The case is fixed (two users with plain ids, or
//! `--users`, every probe each): at most two cases run (the second, with a
//! warm pool, on sandboxes used and reset before), none is shrunk, and
//! each finding's story names the probe's user, what it saw and why it
//! matters; its trace holds the probe's command (and the other user's
//! part, for `shared-tmp` and `shared-ipc`).
//!
//! Fix: run each user's code in a container of its own with no network
//! (`--network none`), a memory and a process limit, a non-root user (or a
//! read-only root filesystem with a writable workspace), nothing of the
//! host mounted (above all not the Docker socket), and private `/tmp` and
//! IPC (Docker's defaults for both; never `--ipc host` or a shared volume).

use proptest::strategy::{BoxedStrategy, Just, Strategy};

use super::hardening_judge::{judge, Verdict};
use super::{doc_from_file, CheckCtx, Coverage, Family, Violation};
use crate::drive::{History, Obs};
use crate::gen::hardening::{probe_of, STEPS};
use crate::gen::{GenConfig, Op, OpSpec, Scenario, UserIdSpec, UserPlan};
use crate::report::{Kind, Severity};
use crate::subject::Capabilities;

/// Every probe, as its root-cause class names it (`hardening/<probe>`).
pub const PROBES: [&str; 8] = [
    "docker-socket",
    "shared-tmp",
    "network",
    "host-mount",
    "shared-ipc",
    "root-writable",
    "memory-limit",
    "pids-limit",
];

pub struct SandboxHardening;

impl Family for SandboxHardening {
    fn name(&self) -> &'static str {
        "sandbox-hardening"
    }
    doc_from_file!("sandbox_hardening.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C5"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Sandbox]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.execute, "the subject offers no execute")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        // Two users (or --users) with plain ids, each running every probe.
        let n = cfg.users.unwrap_or(2).max(2);
        let ops: Vec<OpSpec> = (0..STEPS.len() as u8).map(OpSpec::Harden).collect();
        let users = (0..n)
            .map(|_| UserPlan {
                id: UserIdSpec::Plain,
                ops: ops.clone(),
            })
            .collect();
        // In lockstep: every user's probe `i` in step `i`, so each user's
        // look at /tmp comes after every user's write, and its clean after
        // every look.
        Just(Scenario {
            users,
            lockstep: true,
            phased: false,
            seeded: false,
        })
        .boxed()
    }
    fn check(&self, h: &History, _ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        // Per probe: entries that gave a verdict, and the first reason one could not.
        let mut judged = [0usize; PROBES.len()];
        let mut reasons: [Option<String>; PROBES.len()] = Default::default();
        for (i, e) in h.entries.iter().enumerate() {
            let Op::Execute { command } = &e.op else {
                continue;
            };
            let Some((probe, step)) = probe_of(command) else {
                continue;
            };
            let Some(k) = PROBES.iter().position(|p| *p == probe) else {
                continue;
            };
            let verdict = match &e.outcome {
                Ok(Obs::Exec(r)) => judge(h, i, probe, step, &r.output),
                Ok(_) => Verdict::NotJudged("execute gave no command output".into()),
                Err(err) => Verdict::NotJudged(format!("the probe's command failed: {err}")),
            };
            match verdict {
                Verdict::Fail {
                    detail,
                    owner,
                    cause,
                } => {
                    judged[k] += 1;
                    let mut v = Violation::at(h, i, Kind::Hardening, owner, detail);
                    v.cause = cause;
                    out.push(v);
                }
                Verdict::Pass => judged[k] += 1,
                Verdict::Nothing => {}
                Verdict::NotJudged(why) => {
                    let name = crate::gen::display_id(&h.plan.users[e.user]);
                    reasons[k].get_or_insert(format!("{why} (user {name})"));
                }
            }
        }
        for (k, p) in PROBES.iter().enumerate() {
            let c = cov.probes.entry(p).or_default();
            match (&reasons[k], judged[k]) {
                (None, n) if n > 0 => c.judged += 1,
                (None, _) => {
                    c.first_reason.get_or_insert_with(|| {
                        "no user's probe gave a verdict (a shared probe needs another user's part before it)".to_string()
                    });
                }
                (Some(r), _) => {
                    c.first_reason.get_or_insert_with(|| r.clone());
                }
            }
        }
    }
    fn unjudged(&self, _caps: &Capabilities, cov: &Coverage) -> Vec<String> {
        PROBES
            .iter()
            .filter_map(|p| {
                let c = cov.probes.get(p).cloned().unwrap_or_default();
                (c.judged == 0).then(|| {
                    let why = c.first_reason.unwrap_or_else(|| "no case ran it".into());
                    format!("sandbox {p}: {why}")
                })
            })
            .collect()
    }
    fn fixed_cases(&self) -> Option<usize> {
        // A second case runs the probes again on sandboxes that (with a
        // warm pool) were already used and reset.
        Some(2)
    }
}

/// The root-cause class of a hardening violation: `hardening/<probe>`.
pub fn class_of(h: &History, v: &Violation) -> String {
    match &h.entries[v.entry].op {
        Op::Execute { command } => match probe_of(command) {
            Some((probe, _)) => format!("hardening/{probe}"),
            None => "hardening/unknown".into(),
        },
        _ => "hardening/unknown".into(),
    }
}

/// The severity of a hardening class (see the module's documentation).
pub fn severity(class: &str) -> Option<Severity> {
    Some(match class.strip_prefix("hardening/")? {
        "docker-socket" | "shared-tmp" => Severity::Critical,
        "network" | "host-mount" | "shared-ipc" => Severity::High,
        _ => Severity::Medium,
    })
}

/// Why a missing measure matters, in one sentence.
pub fn cause_text(class: &str) -> String {
    let probe = class.strip_prefix("hardening/").unwrap_or(class);
    match probe {
        "docker-socket" => "a Docker engine is reachable from the sandbox: code run for one user controls the engine, and with it every user's sandbox and the host",
        "shared-tmp" => "users' sandboxes share one /tmp: what one user's code leaves there, another user's code reads",
        "network" => "the sandbox has a network: code run for a user can send that user's data out and reach services on the host",
        "host-mount" => "host paths are mounted into the sandbox: code run for a user reaches the host's files, and isolation rests on how the app names them",
        "shared-ipc" => "users' sandboxes share one IPC namespace: one user's code reaches the others' shared memory, semaphores and message queues",
        "root-writable" => "commands run as root on a writable root filesystem: code run for a user can replace the sandbox's own programs and has root's whole kernel surface for an escape",
        "memory-limit" => "the sandbox has no memory limit: code run for one user can take the memory every user's sandbox needs",
        "pids-limit" => "the sandbox has no process limit: a fork bomb run for one user starves every user",
        other => return format!("the sandbox lacks a hardening measure ({other})"),
    }
    .to_string()
}
