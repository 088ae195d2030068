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
    // The adapter's private TMPDIR (with what it wrote there) is removed,
    // whether the adapter exited or was killed.
    if let Some(dir) = err.split(" tmpdir ").nth(1).and_then(|r| r.lines().next()) {
        assert!(!dir.is_empty(), "no TMPDIR given to the adapter: {err}");
        assert!(!std::path::Path::new(dir).exists(), "{dir} was left behind");
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
    let Some((code, out, err)) = fake("version", &[]) else {
        return;
    };
    assert_eq!(code, 2);
    // A subject that cannot start: one line, no report.
    assert!(out.is_empty(), "{out}");
    let line = err
        .lines()
        .find(|l| l.starts_with("isocheck: starting the subject failed"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("isocheck.adapter/v0") && line.contains("isocheck.adapter/v1"),
        "{line}"
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
    // Refusals differing only in the id they name are one: the id is
    // redacted from the error, and an example id is given.
    assert!(r
        .iter()
        .all(|x| x["example"].as_str().unwrap().contains("bob")));
    assert!(
        r.iter().any(|x| x["error"]
            .as_str()
            .unwrap()
            .contains("user id '<id>' is not allowed")),
        "{r:#?}"
    );
}

#[test]
fn a_subject_that_opens_no_session_is_a_failure_not_a_pass() {
    let Some((code, out, err)) = fake("failopen", &[]) else {
        return;
    };
    assert_eq!(code, 3, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        failure(&out).contains("no operation ran") && failure(&out).contains("unavailable"),
        "{out}"
    );
    assert_eq!(v["summary"]["operations"], 0);
    for s in v["scenarios"].as_array().unwrap() {
        assert_ne!(s["status"], "pass", "{s}");
    }
    for c in v["checklist"].as_array().unwrap() {
        assert_ne!(c["status"], "pass", "{c}");
    }
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
    assert!(
        stdout(&o).is_empty(),
        "nothing ran, no report: {}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("/nonexistent/adapter"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unterminated_quote_is_a_usage_error() {
    let o = isocheck_in_root(&["run", "--adapter", "python3 'x", "--cases", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unterminated"), "{}", stderr(&o));
}

/// The Python adapter's own bad input, through its stdlib core (no venv):
/// the exit code and stderr.
fn stdlib_adapter(factory: &str) -> Option<(i32, String)> {
    let py = system_python()?;
    let cmd =
        format!("env PYTHONPATH=adapters/python {py} -m isocheck_adapter --factory {factory}");
    let o = isocheck_in_root(&["run", "--adapter", &cmd, "--cases", "4", "--format", "json"]);
    if let Some(pid) = adapter_pid(&stderr(&o)) {
        assert!(!alive(pid));
    }
    // An adapter that cannot start: its error on stderr, no report.
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    Some((o.status.code().unwrap(), stderr(&o)))
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

fn scenario(v: &serde_json::Value, name: &str) -> serde_json::Value {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no scenario {name}: {v}"))
}

const DECLARED: &[&str] = &["--scenarios", "context-files,persistence", "--rounds", "1"];

#[test]
fn an_adapter_that_declares_neither_persistence_nor_context_leaves_both_untested() {
    let Some((code, out, err)) = fake("ok", DECLARED) else {
        return;
    };
    // Neither selected scenario could judge anything: never exit 0.
    assert_eq!(code, 3, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["subject_failure"]
            .as_str()
            .unwrap_or_default()
            .contains("nothing was judged"),
        "{v}"
    );
    let p = scenario(&v, "persistence");
    assert_eq!(p["status"], "not-tested", "{p}");
    assert!(p.to_string().contains("--expect-persistence"), "{p}");
    let c = scenario(&v, "context-files");
    assert_eq!(c["status"], "not-tested", "{c}");
    assert!(c.to_string().contains("seed_context"), "{c}");
}

#[test]
fn declared_persistence_and_context_files_are_tested_through_the_adapter() {
    // The fake keeps a user's state across a reopen and declares it
    // (persistent); it serves seeded context files from each user's store.
    let Some((code, out, err)) = fake("declare", DECLARED) else {
        return;
    };
    assert_eq!(code, 0, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for name in ["persistence", "context-files"] {
        assert_eq!(scenario(&v, name)["status"], "pass", "{name}: {out}");
    }
    // --expect-persistence still overrides the declaration.
    let Some((code, out, _)) = fake(
        "declare",
        &[
            "--scenarios",
            "persistence",
            "--rounds",
            "1",
            "--expect-persistence",
            "ephemeral",
        ],
    ) else {
        return;
    };
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expected: ephemeral"), "{out}");
}

#[test]
fn a_wrong_persistence_declaration_is_a_c4_finding() {
    // Declares ephemeral, keeps everything across a reopen.
    let Some((code, out, err)) = fake("misdeclare", DECLARED) else {
        return;
    };
    assert_eq!(code, 1, "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(scenario(&v, "persistence")["status"], "fail", "{out}");
    let f = v["findings"].to_string();
    assert!(
        f.contains("C4") && f.contains("survived reopening the session (expected: ephemeral)"),
        "{f}"
    );
}

mod wire {
    use isocheck::subject::adapter::protocol::*;
    use isocheck::subject::{Capabilities, Persistence};

    fn caps(hello: &str) -> Capabilities {
        let h: Hello = serde_json::from_str(hello).expect("a v1 handshake");
        h.capabilities.expect("capabilities").into()
    }

    #[test]
    fn the_new_capabilities_are_optional() {
        let c = caps(
            r#"{"protocol":"isocheck.adapter/v1","capabilities":{"files":true,"features":{"memory":true}}}"#,
        );
        assert_eq!(c.persistence, None);
        assert!(!c.features.context);
        assert!(c.features.memory && c.files);
        // Nothing new is written when nothing is declared.
        let w = WireCapabilities {
            files: true,
            ..Default::default()
        };
        let text = serde_json::to_string(&w).unwrap();
        assert!(!text.contains("persistence"), "{text}");
    }

    #[test]
    fn identifiers_are_optional_in_the_handshake_the_open_request_and_its_reply() {
        use isocheck::subject::adapter::conn::decode_handshake;
        let h = decode_handshake(
            r#"{"protocol":"isocheck.adapter/v1","capabilities":{"files":true,"identifiers":["thread_id"]}}"#,
        )
        .unwrap();
        assert_eq!(h.identifiers, ["thread_id"]);
        let h =
            decode_handshake(r#"{"protocol":"isocheck.adapter/v1","capabilities":{"files":true}}"#)
                .unwrap();
        assert!(h.identifiers.is_empty());
        // Not declared, not written; an open without `present` is the
        // request older adapters know.
        let w = serde_json::to_string(&WireCapabilities::default()).unwrap();
        assert!(!w.contains("identifiers"), "{w}");
        let open = |present| Request {
            id: 1,
            call: Call::Open {
                tenancy: "t1".into(),
                user: "bob".into(),
                present,
            },
        };
        let plain = serde_json::to_string(&open(None)).unwrap();
        assert_eq!(plain, r#"{"id":1,"op":"open","tenancy":"t1","user":"bob"}"#);
        let replayed = serde_json::to_string(&open(Some(
            [("thread_id".to_string(), "7f3c".to_string())].into(),
        )))
        .unwrap();
        assert_eq!(
            replayed,
            r#"{"id":1,"op":"open","tenancy":"t1","user":"bob","present":{"thread_id":"7f3c"}}"#
        );
    }

    #[test]
    fn declared_persistence_and_context_map_through() {
        for (word, want) in [
            ("ephemeral", Persistence::Ephemeral),
            ("persistent", Persistence::Persistent),
        ] {
            let c = caps(&format!(
                r#"{{"protocol":"isocheck.adapter/v1","capabilities":{{"files":true,"persistence":"{word}","features":{{"context":true}}}}}}"#
            ));
            assert_eq!(c.persistence, Some(want));
            assert!(c.features.context);
        }
        let bad = serde_json::from_str::<Hello>(
            r#"{"protocol":"isocheck.adapter/v1","capabilities":{"persistence":"sometimes"}}"#,
        );
        assert!(bad.is_err(), "{bad:?}");
    }

    #[test]
    fn seed_context_is_a_request_of_its_own() {
        let r = Request {
            id: 3,
            call: Call::SeedContext {
                tenancy: "t1".into(),
                path: "/DEEP.md".into(),
                content: "be nice".into(),
            },
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": 3, "op": "seed_context", "tenancy": "t1", "path": "/DEEP.md", "content": "be nice"})
        );
        assert_eq!(serde_json::from_value::<Request>(v).unwrap(), r);
        assert_eq!(r.call.name(), "seed_context");
    }
}
