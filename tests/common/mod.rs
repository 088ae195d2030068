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
    // Straight to the terminal: libtest captures print!/eprint! of a
    // passing test, and a skip must never look like a pass.
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("SKIPPED {test}: {reason} (ISOCHECK_REQUIRE={part} makes this a failure)");
    let _ = writeln!(std::io::stderr(), "{line}");
    record_skip(&line);
    true
}

/// Where the skips of one `cargo test` are collected: one file per cargo
/// process (the parent of every test binary it runs), read and removed by
/// the last test binary, `zz_skipped`, which lists them in one place.
pub fn skips_file(cargo_pid: u32) -> std::path::PathBuf {
    root().join(format!("target/isocheck-skips/{cargo_pid}.txt"))
}

fn record_skip(line: &str) {
    use std::io::Write;
    let path = skips_file(std::os::unix::process::parent_id());
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        // One write: lines of tests skipping at once never interleave.
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pinned venv's python (`scripts/python-venv.sh` makes it), or `None`
/// after printing why the test is skipped (a panic if python is required).
pub fn venv_python() -> Option<String> {
    venv_python_named("")
}

/// The python of the pinned set `name` (`target/py-venv-NAME`, made by
/// `scripts/python-venv.sh NAME`; `""` is the guide's set in
/// `target/py-venv`), or `None` after printing why the test is skipped.
///
/// A missing venv is built here, once (the script takes a lock per venv,
/// so test binaries running at once wait for one build), unless
/// `ISOCHECK_NO_PROVISION` is set; a build that fails (no PyPI, no
/// `python3 -m venv`) is a loud skip with the script's reason.
pub fn venv_python_named(name: &str) -> Option<String> {
    let dir = if name.is_empty() {
        "target/py-venv".to_string()
    } else {
        format!("target/py-venv-{name}")
    };
    let p = root().join(dir).join("bin/python");
    let arg = if name.is_empty() {
        String::new()
    } else {
        format!(" {name}")
    };
    if !p.exists() && std::env::var_os("ISOCHECK_NO_PROVISION").is_some() {
        skip(
            "python",
            &format!(
                "{} is missing and ISOCHECK_NO_PROVISION is set (run scripts/python-venv.sh{arg})",
                p.display()
            ),
        );
        return None;
    }
    if !p.exists() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "building {} from its lock file (scripts/python-venv.sh{arg}; once, a few minutes)",
            p.parent().and_then(|b| b.parent()).unwrap_or(&p).display()
        );
    }
    // Builds a missing venv; refreshes the adapter in an existing one.
    if let Err(why) = refresh_adapter(name) {
        skip(
            "python",
            &format!("scripts/python-venv.sh{arg} failed: {why}"),
        );
        return None;
    }
    Some(p.to_string_lossy().into_owned())
}

/// Reinstalls the adapter into an existing venv if its sources changed
/// since (the script compares a hash of them, and does nothing otherwise),
/// once per test process: a test never runs a stale adapter.
fn refresh_adapter(name: &str) -> Result<(), String> {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|n| n == name) {
        return Ok(());
    }
    let o = Command::new("bash")
        .arg(root().join("scripts/python-venv.sh"))
        .args((!name.is_empty()).then_some(name))
        .output()
        .expect("bash runs");
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(last.to_string());
    }
    done.push(name.to_string());
    Ok(())
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

/// The connection string of the private PostgreSQL server
/// (`ISOCHECK_POSTGRES_URL`, or what `scripts/postgres.sh env` prints for
/// this worktree's server) when it accepts connections; otherwise prints
/// why the test is skipped (a panic when `ISOCHECK_REQUIRE` names
/// `postgres`). `eval "$(scripts/postgres.sh start)"` provides it.
pub fn postgres() -> Option<String> {
    let url = std::env::var("ISOCHECK_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            let o = Command::new("bash")
                .arg(root().join("scripts/postgres.sh"))
                .arg("env")
                .output()
                .ok()?;
            let line = String::from_utf8_lossy(&o.stdout).into_owned();
            let v = line.trim().strip_prefix("export ISOCHECK_POSTGRES_URL=")?;
            Some(v.trim_matches('\'').to_string())
        });
    let Some(url) = url else {
        skip(
            "postgres",
            "no PostgreSQL server (ISOCHECK_POSTGRES_URL unset; run: eval \"$(scripts/postgres.sh start)\")",
        );
        return None;
    };
    // postgresql://user:pw@host:port/db: the server must accept a connection.
    let addr = url
        .rsplit('@')
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)).is_ok()
        });
    if reachable {
        Some(url)
    } else {
        skip(
            "postgres",
            &format!("the PostgreSQL server at {addr} does not answer (run: eval \"$(scripts/postgres.sh start)\")"),
        );
        None
    }
}

/// The official SARIF 2.1.0 schema (tests/data), compiled with format
/// assertions: `schemas.validate(&log, index)` checks a SARIF log.
pub fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = root().join("tests/data/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        schema["$id"],
        "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler
        .add_resource("sarif-schema-2.1.0.json", schema)
        .unwrap();
    let index = compiler
        .compile("sarif-schema-2.1.0.json", &mut schemas)
        .unwrap();
    (schemas, index)
}

/// `isocheck run --adapter "PY -m isocheck_adapter --factory FACTORY"
/// --seed 11 --format json EXTRA...` from the repository root with `env`,
/// at most 8 search rounds unless EXTRA says otherwise (the adapter tests
/// check verdicts, not that every root cause is found); checks the adapter
/// did not outlive isocheck. Returns the exit code, the report and stderr.
pub fn adapter_run(
    py: &str,
    factory: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    let cmd = format!("{py} -m isocheck_adapter --factory {factory}");
    let mut args = vec!["run", "--adapter", &cmd, "--seed", "11", "--format", "json"];
    if !extra.contains(&"--rounds") {
        args.extend(["--rounds", "8"]);
    }
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(&args)
        .current_dir(root())
        .envs(env.iter().copied())
        .output()
        .expect("isocheck runs");
    let err = stderr(&o);
    if let Some(pid) = adapter_pid(&err) {
        assert!(!alive(pid), "the adapter (pid {pid}) outlived isocheck");
    }
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {err}\n{}", stdout(&o)));
    (o.status.code().unwrap(), v, err)
}

/// How many findings of a report are on checklist item `item`.
pub fn findings_on(v: &serde_json::Value, item: &str) -> usize {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["checklist"] == item)
        .count()
}
