//! sandbox-hardening (C5): every probe fires on a fixture built to lack it
//! and stays silent on the hardened `docker` subject; host shells and a
//! shared container fail what they lack; output the probes cannot read is
//! not tested, never a pass. The Docker tests need the private engine
//! (`ISOCHECK_REQUIRE=docker` turns a skip into a failure).

mod common;

use std::collections::BTreeSet;

use common::*;
use isocheck::check::sandbox_hardening::{severity, PROBES};
use serde_json::Value;

fn hardening(subject: &str, seed: &str) -> (i32, Value) {
    run_json(&[
        "--subject",
        subject,
        "--scenarios",
        "sandbox-hardening",
        "--seed",
        seed,
    ])
}

/// The probes a report found missing (`hardening/<probe>` causes).
fn fired(r: &Value) -> BTreeSet<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["cause"].as_str()?.strip_prefix("hardening/"))
        .map(str::to_string)
        .collect()
}

fn scenario(r: &Value) -> &Value {
    scenario_in(r, "sandbox-hardening")
}

/// Every finding is the family's own, with the probe's severity, a story
/// naming the user and the probe, and a trace of the probe alone (or with
/// the other user's part).
fn well_formed(r: &Value) {
    for f in r["findings"].as_array().unwrap() {
        let class = f["cause"].as_str().unwrap();
        let probe = class.strip_prefix("hardening/").unwrap();
        assert_eq!(f["scenario"], "sandbox-hardening", "{f:#}");
        assert_eq!(f["checklist"], "C5", "{f:#}");
        assert_eq!(f["store"], "sandbox", "{f:#}");
        assert_eq!(f["kind"], "hardening", "{f:#}");
        let want = severity(class).unwrap();
        assert_eq!(f["severity"], want.as_str(), "{f:#}");
        let story = f["story"].as_array().unwrap();
        let first = story[0].as_str().unwrap();
        assert!(
            first.contains(&format!("ran the `{probe}` probe")),
            "{first}"
        );
        assert!(
            first.starts_with(f["users"][0].as_str().unwrap()),
            "{first}"
        );
        let trace = f["trace"].as_array().unwrap();
        assert!((1..=2).contains(&trace.len()), "{f:#}");
        assert!(
            trace.iter().any(|t| t["evidence"] == true
                && t["op"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("sandbox-hardening {probe}"))),
            "{f:#}"
        );
    }
}

#[test]
fn docker_passes_every_hardening_probe() {
    if !docker_engine() {
        return;
    }
    let (code, r) = hardening("docker", "4");
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(scenario(&r)["status"], "pass", "{r:#}");
    // A fixed case, run twice (the second on reset, warm containers).
    assert_eq!(scenario(&r)["cases"], 2, "{r:#}");
    assert!(fired(&r).is_empty(), "{r:#}");
    assert_eq!(r["not_judged"], serde_json::json!([]), "{r:#}");
    assert_eq!(item_status(&r, "C5"), "pass");
}

#[test]
fn the_unhardened_fixture_fails_every_probe_and_leaves_nothing() {
    if !docker_engine() {
        return;
    }
    let left = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("isocheck-unhardened-"))
            .collect()
    };
    let before = left();
    let (code, r) = hardening("fixture:docker-unhardened", "4");
    assert_eq!(code, 1, "{r:#}");
    let all: BTreeSet<String> = PROBES.iter().map(|p| p.to_string()).collect();
    assert_eq!(fired(&r), all, "{r:#}");
    assert_eq!(r["not_judged"], serde_json::json!([]), "{r:#}");
    well_formed(&r);
    // The strongest evidence where there is one: the listener's receipt.
    let net = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "hardening/network")
        .unwrap();
    assert!(
        net["evidence"]["detail"]
            .as_str()
            .unwrap()
            .contains("reached the harness's listener on the host"),
        "{net:#}"
    );
    // Fingerprints hold across seeds.
    let prints = |r: &Value| -> BTreeSet<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, again) = hardening("fixture:docker-unhardened", "9");
    assert_eq!(prints(&r), prints(&again));
    assert_eq!(left(), before, "the host /tmp directory of the run is left");
}

#[test]
fn a_shared_container_shares_tmp_and_ipc_and_nothing_else() {
    if !docker_engine() {
        return;
    }
    let (code, r) = hardening("fixture:docker-shared-container", "4");
    assert_eq!(code, 1, "{r:#}");
    let want: BTreeSet<String> = ["shared-ipc", "shared-tmp"].map(String::from).into();
    assert_eq!(fired(&r), want, "{r:#}");
    assert_eq!(r["not_judged"], serde_json::json!([]), "{r:#}");
    well_formed(&r);
    let tmp = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "hardening/shared-tmp")
        .unwrap();
    assert_eq!(tmp["users"].as_array().unwrap().len(), 2, "{tmp:#}");
}

