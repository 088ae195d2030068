//! Reading the sandbox-hardening probes' output (see
//! [`super::sandbox_hardening`] for what each probe means, and
//! [`crate::gen::hardening`] for the commands). Every reader either gives
//! a verdict or says why it cannot: output it does not understand is
//! never a pass.

use crate::canary;
use crate::drive::{History, Obs};
use crate::gen::hardening::{probe_of, END};
use crate::gen::{display_id, Op};

/// What one probe's output says.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail {
        detail: String,
        /// The other user involved (shared /tmp or IPC).
        owner: Option<usize>,
        /// The entry of that user's part.
        cause: Option<usize>,
    },
    /// A part of a probe that judges nothing by itself (a write to /tmp,
    /// the first user's IPC namespace).
    Nothing,
    NotJudged(String),
}

fn fail(detail: String) -> Verdict {
    Verdict::Fail {
        detail,
        owner: None,
        cause: None,
    }
}

/// Judges the output of entry `i` of `h`, which ran `probe` (`step`).
pub fn judge(h: &History, i: usize, probe: &str, step: &str, output: &str) -> Verdict {
    if step == "clean" {
        return Verdict::Nothing; // removes the user's canary: judges nothing
    }
    if !output.lines().any(|l| l.trim() == END) {
        let mut head: String = output.chars().take(200).collect();
        if head.is_empty() {
            head = "no output".into();
        }
        return Verdict::NotJudged(format!("the probe did not run to its end: {head:?}"));
    }
    match (probe, step) {
        ("shared-tmp", "write") => match output.lines().any(|l| l.starts_with("wrote /tmp/")) {
            true => Verdict::Nothing,
            false => Verdict::NotJudged("writing a canary to /tmp failed".into()),
        },
        ("shared-tmp", _) => shared_tmp(h, i, output),
        ("shared-ipc", _) => shared_ipc(h, i, output),
        ("network", _) => network(h, i, output),
        ("memory-limit", _) => memory(output),
        ("pids-limit", _) => pids(output),
        ("host-mount", _) => host_mount(output),
        ("docker-socket", _) => docker_socket(output),
        ("root-writable", _) => root_writable(output),
        _ => Verdict::NotJudged(format!("unknown probe {probe}")),
    }
}

/// Entries of other users before entry `i` (in an earlier step, unless
/// `same_step`) that ran `probe`/`step` and succeeded.
fn others<'a>(
    h: &'a History,
    i: usize,
    (probe, step): (&'a str, &'a str),
    same_step: bool,
) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    let me = &h.entries[i];
    h.entries[..i]
        .iter()
        .enumerate()
        .filter(move |(_, e)| e.user != me.user && (e.step < me.step || same_step))
        .filter_map(move |(k, e)| match (&e.op, &e.outcome) {
            (Op::Execute { command }, Ok(Obs::Exec(r)))
                if probe_of(command) == Some((probe, step)) =>
            {
                Some((k, r.output.as_str()))
            }
            _ => None,
        })
}

fn shared_tmp(h: &History, i: usize, output: &str) -> Verdict {
    let writes: Vec<(usize, &str)> = others(h, i, ("shared-tmp", "write"), false)
        .filter(|(_, out)| out.lines().any(|l| l.starts_with("wrote /tmp/")))
        .collect();
    if writes.is_empty() {
        // The first user to look has nobody's canary to look for.
        return Verdict::Nothing;
    }
    for (k, _) in &writes {
        let w = &h.entries[*k];
        let Op::Execute { command } = &w.op else {
            continue;
        };
        let Some(tok) = canary::scan(command).first().copied() else {
            continue;
        };
        if let Some(line) = output.lines().find(|l| l.contains(tok)) {
            let owner = display_id(&h.plan.users[w.user]);
            return Verdict::Fail {
                detail: format!(
                    "its /tmp holds the canary {owner} wrote to its own /tmp at step {}: `{}`",
                    w.step,
                    line.trim()
                ),
                owner: Some(w.user),
                cause: Some(*k),
            };
        }
    }
    Verdict::Pass
}

fn ipc_of(output: &str) -> Option<&str> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("ipc "))
        .map(str::trim)
        .filter(|v| v.starts_with("ipc:["))
}

fn shared_ipc(h: &History, i: usize, output: &str) -> Verdict {
    let Some(mine) = ipc_of(output) else {
        return Verdict::NotJudged(format!(
            "no IPC namespace in the output (`readlink /proc/self/ns/ipc`): {:?}",
            output.lines().next().unwrap_or_default()
        ));
    };
    let mut compared = false;
    // A namespace does not change: readings of one step compare too.
    for (k, out) in others(h, i, ("shared-ipc", ""), true) {
        let Some(theirs) = ipc_of(out) else {
            continue;
        };
        compared = true;
        if theirs == mine {
            let owner = h.entries[k].user;
            return Verdict::Fail {
                detail: format!(
                    "its IPC namespace is {mine}, the same as {}'s sandbox (step {})",
                    display_id(&h.plan.users[owner]),
                    h.entries[k].step
                ),
                owner: Some(owner),
                cause: Some(k),
            };
        }
    }
    if compared {
        Verdict::Pass
    } else {
        Verdict::Nothing
    }
}

