//! `--budget` and `--timeout`: a budget shares search time among the
//! families and every family is still judged on what it ran; a timeout
//! ends the run with a report marked incomplete that passes nothing. A
//! million cases per family stand for "more than the time allows": without
//! the limit these runs would not end.

mod common;

use common::*;
use serde_json::Value;

/// `isocheck ARGS`, killed (and the test failed) if it is still running
/// after five minutes: without a working limit these runs would not end,
/// and a test must fail rather than hang CI.
fn isocheck_limited(args: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("isocheck runs");
    // Drain the pipes while waiting (a report can outgrow a pipe buffer).
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let limit = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("isocheck {args:?} did not end: the time limit was not kept");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `isocheck run ARGS --format json` under [`isocheck_limited`].
fn run_limited(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let o = isocheck_limited(&all);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {}", stderr(&o)));
    (o.status.code().unwrap(), v)
}

fn scenarios(r: &Value) -> &Vec<Value> {
    r["scenarios"].as_array().unwrap()
}

#[test]
fn a_budget_shares_time_and_every_family_is_judged() {
    let (code, r) = run_limited(&[
        "--subject",
        "state",
        "--seed",
        "1",
        "--cases",
        "1000000",
        "--budget",
        "3s",
    ]);
    assert_eq!(code, 0, "{r:#}");
    assert!(
        r["incomplete"].is_null(),
        "a budget leaves the report complete: {r:#}"
    );
    for s in scenarios(&r) {
        if s["name"] == "execute-escape" || s["name"] == "sandbox-hardening" {
            continue; // `state` offers no execute
        }
        assert_eq!(s["status"], "pass", "{s}");
        let cases = s["cases"].as_u64().unwrap();
        assert!((1..1_000_000).contains(&cases), "{s}");
        let note = s["note"].as_str().unwrap_or_default();
        assert!(
            note.contains(&format!(
                "the time budget ended the search after {cases} cases"
            )),
            "{s}"
        );
    }
    for item in ["C1", "C2", "C3", "C4"] {
        assert_eq!(item_status(&r, item), "pass", "{item}");
    }
    // hostile-user-ids' share reached every id class.
    let hostile = scenario_in(&r, "hostile-user-ids");
    for c in hostile["id_classes"].as_array().unwrap() {
        assert_eq!(c["verdict"], "isolated", "{c}");
    }
}

#[test]
fn a_budget_still_finds_and_shrinks() {
    let (code, r) = run_limited(&[
        "--subject",
        "fixture:shared-state",
        "--seed",
        "1",
        "--cases",
        "1000000",
        "--budget",
        "4s",
        "--scenarios",
        "cross-read,history",
    ]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(item_status(&r, "C1"), "fail");
    let f = &r["findings"][0];
    assert!(f["trace"].as_array().unwrap().len() <= 6, "{f:#}");
}

#[test]
fn a_timeout_ends_the_run_and_passes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("isocheck.xml");
    let out = format!("junit={}", junit.display());
    let o = isocheck_limited(&[
        "run",
        "--subject",
        "state",
        "--seed",
        "1",
        "--cases",
        "1000000",
        "--timeout",
        "2s",
        "--format",
        "json",
        "--output",
        &out,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("timed out (--timeout 2s) after"),
        "{}",
        stderr(&o)
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        r["incomplete"]
            .as_str()
            .unwrap()
            .contains("this report is incomplete"),
        "{r:#}"
    );
    let s = scenarios(&r);
    assert_eq!(s[0]["status"], "aborted", "{:#}", s[0]);
    assert!(s[0]["note"]
        .as_str()
        .unwrap()
        .starts_with("the run timed out after"));
    for later in &s[1..] {
        assert_eq!(later["status"], "aborted", "{later}");
        assert_eq!(later["note"], "not run: the run timed out", "{later}");
    }
    for c in r["checklist"].as_array().unwrap() {
        assert_ne!(c["status"], "pass", "{c}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("timed out"), "{xml}");
}

#[test]
fn a_timeout_keeps_the_findings_made() {
    let (code, r) = run_limited(&[
        "--subject",
        "fixture:shared-state",
        "--seed",
        "1",
        "--cases",
        "1000000",
        "--timeout",
        "3s",
    ]);
    assert_eq!(code, 1, "{r:#}");
    assert!(r["incomplete"].is_string());
    assert_eq!(item_status(&r, "C1"), "fail");
}

/// The adapter is stopped when a timeout ends the run.
#[test]
fn a_timeout_stops_the_adapter() {
    let Some(py) = system_python() else { return };
    let cmd = format!("{py} fixtures/adapters/fake.py ok");
    let o = isocheck_limited(&[
        "run",
        "--adapter",
        &cmd,
        "--seed",
        "1",
        "--cases",
        "1000000",
        "--timeout",
        "2s",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let pid = adapter_pid(&stderr(&o)).expect("the adapter's pid is logged");
    assert!(!alive(pid), "adapter {pid} left running");
}

#[test]
fn bad_durations_are_usage_errors() {
    for (flag, value) in [
        ("--budget", "0"),
        ("--budget", "0s"),
        ("--timeout", "soon"),
        ("--timeout", "-1"),
        ("--budget", ""),
    ] {
        let word = format!("{flag}={value}");
        let o = isocheck(&["run", "--subject", "state", &word]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
}