#[test]
fn a_host_shell_fails_what_a_host_shell_lacks() {
    // exec-escape runs `sh` on the host: one /tmp, one IPC namespace, the
    // host's own root filesystem and its network. Root, the limits and a
    // Docker socket depend on the machine: judged either way, never left
    // unjudged.
    let (code, r) = hardening("fixture:exec-escape", "4");
    assert_eq!(code, 1, "{r:#}");
    // Each user's clean step removed its canary from the host's /tmp (the
    // only test here whose /tmp is the host's).
    let left: Vec<String> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("isocheck-hardening-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let got = fired(&r);
    for p in ["shared-tmp", "shared-ipc", "host-mount", "network"] {
        assert!(got.contains(p), "{p}: {r:#}");
    }
    assert_eq!(r["not_judged"], serde_json::json!([]), "{r:#}");
    well_formed(&r);
}

#[test]
fn output_the_probes_cannot_read_is_not_tested() {
    let Some(py) = system_python() else { return };
    // fake.py's execute (mode failops) answers every command with empty
    // output; with `failops execute` it fails. Neither judges anything.
    for (failing, reason) in [
        ("none", "did not run to its end"),
        ("execute", "the probe's command failed"),
    ] {
        let cmd = format!("{py} fixtures/adapters/fake.py failops {failing}");
        let o = isocheck_in_root(&[
            "run",
            "--adapter",
            &cmd,
            "--scenarios",
            "sandbox-hardening",
            "--format",
            "json",
        ]);
        let r: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&o)));
        assert_eq!(o.status.code(), Some(3), "{r:#}");
        assert_eq!(scenario(&r)["status"], "not-tested", "{r:#}");
        let note = scenario(&r)["note"].as_str().unwrap();
        for p in PROBES {
            assert!(note.contains(&format!("sandbox {p}: ")), "{p}: {note}");
        }
        assert!(note.contains(reason), "{note}");
        assert_eq!(item_status(&r, "C5"), "not-tested");
    }
}

#[test]
fn subjects_without_execute_are_not_tested() {
    let (code, r) = hardening("state", "1");
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(scenario(&r)["status"], "not-tested");
    assert_eq!(scenario(&r)["note"], "the subject offers no execute");
}

/// pattern-c as the guide writes it (`SessionManager` and `DockerSandbox`
/// with their defaults, pydantic-ai-backend 0.2.29), through the Python
/// adapter, on this machine's private engine. `DockerSandbox` leaves
/// `network_mode` and `mem_limit` at `None` (the engine's defaults: the
/// default network, no memory limit; `docker inspect` by hand shows both),
/// sets `pids_limit` (its `DEFAULT_PIDS_LIMIT`), runs commands as the
/// image's user (root) on a writable root filesystem, and `SessionManager`
/// bind-mounts the host's `{workspace_root}/{session_id}/workspace` at
/// `/workspace`. From inside, the probes find: no memory limit (medium),
/// root on a writable rootfs (medium) and a host path mounted (high); the
/// pids limit holds. The network probe passes *on this engine only*: it
/// runs with `--bridge=none`, so a container on the default network gets
/// loopback alone and no route, and nothing is reachable from it. On a
/// stock engine the same defaults give it `eth0` and a default route via
/// the bridge, and the probe fails. isocheck judges the sandbox as it
/// runs, never its configuration, so the report says what was seen here.
#[test]
fn pattern_c_defaults_lack_a_memory_limit_a_non_root_user_and_keep_a_host_mount() {
    let Some(py) = venv_python() else { return };
    if !docker_engine() {
        return;
    }
    let (code, r, err) = adapter_run(&py, "pattern-c", &["--scenarios", "sandbox-hardening"], &[]);
    assert_eq!(code, 1, "{err}\n{r:#}");
    let want: BTreeSet<String> = ["host-mount", "memory-limit", "root-writable"]
        .map(String::from)
        .into();
    assert_eq!(fired(&r), want, "{r:#}");
    // Every other probe was judged (and passed): nothing is left unjudged.
    assert_eq!(r["not_judged"], serde_json::json!([]), "{r:#}");
    well_formed(&r);
    let mount = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "hardening/host-mount")
        .unwrap();
    assert!(
        mount["evidence"]["detail"]
            .as_str()
            .unwrap()
            .contains("at /workspace (writable)"),
        "{mount:#}"
    );
}