/// The part of `output` after the line `== name`, up to the next `== `.
fn section<'a>(output: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let mut lines = output
        .lines()
        .skip_while(|l| l.trim() != format!("== {name}"));
    lines.next()?;
    Some(lines.take_while(|l| !l.starts_with("== ")).collect())
}

fn network(h: &History, i: usize, output: &str) -> Verdict {
    let Op::Execute { command } = &h.entries[i].op else {
        return Verdict::NotJudged("not a command".into());
    };
    let tok = canary::scan(command).first().copied().unwrap_or_default();
    if let Some(r) = h
        .listener
        .receipts
        .iter()
        .find(|r| !tok.is_empty() && r.text.contains(tok))
    {
        return fail(format!(
            "a connection from its sandbox reached the harness's listener on the host (from {}) with this probe's token {tok}",
            r.peer
        ));
    }
    let seen = match network_seen(output) {
        Ok(seen) => seen,
        Err(why) => return Verdict::NotJudged(why),
    };
    if let Some(seen) = seen {
        let why = match &h.listener.error {
            Some(e) => format!("({e})"),
            None => "(the harness's listener on the host was not reached from here)".into(),
        };
        return fail(format!("its sandbox has {seen} {why}"));
    }
    Verdict::Pass
}

/// What the network probe's output shows of a network: non-loopback
/// interfaces with an address (`ip -o addr`, else `/proc/net/dev`) and a
/// default route (`/proc/net/route`); `Ok(None)` for loopback alone and no
/// route, `Err` when the route table was not read.
fn network_seen(output: &str) -> Result<Option<String>, String> {
    let route = section(output, "route").unwrap_or_default();
    if !route.iter().any(|l| l.starts_with("Iface")) {
        return Err("/proc/net/route could not be read".into());
    }
    let defaults: Vec<&str> = route
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && f[1] == "00000000").then_some(f[0])
        })
        .collect();
    let mut ifaces: Vec<String> = Vec::new();
    for l in section(output, "addr").unwrap_or_default() {
        let f: Vec<&str> = l.split_whitespace().collect();
        // `ip -o addr`: "2: eth0    inet 10.0.0.2/24 ..."; else /proc/net/dev: "eth0: ..."
        let (name, what) = match f.as_slice() {
            [_, name, fam, a, ..] if fam.starts_with("inet") => (name.to_string(), a.to_string()),
            [name, ..] if name.ends_with(':') && !l.contains('|') => {
                (name.trim_end_matches(':').to_string(), "up".into())
            }
            _ => continue,
        };
        if name != "lo" && !ifaces.iter().any(|x| x.starts_with(&format!("{name} "))) {
            ifaces.push(format!("{name} ({what})"));
        }
    }
    let mut seen = Vec::new();
    if !ifaces.is_empty() {
        seen.push(format!("interfaces {}", ifaces.join(", ")));
    }
    if let Some(d) = defaults.first() {
        seen.push(format!("a default route via {d}"));
    }
    Ok((!seen.is_empty()).then(|| seen.join(" and ")))
}

/// `limit FILE VALUE` lines: (file, value; `None` for `max`).
fn limits(output: &str) -> Vec<(&str, Option<u128>)> {
    let mut out: Vec<(&str, Option<u128>)> = output
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("limit ")?.split_whitespace();
            let (file, value) = (f.next()?, f.next()?);
            let v = match value {
                "max" => None,
                n => Some(n.parse().ok()?),
            };
            Some((file, v))
        })
        .collect();
    out.dedup();
    out
}

/// The binding limit: the smallest, or `None` for none at all.
fn binding<'a>(ls: &[(&'a str, Option<u128>)]) -> Option<(&'a str, u128)> {
    ls.iter()
        .filter_map(|(f, v)| v.map(|v| (*f, v)))
        .min_by_key(|(_, v)| *v)
}

/// A cgroup hierarchy the probe found mounted, if any.
fn hierarchy(output: &str) -> Option<&str> {
    output.lines().find_map(|l| l.strip_prefix("hierarchy "))
}

