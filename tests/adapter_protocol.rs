//! The adapter client against stdlib fake adapters (fixtures/adapters/fake.py):
//! a working one, and ones that crash, print garbage, hang, reply to ids
//! never sent, answer with the wrong shape or speak another version.
//! Needs only a system python3.

mod common;
use common::*;

fn fake(mode: &str, extra: &[&str]) -> Option<(i32, String, String)> {
    let py = system_python()?;
    let cmd = format!("{py} fixtures/adapters/fake.py {mode}");
    let mut args = vec![
        "run",
        "--adapter",
        &cmd,
        "--cases",
        "12",
        "--seed",
        "7",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = isocheck_in_root(&args);
    let code = o.status.code().expect("exit code");
    let (out, err) = (stdout(&o), stderr(&o));
    if let Some(pid) = adapter_pid(&err) {
        assert!(!alive(pid), "the adapter (pid {pid}) outlived isocheck");
    }
    Some((code, out, err))
}

fn failure(out: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out).expect("JSON report");
    v.to_string()
}

#[test]
fn a_working_adapter_passes() {
    let Some((code, out, err)) = fake("ok", &[]) else {
        return;
    };
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["subject"].as_str().unwrap().starts_with("adapter:"));
    for item in ["C1", "C2", "C3"] {
        let st = v["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == item)
            .unwrap()["status"]
            .clone();
        assert_eq!(st, "pass", "{item}: {out}");
    }
}

#[test]
fn an_adapter_that_exits_mid_run_is_a_subject_failure() {
    let Some((code, out, err)) = fake("crash", &[]) else {
        return;
    };
    assert_eq!(code, 3, "{err}");
    assert!(
        failure(&out).contains("the adapter closed its stdout"),
        "{out}"
    );
}

#[test]
fn garbage_on_stdout_is_a_subject_failure_quoting_the_line() {
    let Some((code, out, _)) = fake("garbage", &[]) else {
        return;
    };
    assert_eq!(code, 3);
    let f = failure(&out);
    assert!(f.contains("not JSON"), "{f}");
    assert!(f.contains("Traceback (most recent call last)"), "{f}");
}

#[test]
fn a_hung_adapter_times_out_and_is_killed() {
    let t = std::time::Instant::now();
    let Some((code, out, _)) = fake("hang", &["--op-timeout", "2"]) else {
        return;
    };
    assert_eq!(code, 3);
    assert!(failure(&out).contains("took longer than 2s"), "{out}");
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
}

#[test]
fn a_reply_to_an_unknown_id_is_a_subject_failure() {
    let Some((code, out, _)) = fake("unknown", &[]) else {
        return;
    };
    assert_eq!(code, 3);
    assert!(failure(&out).contains("unknown id 999999999"), "{out}");
}

#[test]
fn a_reply_of_the_wrong_shape_is_a_subject_failure() {
    let Some((code, out, _)) = fake("shape", &[]) else {
        return;
    };
    assert_eq!(code, 3);
    assert!(failure(&out).contains("wrong shape"), "{out}");
}

#[test]
fn another_protocol_version_is_a_configuration_error() {
    let Some((code, out, _)) = fake("version", &[]) else {
        return;
    };
    assert_eq!(code, 2);
    let f = failure(&out);
    assert!(
        f.contains("isocheck.adapter/v0") && f.contains("isocheck.adapter/v1"),
        "{f}"
    );
}

#[test]
fn refused_user_ids_are_listed_not_crashes() {
    let Some((code, out, err)) = fake("refuse", &[]) else {
        return;
    };
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let r = v["refusals"].as_array().expect("refusals");
    assert!(!r.is_empty());
    assert!(r
        .iter()
        .all(|x| x["error"].as_str().unwrap().contains("bob")));
}

#[test]
fn a_command_that_does_not_start_is_a_configuration_error() {
    let o = isocheck_in_root(&[
        "run",
        "--adapter",
        "/nonexistent/adapter --x",
        "--cases",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("/nonexistent/adapter"));
}

#[test]
fn an_unterminated_quote_is_a_usage_error() {
    let o = isocheck_in_root(&["run", "--adapter", "python3 'x", "--cases", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unterminated"), "{}", stderr(&o));
}

/// The Python adapter's own bad input, through its stdlib core (no venv).
fn stdlib_adapter(factory: &str) -> Option<(i32, String)> {
    let py = system_python()?;
    let cmd =
        format!("env PYTHONPATH=adapters/python {py} -m isocheck_adapter --factory {factory}");
    let o = isocheck_in_root(&["run", "--adapter", &cmd, "--cases", "4", "--format", "json"]);
    if let Some(pid) = adapter_pid(&stderr(&o)) {
        assert!(!alive(pid));
    }
    Some((o.status.code().unwrap(), stdout(&o)))
}

#[test]
fn a_factory_that_does_not_import_is_a_configuration_error_naming_it() {
    let Some((code, out)) = stdlib_adapter("fixtures/apps/broken_app.py:get_deps") else {
        return;
    };
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("broken_app.py"), "{out}");
    assert!(out.contains("isocheck_no_such_module"), "{out}");
    let Some((code, out)) = stdlib_adapter("no_such_module_here:f") else {
        return;
    };
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no_such_module_here"), "{out}");
}
