//! The shell probes of the sandbox-hardening family: what each user's
//! `execute` runs to see how its sandbox is confined. Each command is POSIX
//! `sh` that works on a host shell and in busybox alike, starts with
//! `: sandbox-hardening NAME` (so a trace and the checker name the probe),
//! prints what it found in lines the checker parses
//! ([`crate::check::sandbox_hardening`]) and ends with [`END`]: output
//! without it did not run to the end and judges nothing.

/// The last line of every probe's output.
pub const END: &str = "isocheck-end";

/// Stands for the harness's listener port in a command; the driver puts
/// the real port in when the command runs (see `drive::listener`), and the
/// history keeps the placeholder, so a report stays reproducible.
pub const LISTENER_PORT: &str = "@isocheck-listener-port@";

/// The marker a probe command starts with.
pub const MARK: &str = ": sandbox-hardening ";

/// The probes, in the order every user runs them (operation `i` of every
/// user in step `i`, concurrently): (probe, step). `shared-tmp` writes a
/// canary first, looks for the others' after every probe, and removes
/// its own last, so a shared `/tmp` (a host's) keeps nothing.
pub const STEPS: [(&str, &str); 10] = [
    ("shared-tmp", "write"),
    ("network", ""),
    ("memory-limit", ""),
    ("pids-limit", ""),
    ("host-mount", ""),
    ("docker-socket", ""),
    ("root-writable", ""),
    ("shared-ipc", ""),
    ("shared-tmp", "look"),
    ("shared-tmp", "clean"),
];

/// The file a user's `shared-tmp` canary is written to: named by `user_tok`,
/// a token of that user's (the same in its write and its clean).
fn tmp_file(user_tok: &str) -> String {
    format!("/tmp/isocheck-hardening-{user_tok}")
}

/// The probe a command runs, and its step (`write`, `look`, or empty).
pub fn probe_of(command: &str) -> Option<(&str, &str)> {
    let rest = command.strip_prefix(MARK)?;
    let head = rest.split(';').next()?.trim();
    Some(head.split_once(' ').unwrap_or((head, "")))
}

/// Prints `limit FILE VALUE` for every readable `files` on the path from
/// each cgroup mount in `dirs` down to this process's cgroups (as
/// `/proc/self/cgroup` names them): in a container the mount is its own
/// cgroup; on a host the walk passes every ancestor, whose limits bind too.
fn cgroup_walk(dirs: &str, files: &str) -> String {
    format!(
        "for d in {dirs}; do [ -e \"$d/cgroup.procs\" ] && echo \"hierarchy $d\"; for p in $(sed -n 's/^[0-9]*:[^:]*:\\(.*\\)$/\\1/p' /proc/self/cgroup | sort -u); do x=$d; \
         for s in '' $(echo \"$p\" | tr / ' '); do x=$x${{s:+/$s}}; for f in {files}; do \
         [ -r \"$x/$f\" ] && echo \"limit $x/$f $(cat \"$x/$f\")\"; done; done; done; done"
    )
}

/// The command of step `i` of [`STEPS`], with canary `tok` (this
/// operation's) and `user_tok` (one token of the user's, the same for all
/// its probes).
pub fn command(i: usize, tok: &str, user_tok: &str) -> String {
    let file = tmp_file(user_tok);
    let (probe, step) = STEPS[i % STEPS.len()];
    let mark = if step.is_empty() {
        format!("{MARK}{probe}")
    } else {
        format!("{MARK}{probe} {step}")
    };
    let body = match (probe, step) {
        ("shared-tmp", "write") => format!("echo {tok} > {file} && echo wrote {file}"),
        ("shared-tmp", "clean") => format!("rm -f {file}"),
        ("shared-tmp", _) => "for f in /tmp/isocheck-hardening-*; do [ -f \"$f\" ] && echo \"$f $(head -c 64 \"$f\")\"; done".into(),
        ("network", _) => {
            let port = LISTENER_PORT;
            format!(
                "echo '== route'; cat /proc/net/route; echo '== addr'; ip -o addr 2>/dev/null || cat /proc/net/dev; \
                 gw=$(ip route 2>/dev/null | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p' | head -n 1); \
                 echo '== connect'; for h in 127.0.0.1 $gw; do \
                 if command -v nc >/dev/null; then echo {tok} | nc -w 3 $h {port}; \
                 elif command -v bash >/dev/null; then bash -c \"exec 3<>/dev/tcp/$h/{port} && echo {tok} >&3 && head -n 1 <&3\"; \
                 elif command -v python3 >/dev/null; then python3 -c \"import socket as s; c=s.create_connection(('$h', {port}), 3); c.sendall(b'{tok}\\n'); print(c.recv(100).decode())\"; \
                 else echo 'no connect tool'; fi; done 2>&1"
            )
        }
        ("memory-limit", _) => format!(
            "{}; grep MemTotal /proc/meminfo",
            cgroup_walk(
                "/sys/fs/cgroup /sys/fs/cgroup/memory",
                "memory.max memory.limit_in_bytes"
            )
        ),
        ("pids-limit", _) => format!(
            "{}; echo \"pid_max $(cat /proc/sys/kernel/pid_max)\"",
            cgroup_walk("/sys/fs/cgroup /sys/fs/cgroup/pids", "pids.max")
        ),
        ("host-mount", _) => "cat /proc/self/mountinfo".into(),
        ("docker-socket", _) => "for s in /var/run/docker.sock /run/docker.sock \"${DOCKER_HOST#unix://}\"; do \
             [ -S \"$s\" ] && { [ -w \"$s\" ] && echo \"socket $s writable\" || echo \"socket $s\"; }; done; \
             echo \"docker_host ${DOCKER_HOST-}\""
            .into(),
        ("root-writable", _) => format!(
            "echo \"uid $(id -u)\"; for d in / /usr; do f=${{d%/}}/.isocheck-{tok}; \
             if (: > \"$f\") 2>/dev/null; then echo \"writable $d\"; rm -f \"$f\"; else echo \"refused $d\"; fi; done"
        ),
        ("shared-ipc", _) => "echo \"ipc $(readlink /proc/self/ns/ipc)\"".into(),
        _ => String::new(),
    };
    format!("{mark}; {body}; echo {END}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_names_its_probe() {
        for (i, (probe, step)) in STEPS.iter().enumerate() {
            let c = command(i, "icq000000000001", "icq000000000002");
            assert_eq!(probe_of(&c), Some((*probe, *step)), "{c}");
            assert!(c.ends_with(END), "{c}");
        }
        assert_eq!(probe_of("ls"), None);
    }
}