fn memory(output: &str) -> Verdict {
    let ls = limits(output);
    if ls.is_empty() {
        return match hierarchy(output) {
            // The root cgroup has no limit file: nothing limits it.
            Some(d) => fail(format!(
                "no memory limit: the cgroup hierarchy {d} is mounted, but no memory.max or memory.limit_in_bytes applies to the sandbox's cgroups"
            )),
            None => Verdict::NotJudged(
                "no cgroup memory limit file (memory.max, memory.limit_in_bytes) was readable, and no cgroup hierarchy was found".into(),
            ),
        };
    }
    let total = output.lines().find_map(|l| {
        let kb: u128 = l
            .strip_prefix("MemTotal:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    });
    let Some(total) = total else {
        return Verdict::NotJudged("MemTotal could not be read from /proc/meminfo".into());
    };
    let mib = |b: u128| b / (1024 * 1024);
    match binding(&ls) {
        Some((_, v)) if v < total => Verdict::Pass,
        Some((f, v)) => fail(format!(
            "no memory limit: the smallest, {f}, is {v} bytes, at or above the host's {} MiB",
            mib(total)
        )),
        None => fail(format!("no memory limit: {} is `max`", ls[0].0)),
    }
}

fn pids(output: &str) -> Verdict {
    let ls = limits(output);
    if ls.is_empty() {
        return match hierarchy(output) {
            Some(d) => fail(format!(
                "no process limit: the cgroup hierarchy {d} is mounted, but no pids.max applies to the sandbox's cgroups"
            )),
            None => Verdict::NotJudged(
                "no cgroup pids.max file was readable, and no cgroup hierarchy was found".into(),
            ),
        };
    }
    let Some(pid_max) = output
        .lines()
        .find_map(|l| l.strip_prefix("pid_max ")?.trim().parse::<u128>().ok())
    else {
        return Verdict::NotJudged("kernel.pid_max could not be read".into());
    };
    match binding(&ls) {
        Some((_, v)) if v < pid_max => Verdict::Pass,
        Some((f, v)) => fail(format!(
            "no process limit: the smallest, {f}, is {v}, at or above kernel.pid_max ({pid_max})"
        )),
        None => fail(format!("no process limit: {} is `max`", ls[0].0)),
    }
}

/// Filesystems that hold no host files.
const PSEUDO: [&str; 22] = [
    "proc",
    "sysfs",
    "tmpfs",
    "devtmpfs",
    "devpts",
    "mqueue",
    "cgroup",
    "cgroup2",
    "overlay",
    "shm",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "fusectl",
    "configfs",
    "hugetlbfs",
    "nsfs",
    "autofs",
    "binfmt_misc",
    "ramfs",
];

fn host_mount(output: &str) -> Verdict {
    let mut parsed = 0;
    let mut found: Vec<String> = Vec::new();
    for l in output.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split_whitespace().collect();
        let g: Vec<&str> = post.split_whitespace().collect();
        if f.len() < 6 || g.len() < 2 {
            continue;
        }
        parsed += 1;
        let (root, point, opts, fstype, source) = (f[3], f[4], f[5], g[0], g[1]);
        if PSEUDO.contains(&fstype) || fstype.starts_with("fuse.") && source == "lxcfs" {
            continue;
        }
        let rw = if opts.split(',').any(|o| o == "ro") {
            "read-only"
        } else {
            "writable"
        };
        // The engine's own files: a container's resolv.conf, hostname and
        // hosts, and the init it mounts read-only (`--init`).
        let engine_file = matches!(point, "/etc/resolv.conf" | "/etc/hostname" | "/etc/hosts")
            && root.contains("/containers/")
            || point == "/sbin/docker-init" && rw == "read-only";
        if engine_file {
            continue;
        }
        if point == "/" {
            if root == "/" {
                found.push(format!(
                    "its root `/` is the host's own filesystem ({source}, {fstype}, {rw})"
                ));
            }
            continue;
        }
        // Not the host path itself: it is often a temp directory, and a
        // report must not depend on one.
        found.push(format!(
            "a host path of {source} ({fstype}) at {point} ({rw})"
        ));
    }
    if parsed == 0 {
        return Verdict::NotJudged("/proc/self/mountinfo could not be read".into());
    }
    if found.is_empty() {
        return Verdict::Pass;
    }
    let more = match found.len() {
        n if n > 3 => format!(" and {} more", n - 3),
        _ => String::new(),
    };
    found.truncate(3);
    fail(format!(
        "host paths are mounted into its sandbox: {}{more}",
        found.join("; ")
    ))
}

fn docker_socket(output: &str) -> Verdict {
    let Some(host) = output.lines().find_map(|l| l.strip_prefix("docker_host")) else {
        return Verdict::NotJudged("the probe printed no DOCKER_HOST line".into());
    };
    let host = host.trim();
    let sockets: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("socket "))
        .filter(|s| s.ends_with(" writable"))
        .map(|s| s.trim_end_matches(" writable"))
        .collect();
    if let Some(s) = sockets.first() {
        return fail(format!(
            "a Docker socket is reachable and writable in its sandbox: {s}"
        ));
    }
    if host.starts_with("tcp://") || host.starts_with("ssh://") {
        return fail(format!(
            "its environment names a Docker engine: DOCKER_HOST={host}"
        ));
    }
    Verdict::Pass
}

fn root_writable(output: &str) -> Verdict {
    let Some(uid) = output
        .lines()
        .find_map(|l| l.strip_prefix("uid ")?.trim().parse::<u32>().ok())
    else {
        return Verdict::NotJudged("`id -u` printed no user id".into());
    };
    let tried = output
        .lines()
        .filter(|l| l.starts_with("writable ") || l.starts_with("refused "))
        .count();
    if tried < 2 {
        return Verdict::NotJudged("the writes to / and /usr were not both tried".into());
    }
    let writable: Vec<&str> = output
        .lines()
        .filter_map(|l| l.strip_prefix("writable "))
        .collect();
    if uid == 0 && !writable.is_empty() {
        return fail(format!(
            "commands run as root (uid 0) and created a file in {} (removed again)",
            writable.join(" and ")
        ));
    }
    Verdict::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_take_the_smallest_and_max_is_none() {
        let out = "limit /a/memory.limit_in_bytes 9223372036854771712\nlimit /b/memory.max max\nMemTotal:  1024 kB\nisocheck-end\n";
        assert!(matches!(memory(out), Verdict::Fail { .. }));
        let out = "limit /a/memory.limit_in_bytes 9223372036854771712\nlimit /a/x/memory.limit_in_bytes 268435456\nMemTotal: 24684092 kB\n";
        assert_eq!(memory(out), Verdict::Pass);
        assert!(matches!(memory("MemTotal: 1 kB\n"), Verdict::NotJudged(_)));
        assert!(matches!(
            pids("limit /p/pids.max max\npid_max 4194304\n"),
            Verdict::Fail { .. }
        ));
        assert_eq!(
            pids("limit /p/pids.max 256\npid_max 4194304\n"),
            Verdict::Pass
        );
    }

    #[test]
    fn mounts_of_the_engine_and_pseudo_filesystems_do_not_count() {
        let container = "67 44 254:0 /data/vfs/dir/abc / rw,relatime master:1 - ext4 /dev/vda rw\n\
68 67 0:40 / /proc rw,nosuid - proc proc rw\n\
84 67 254:0 /data/containers/abc/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw\n";
        assert_eq!(host_mount(container), Verdict::Pass);
        let bind =
            format!("{container}90 67 254:0 /srv/shared /tmp rw,relatime - ext4 /dev/vda rw\n");
        assert!(matches!(host_mount(&bind), Verdict::Fail { .. }));
        let host = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n";
        assert!(matches!(host_mount(host), Verdict::Fail { .. }));
        assert!(matches!(host_mount("nothing\n"), Verdict::NotJudged(_)));
    }

    #[test]
    fn a_network_is_an_interface_with_an_address_or_a_default_route() {
        let route = "== route\nIface\tDestination\tGateway \tFlags\n";
        let lo = "== addr\n1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n";
        assert_eq!(network_seen(&format!("{route}{lo}")), Ok(None));
        let eth = "2: eth0    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\n";
        let def = "eth0\t00000000\t010011AC\t0003\n";
        let seen = network_seen(&format!("{route}{def}{lo}{eth}== connect\n"))
            .unwrap()
            .unwrap();
        assert_eq!(
            seen,
            "interfaces eth0 (172.17.0.2/16) and a default route via eth0"
        );
        let dev = "== addr\nInter-|   Receive\n face |bytes\n    lo: 0 0\n  eth0: 10 2\n";
        assert_eq!(
            network_seen(&format!("{route}{dev}")),
            Ok(Some("interfaces eth0 (up)".into()))
        );
        assert!(network_seen("== addr\n").is_err());
    }

    #[test]
    fn root_fails_only_with_a_write_and_sockets_only_when_writable() {
        assert!(matches!(
            root_writable("uid 0\nwritable /\nrefused /usr\n"),
            Verdict::Fail { .. }
        ));
        assert_eq!(
            root_writable("uid 0\nrefused /\nrefused /usr\n"),
            Verdict::Pass
        );
        assert_eq!(
            root_writable("uid 65534\nrefused /\nrefused /usr\n"),
            Verdict::Pass
        );
        assert!(matches!(root_writable("uid 0\n"), Verdict::NotJudged(_)));
        assert_eq!(
            docker_socket("socket /run/docker.sock\ndocker_host \n"),
            Verdict::Pass
        );
        assert!(matches!(
            docker_socket("socket /run/docker.sock writable\ndocker_host \n"),
            Verdict::Fail { .. }
        ));
        assert!(matches!(docker_socket(""), Verdict::NotJudged(_)));
    }
}
