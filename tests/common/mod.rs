//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the built `isocheck` binary.
pub fn isocheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(args)
        .output()
        .expect("isocheck runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `isocheck run ... --format json`, parsed.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let o = isocheck(&all);
    let code = o.status.code().expect("exit code");
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}; stdout: {}",
            stderr(&o),
            stdout(&o)
        )
    });
    (code, v)
}

/// Whether `ISOCHECK_REQUIRE` (comma- or space-separated) names `part` or `all`.
pub fn required(part: &str) -> bool {
    std::env::var("ISOCHECK_REQUIRE")
        .unwrap_or_default()
        .split([',', ' '])
        .any(|w| w == "all" || w == part)
}

/// Prints `skipped: <reason>` and returns `true` when `part` is optional;
/// panics when it is required.
pub fn skip(part: &str, reason: &str) -> bool {
    if required(part) {
        panic!("{part} is required (ISOCHECK_REQUIRE) but {reason}");
    }
    println!("skipped: {reason}");
    true
}

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pinned venv's python (`scripts/python-venv.sh` makes it), or `None`
/// after printing why the test is skipped (a panic if python is required).
pub fn venv_python() -> Option<String> {
    let p = root().join("target/py-venv/bin/python");
    if p.exists() {
        Some(p.to_string_lossy().into_owned())
    } else {
        skip(
            "python",
            &format!("{} is missing (run scripts/python-venv.sh)", p.display()),
        );
        None
    }
}

/// The system python3, for the stdlib-only fake adapters.
pub fn system_python() -> Option<String> {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("import sys; assert sys.version_info >= (3, 8)")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some("python3".into())
    } else {
        skip("python", "no python3 (>= 3.8) on PATH");
        None
    }
}

/// Runs isocheck from the repository root.
pub fn isocheck_in_root(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("isocheck runs")
}

/// The adapter pid isocheck logged ("adapter '...' (pid N)").
pub fn adapter_pid(stderr: &str) -> Option<u32> {
    let i = stderr.find("(pid ")?;
    stderr[i + 5..].split(')').next()?.parse().ok()
}

/// Whether a process is still there (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Names of the scenario families this build has.
pub fn families() -> Vec<String> {
    let out = stdout(&isocheck(&["list"]));
    out.split("Scenario families")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// Whether the Docker engine `DOCKER_HOST` names answers and holds the
/// sandbox image; otherwise prints why the test is skipped (a panic when
/// `ISOCHECK_REQUIRE` names `docker`). `scripts/docker-engine.sh start`
/// provides both.
pub fn docker_engine() -> bool {
    match isocheck::backends::docker::engine_problem() {
        None => true,
        Some(why) => {
            skip("docker", &why);
            false
        }
    }
}

/// A scenario's entry in a JSON report.
pub fn scenario_in<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name}: {v:#}"))
}

/// A checklist item's status in a JSON report ("" when absent).
pub fn item_status(v: &serde_json::Value, id: &str) -> String {
    v["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}
