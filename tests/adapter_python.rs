//! The Python adapter with the real pydantic-ai-backends / pydantic-deep
//! packages (target/py-venv, made by scripts/python-venv.sh). Skipped with
//! a printed reason when the venv is missing, unless ISOCHECK_REQUIRE
//! names `python` or `all`.

mod common;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use isocheck::subject::adapter::AdapterFactory;
use isocheck::subject::SubjectFactory;

fn run(py: &str, factory: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let cmd = format!("{py} -m isocheck_adapter --factory {factory}");
    let mut args = vec!["run", "--adapter", &cmd, "--seed", "11", "--format", "json"];
    args.extend_from_slice(extra);
    let o = isocheck_in_root(&args);
    let err = stderr(&o);
    if let Some(pid) = adapter_pid(&err) {
        assert!(!alive(pid), "the adapter (pid {pid}) outlived isocheck");
    }
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {err}\n{}", stdout(&o)));
    (o.status.code().unwrap(), v, err)
}

fn status(v: &serde_json::Value, item: &str) -> String {
    v["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == item)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn findings_on(v: &serde_json::Value, item: &str) -> usize {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["checklist"] == item)
        .count()
}

#[test]
fn pattern_a_passes_every_family_it_supports() {
    let Some(py) = venv_python() else { return };
    // Isolation holds (C1-C3 pass). The one finding is real and about the
    // library, not the pattern: pydantic-deep 0.3.44 names plans with
    // `uuid4().hex[:6]` (features/plan/toolset.py), 24 bits, so plans of one
    // slug collide with 50% chance at about 4,800 saves. It is medium (X2):
    // with --fail-on high the run passes.
    let (code, v, err) = run(&py, "pattern-a", &["--cases", "48", "--fail-on", "high"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v:#}");
    assert_eq!(findings[0]["scenario"], "plan-uniqueness");
    assert_eq!(findings[0]["checklist"], "X2");
    assert!(
        findings[0]["evidence"]["detail"]
            .as_str()
            .unwrap()
            .contains("24 bits"),
        "{v:#}"
    );
    for s in v["scenarios"].as_array().unwrap() {
        assert!(
            s["status"] == "pass" || s["status"] == "not-tested" || s["name"] == "plan-uniqueness",
            "{s}"
        );
    }
    for item in ["C1", "C2", "C3"] {
        assert_eq!(status(&v, item), "pass", "{item}: {v:#}");
    }
}

#[test]
fn problem_leaks_across_users() {
    let Some(py) = venv_python() else { return };
    let (code, v, err) = run(&py, "problem", &["--cases", "48"]);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(status(&v, "C1"), "fail");
    assert!(findings_on(&v, "C1") > 0);
    let text = v["findings"].to_string();
    assert!(text.contains("files"), "{text}");
    let fams = families();
    for (family, what) in [("memory-collision", "memory"), ("plan-uniqueness", "plan")] {
        if fams.iter().any(|f| f == family) {
            let (code, v, err) = run(&py, "problem", &["--cases", "48", "--scenarios", family]);
            assert_eq!(code, 1, "{family}: {err}\n{v:#}");
            assert!(findings_on(&v, "C1") > 0, "{family}: {v:#}");
            assert!(
                v["findings"].to_string().to_lowercase().contains(what),
                "{family}: {v:#}"
            );
        } else {
            println!("note: no {family} family in this build");
        }
    }
}

#[test]
fn pattern_b_as_the_guide_writes_it_aliases_hostile_user_ids() {
    let Some(py) = venv_python() else { return };
    let fams = families();
    if fams.iter().any(|f| f == "hostile-user-ids") {
        let (code, v, err) = run(
            &py,
            "pattern-b",
            &[
                "--cases",
                "64",
                "--scenarios",
                "hostile-user-ids",
                "--rounds",
                "1",
            ],
        );
        assert_eq!(code, 1, "{err}\n{v:#}");
        assert!(findings_on(&v, "C1") > 0, "{v:#}");
    } else {
        // Without that family, the traversal ids of the default mix still
        // alias checkpoint directories: FileCheckpointStore(f"{base2}/{user_id}").
        println!("note: no hostile-user-ids family in this build");
        let (code, v, err) = run(&py, "pattern-b", &["--cases", "48"]);
        assert_eq!(code, 1, "{err}\n{v:#}");
        let users = v["findings"].to_string();
        assert!(users.contains("/.."), "{users}");
    }
    if fams.iter().any(|f| f == "execute-escape") {
        let (code, v, err) = run(
            &py,
            "pattern-b",
            &[
                "--cases",
                "32",
                "--scenarios",
                "execute-escape",
                "--rounds",
                "1",
            ],
        );
        assert_eq!(code, 1, "{err}\n{v:#}");
        assert!(findings_on(&v, "C5") > 0, "{v:#}");
    } else {
        println!("note: no execute-escape family in this build");
    }
}

/// `execute` and the feature operations go through the protocol (library API).
#[test]
fn execute_and_features_work_through_the_protocol() {
    let Some(py) = venv_python() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let f = Arc::new(AdapterFactory::new(vec![
            py,
            "-m".into(),
            "isocheck_adapter".into(),
            "--factory".into(),
            "pattern-b".into(),
        ]));
        f.start().await.expect("starts");
        let caps = f.capabilities();
        assert!(caps.execute && caps.checkpoints && caps.history && caps.features.memory);
        let t = f.create().await.unwrap();
        let alice = t.open("alice").await.unwrap();
        let bob = t.open("bob").await.unwrap();
        alice
            .backend
            .write("/notes.md", "alice-secret\n")
            .await
            .unwrap();
        let r = alice
            .backend
            .execute("cat notes.md; echo done", Some(Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(
            r.output.contains("alice-secret") && r.output.contains("done"),
            "{r:?}"
        );
        assert_eq!(r.exit_code, Some(0));
        // LocalBackend's shell is not a sandbox: bob reaches alice's file.
        let r = bob
            .backend
            .execute("cat ../alice/notes.md", Some(Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(r.output.contains("alice-secret"), "{r:?}");
        let feats = alice.features.clone().unwrap();
        let p = feats.save_memory("main", "remember-alice").await.unwrap();
        assert_eq!(p, "/.deep/memory/main/MEMORY.md");
        assert_eq!(
            feats.read_memory("main").await.unwrap().as_deref(),
            Some("remember-alice")
        );
        assert_eq!(
            bob.features
                .clone()
                .unwrap()
                .read_memory("main")
                .await
                .unwrap(),
            None
        );
        let p = feats.save_plan("Fix the bug!", "step 1").await.unwrap();
        assert!(
            p.starts_with("/plans/fix-the-bug-") && p.ends_with(".md"),
            "{p}"
        );
        let p = feats.evict("call_1", &"x".repeat(100)).await.unwrap();
        assert_eq!(p, "/large_tool_results/call_1");
        assert!(alice
            .backend
            .read(&p, 0, 10)
            .await
            .unwrap()
            .contains("xxxx"));
        let missing = alice.backend.read("/nope.md", 0, 10).await.unwrap_err();
        assert_eq!(missing.kind(), "not-found", "{missing}");
        t.shutdown().await.unwrap();
        let pid = f.pid().unwrap();
        f.stop().await.unwrap();
        assert!(!alive(pid));
    });
}

#[test]
fn a_fastapi_style_app_is_tested_through_its_factory() {
    let Some(py) = venv_python() else { return };
    // The guide's get_deps puts the raw user id in the path: "." or
    // "bob/.." reach other users' workspaces.
    let (code, v, err) = run(
        &py,
        "fixtures/apps/chat_app.py:isocheck_factory",
        &[
            "--cases",
            "32",
            "--scenarios",
            "cross-read,checkpoints,history",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(status(&v, "C1"), "fail");
    assert_eq!(status(&v, "C3"), "pass");
    let users: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["users"].as_array().unwrap().iter())
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert!(
        users.iter().any(|u| u == "." || u.contains("..")),
        "{users:?}"
    );
    // get_deps alone: no history store, so C3 is not tested (never passed).
    let (_, v, _) = run(
        &py,
        "fixtures/apps/chat_app.py:get_deps",
        &["--cases", "16", "--scenarios", "history"],
    );
    assert_eq!(status(&v, "C3"), "not-tested", "{v:#}");
}

#[test]
fn a_factory_raising_for_some_ids_gives_refusals_not_a_crash() {
    let Some(py) = venv_python() else { return };
    // The same app validating user ids first: hostile ids are refused,
    // and nothing leaks.
    let (code, v, err) = run(
        &py,
        "fixtures/apps/chat_app.py:strict_factory",
        &[
            "--cases",
            "32",
            "--scenarios",
            "cross-read,checkpoints,history",
        ],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    for item in ["C1", "C2", "C3"] {
        assert_eq!(status(&v, item), "pass", "{item}: {v:#}");
    }
    let r = v["refusals"].to_string();
    assert!(r.contains("invalid user id"), "{r}");
}

/// Pattern C as the guide writes it (`SessionManager(workspace_root=...)`,
/// `FileCheckpointStore(f"/checkpoints/{user_id}")`), on the private engine
/// (`scripts/docker-engine.sh start`) with the local busybox image. What it
/// really does: users with plain ids get a container each and are kept
/// apart on files and execute; but SessionManager mounts
/// `{workspace_root}/{session_id}/workspace` with the *raw* id, so `.` and
/// `alice/..` are handed one workspace (and one checkpoint directory) in two
/// containers: a leak (C1, C2) that the sandbox does not prevent.
#[test]
fn pattern_c_isolates_plain_ids_and_leaks_through_raw_ids() {
    let Some(py) = venv_python() else { return };
    let factory = format!("{py} -m isocheck_adapter --factory pattern-c");
    if !docker_engine() {
        // Without an engine the factory refuses to start: a config error.
        let o = isocheck_in_root(&["run", "--adapter", &factory, "--cases", "1"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stdout(&o).contains("pattern-c needs Docker"));
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let f = Arc::new(AdapterFactory::new(vec![
            py.clone(),
            "-m".into(),
            "isocheck_adapter".into(),
            "--factory".into(),
            "pattern-c".into(),
        ]));
        f.start().await.expect("starts");
        assert!(f.capabilities().execute);
        let t = f.create().await.unwrap();
        let ten = Some(Duration::from_secs(10));
        let alice = t.open("alice").await.unwrap();
        let bob = t.open("bob").await.unwrap();
        alice
            .backend
            .write("/notes.md", "alice-secret\n")
            .await
            .unwrap();
        let r = alice
            .backend
            .execute("cat notes.md; pwd", ten)
            .await
            .unwrap();
        assert!(
            r.output.contains("alice-secret") && r.output.contains("/workspace"),
            "{r:?}"
        );
        // Plain ids: a container each, nothing of alice's in bob's.
        assert!(!bob.backend.exists("/notes.md").await.unwrap());
        for probe in [
            "ls -a /workspace /tmp",
            "find / -xdev -name 'notes.md'",
            "cat /workspace/notes.md 2>/dev/null",
            "env",
        ] {
            let r = bob.backend.execute(probe, ten).await.unwrap();
            assert!(
                !r.output.contains("alice") && !r.output.contains("notes.md"),
                "{probe}: {r:?}"
            );
        }
        let host_a = alice.backend.execute("hostname", ten).await.unwrap().output;
        let host_b = bob.backend.execute("hostname", ten).await.unwrap().output;
        assert_ne!(host_a, host_b, "one container for two users");
        // Raw ids: "." and "alice/.." both get {root}/workspace.
        let dot = t.open(".").await.unwrap();
        let up = t.open("alice/..").await.unwrap();
        dot.backend.write("/dot.md", "dot-secret\n").await.unwrap();
        let seen = up.backend.read_bytes("/dot.md").await.unwrap();
        assert_eq!(seen, b"dot-secret\n", "the shared workspace (C1)");
        let r = up
            .backend
            .execute("cat /workspace/dot.md", ten)
            .await
            .unwrap();
        assert!(r.output.contains("dot-secret"), "{r:?}");
        let host_d = dot.backend.execute("hostname", ten).await.unwrap().output;
        let host_u = up.backend.execute("hostname", ten).await.unwrap().output;
        assert_ne!(host_d, host_u, "two containers, one workspace");
        t.shutdown().await.unwrap();
        let pid = f.pid().unwrap();
        f.stop().await.unwrap();
        assert!(!alive(pid));
    });
    // Through the harness (small budgets: about 100 s together, most of it
    // execute-escape's `find ../..` walking each container): execute-escape
    // (plain ids) passes C5, and hostile-user-ids finds the raw-id leak.
    let (code, v, err) = run(
        &py,
        "pattern-c",
        &[
            "--cases",
            "2",
            "--users",
            "2",
            "--scenarios",
            "execute-escape",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(status(&v, "C5"), "pass", "{v:#}");
    let (code, v, err) = run(
        &py,
        "pattern-c",
        &[
            "--cases",
            "8",
            "--max-ops",
            "2",
            "--scenarios",
            "hostile-user-ids",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(status(&v, "C1"), "fail", "{v:#}");
    assert!(findings_on(&v, "C1") > 0, "{v:#}");
}
