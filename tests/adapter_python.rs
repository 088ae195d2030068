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
    adapter_run(py, factory, extra, &[])
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

#[test]
fn pattern_a_passes_every_family_it_supports() {
    let Some(py) = venv_python() else { return };
    // Isolation holds (C1-C3 pass). The one finding is real and about the
    // library, not the pattern: pydantic-deep 0.3.44 names plans with
    // `uuid4().hex[:6]` (features/plan/toolset.py), 24 bits, so plans of one
    // slug collide with 50% chance at about 4,800 saves. It is medium (X2):
    // with --fail-on high the run passes.
    // A second one, also the library's: an evicted result whose call id was
    // rewritten is stored as `{sanitized}-{8 hex}`, itself a clean id, so a
    // call id equal to that name overwrites it (X2, eviction-accumulation).
    let (code, v, err) = run(&py, "pattern-a", &["--cases", "48", "--fail-on", "high"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    let findings = v["findings"].as_array().unwrap();
    let mut got: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["scenario"].as_str().unwrap(),
                f["checklist"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["eviction-accumulation X2", "plan-uniqueness X2"],
        "{v:#}"
    );
    let detail = |scenario: &str| {
        findings
            .iter()
            .find(|f| f["scenario"] == scenario)
            .map(|f| f["evidence"]["detail"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert!(detail("plan-uniqueness").contains("24 bits"), "{v:#}");
    assert!(
        detail("eviction-accumulation").contains("was overwritten by call"),
        "{v:#}"
    );
    for s in v["scenarios"].as_array().unwrap() {
        assert!(
            s["status"] == "pass"
                || s["status"] == "not-tested"
                || s["name"] == "plan-uniqueness"
                || s["name"] == "eviction-accumulation",
            "{s}"
        );
    }
    for item in ["C1", "C2", "C3", "C4"] {
        assert_eq!(status(&v, item), "pass", "{item}: {v:#}");
    }
    // Declared by the adapter now: the context files seeded into every
    // user's fresh backend, and persistence "ephemeral" (C4).
    for name in ["context-files", "persistence"] {
        let s = v["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {v:#}"));
        assert_eq!(s["status"], "pass", "{s}");
    }
}

#[test]
fn persistence_is_declared_by_the_ready_factories_and_by_persistence_for_user_factories() {
    let Some(py) = venv_python() else { return };
    let c4 = [
        "--cases",
        "24",
        "--scenarios",
        "persistence",
        "--rounds",
        "1",
    ];
    // pattern-a declares ephemeral, truthfully; told it is persistent, its
    // lost memory and checkpoints are C4 findings.
    let (code, v, err) = run(&py, "pattern-a --persistence persistent", &c4);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(status(&v, "C4"), "fail", "{v:#}");
    assert!(
        v["findings"]
            .to_string()
            .contains("did not survive reopening the session (expected: persistent)"),
        "{v:#}"
    );
    // A user factory declares nothing unless told.
    let app = "fixtures/apps/chat_app.py:strict_factory";
    let (_, v, _) = run(&py, app, &c4);
    assert_eq!(status(&v, "C4"), "not-tested", "{v:#}");
    let (_, v, err) = run(&py, &format!("{app} --persistence persistent"), &c4);
    assert_ne!(status(&v, "C4"), "not-tested", "{err}\n{v:#}");
}

#[test]
fn problem_leaks_across_users() {
    let Some(py) = venv_python() else { return };
    let (code, v, err) = run(&py, "problem", &["--cases", "12"]);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(status(&v, "C1"), "fail");
    assert!(findings_on(&v, "C1") > 0);
    let text = v["findings"].to_string();
    assert!(text.contains("files"), "{text}");
    // One backend for all: a user's write to a seeded context file reaches
    // every other user.
    let (code, v, err) = run(
        &py,
        "problem",
        &["--cases", "12", "--scenarios", "context-files"],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert!(findings_on(&v, "C1") > 0, "{v:#}");
    for (family, what) in [("memory-collision", "memory"), ("plan-uniqueness", "plan")] {
        let (code, v, err) = run(&py, "problem", &["--cases", "12", "--scenarios", family]);
        assert_eq!(code, 1, "{family}: {err}\n{v:#}");
        assert!(findings_on(&v, "C1") > 0, "{family}: {v:#}");
        assert!(
            v["findings"].to_string().to_lowercase().contains(what),
            "{family}: {v:#}"
        );
    }
}

#[test]
fn pattern_b_as_the_guide_writes_it_aliases_hostile_user_ids() {
    let Some(py) = venv_python() else { return };
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
        // pydantic-deep's own feature code gets the real LocalBackend, which
        // refuses its absolute paths: memory, plans and evicted results are
        // never stored, and the framework's words say why.
        let feats = alice.features.clone().unwrap();
        let refused = |e: isocheck::subject::SubjectError| {
            let m = e.to_string();
            assert!(m.contains("is outside allowed directories"), "{m}");
        };
        refused(
            feats
                .save_memory("main", "remember-alice")
                .await
                .unwrap_err(),
        );
        refused(feats.save_plan("Fix the bug!", "step 1").await.unwrap_err());
        let e = feats.evict("call_1", &"x".repeat(100)).await.unwrap_err();
        assert!(e.to_string().contains("returning truncated preview"), "{e}");
        refused(e);
        refused(
            bob.features
                .clone()
                .unwrap()
                .read_memory("main")
                .await
                .unwrap_err(),
        );
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
        assert!(
            stderr(&o).contains("pattern-c needs Docker"),
            "{}",
            stderr(&o)
        );
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
    // Through the harness (small budgets): execute-escape (plain ids)
    // passes C5, and hostile-user-ids finds the raw-id leak.
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
    // The first raw id found to alias (--rounds 1) reaches another user's
    // files (C1) or checkpoints (C2): both live under `{base}/{user_id}`.
    let alias = v["findings"].as_array().unwrap().iter().any(|f| {
        f["cause"].as_str().unwrap().starts_with("id-alias/")
            && (f["checklist"] == "C1" || f["checklist"] == "C2")
    });
    assert!(alias, "{v:#}");
}

/// What a report concludes: every checklist item's and scenario's status,
/// and the findings as (scenario, item, kind).
fn verdicts(v: &serde_json::Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let list = |key: &str, name: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{}={}", c[name].as_str().unwrap(), c["status"]))
            .collect()
    };
    let mut findings: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["cause"], f["checklist"], f["store"]))
        .collect();
    findings.sort();
    (list("checklist", "id"), list("scenarios", "name"), findings)
}

/// Every family but hostile-user-ids: in agent mode a hostile id goes
/// through the same tools as a plain one (the factory maps it; direct-mode
/// tests judge the mapping), and its directed search would triple the cost.
const AGENT_FAMILIES: &str = "cross-read,concurrent-writes,memory-collision,plan-uniqueness,\
eviction-accumulation,context-files,checkpoints,history,persistence,execute-escape";

/// Runs `factory` directly and in agent mode with one seed; both must
/// reach the same verdicts. Returns the agent mode's exit code and report.
fn agent_mode_agrees(py: &str, factory: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    // Three users: every agent run of an operation costs tens of ms, and a
    // case of 8 users is hundreds of operations with its sweeps.
    let mut args = vec![
        "--cases",
        "3",
        "--users",
        "3",
        "--rounds",
        "1",
        "--scenarios",
        AGENT_FAMILIES,
    ];
    args.extend_from_slice(extra);
    let (direct_code, direct, _) = run(py, factory, &args);
    let (code, agent, err) = run(py, &format!("{factory} --agent"), &args);
    assert!(
        err.contains(&format!("serves {factory} (agent)")),
        "not in agent mode: {err}"
    );
    assert_eq!(code, direct_code, "{err}\n{agent:#}\n{direct:#}");
    let (items, scenarios, findings) = verdicts(&agent);
    let (d_items, d_scenarios, d_findings) = verdicts(&direct);
    assert_eq!(items, d_items, "{agent:#}\n{direct:#}");
    assert_eq!(scenarios, d_scenarios, "{agent:#}\n{direct:#}");
    // Every finding of the direct mode, through the agent too. The agent
    // may show more on a store that is shared anyway (save_checkpoint names
    // "the latest" checkpoint, which another user's concurrent run may
    // have taken), but only on an item that fails already.
    for f in &d_findings {
        assert!(findings.contains(f), "{f} missing in agent mode: {agent:#}");
    }
    for f in findings.iter().filter(|f| !d_findings.contains(f)) {
        let item = f.split_whitespace().nth(1).unwrap().trim_matches('"');
        assert_eq!(
            status(&direct, item),
            "fail",
            "{f} only in agent mode: {agent:#}"
        );
    }
    (code, agent)
}

#[test]
fn agent_mode_reaches_the_verdicts_of_pattern_a() {
    let Some(py) = venv_python() else { return };
    // Through the real agent's tools, isolation still holds; the one
    // finding is pydantic-deep's 6-hex plan id, now from the planner's own
    // save_plan.
    let (code, v) = agent_mode_agrees(&py, "pattern-a", &["--fail-on", "high"]);
    assert_eq!(code, 0, "{v:#}");
    for item in ["C1", "C2", "C3"] {
        assert_eq!(status(&v, item), "pass", "{item}: {v:#}");
    }
    // Only the library's own X2 findings (plan ids; evicted-result names).
    let f = v["findings"].as_array().unwrap();
    assert!(
        f.iter().any(|f| f["scenario"] == "plan-uniqueness"),
        "{v:#}"
    );
    for x in f {
        assert_eq!(x["checklist"], "X2", "{v:#}");
        assert!(
            x["scenario"] == "plan-uniqueness" || x["scenario"] == "eviction-accumulation",
            "{v:#}"
        );
    }
}

#[test]
fn agent_mode_reaches_the_verdicts_of_problem() {
    let Some(py) = venv_python() else { return };
    let (code, v) = agent_mode_agrees(&py, "problem", &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(status(&v, "C1"), "fail");
    assert_eq!(status(&v, "C2"), "fail");
    assert_eq!(status(&v, "C3"), "pass");
    // Files, memory, plans and evicted results leak between users.
    let leaks: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["checklist"] == "C1" && f["kind"] == "content-leak")
        .flat_map(|f| f["witnesses"].as_array().unwrap().iter())
        .map(|w| w.as_str().unwrap())
        .collect();
    // Memory written by one user's agent run appears in the system prompt
    // of another user's run.
    let memory = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["store"] == "memory")
        .unwrap_or_else(|| panic!("a memory finding: {v:#}"));
    assert!(
        memory["seen_in"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "system-prompt"),
        "{memory:#}"
    );
    for family in [
        "cross-read",
        "memory-collision",
        "plan-uniqueness",
        "eviction-accumulation",
    ] {
        assert!(leaks.contains(&family), "{family}: {leaks:?}");
    }
}

/// Each operation in agent mode is a run of the real agent: the file tools,
/// the memory tool and the system prompt, the planner's save_plan, a real
/// eviction, checkpoints of the middleware, a kept message history.
#[test]
fn agent_mode_operations_go_through_the_agent() {
    let Some(py) = venv_python() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let f = Arc::new(AdapterFactory::new(
            [
                &py,
                "-m",
                "isocheck_adapter",
                "--factory",
                "pattern-a",
                "--agent",
            ]
            .map(String::from)
            .to_vec(),
        ));
        f.start().await.expect("starts");
        let t = f.create().await.unwrap();
        let alice = t.open("alice").await.unwrap();
        let bob = t.open("bob").await.unwrap();
        let (a, b) = (&alice.backend, &bob.backend);
        // write_file / read_file, read back exactly (numbered lines undone).
        a.write("/notes/a.md", "alice-1\nsecond\n").await.unwrap();
        assert_eq!(
            a.read_bytes("/notes/a.md").await.unwrap(),
            b"alice-1\nsecond\n"
        );
        assert_eq!(
            a.edit("/notes/a.md", "second", "2nd", false).await.unwrap(),
            1
        );
        assert!(a.exists("/notes/a.md").await.unwrap());
        assert!(!b.exists("/notes/a.md").await.unwrap());
        let ls = a.ls_info("/notes").await.unwrap();
        assert_eq!(ls.len(), 1, "{ls:?}");
        assert_eq!(ls[0].path, "/notes/a.md");
        let g = a.grep_raw("alice", Some("/"), None).await.unwrap();
        assert_eq!((g[0].path.as_str(), g[0].line_number), ("/notes/a.md", 1));
        let err = a.read("/nope.md", 0, 10).await.unwrap_err();
        assert_eq!(err.kind(), "not-found", "{err}");
        // pattern-a offers no execute, so the agent has no execute tool:
        // the refused call is an error, not an empty output.
        let err = a.execute("echo hi", None).await.unwrap_err();
        assert_eq!(err.kind(), "unsupported", "{err}");
        // Memory: the memory tool, and the system prompt it is injected into.
        let fa = alice.features.clone().unwrap();
        assert_eq!(
            fa.save_memory("main", "remember-alice").await.unwrap(),
            "/.deep/memory/main/MEMORY.md"
        );
        let m = fa.read_memory("main").await.unwrap().unwrap();
        assert!(m.starts_with("remember-alice"), "{m}");
        let prompt = m.split("--- system prompt of 'main' ---").nth(1).unwrap();
        assert!(prompt.contains("remember-alice"), "{prompt}");
        // A subagent's memory is its own.
        assert_eq!(
            fa.save_memory("a/b", "sub-note").await.unwrap(),
            "/.deep/memory/a/b/MEMORY.md"
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
        // The planner subagent's save_plan.
        let p = fa.save_plan("Fix the bug!", "step 1").await.unwrap();
        assert!(
            p.starts_with("/plans/fix-the-bug-") && p.ends_with(".md"),
            "{p}"
        );
        // A real eviction of an oversized tool result under the call id.
        let p = fa.evict("call_7", "evicted-alice").await.unwrap();
        assert_eq!(p, "/large_tool_results/call_7");
        let body = String::from_utf8(a.read_bytes(&p).await.unwrap()).unwrap();
        assert!(
            body.starts_with("evicted-alice\n") && body.len() > 80_000,
            "{}",
            body.len()
        );
        // Checkpoints: taken by the middleware, named by save_checkpoint,
        // read back by rewind_to.
        let ck = alice.checkpoints.clone().unwrap();
        ck.save(isocheck::subject::Checkpoint {
            id: "ck-a".into(),
            label: "before-edit".into(),
            turn: 1,
            messages: vec!["hello from alice".into()],
            created_at: 1,
        })
        .await
        .unwrap();
        assert_eq!(ck.count().await.unwrap(), 1);
        let got = ck.get("ck-a").await.unwrap().unwrap();
        assert_eq!(
            (got.label.as_str(), got.messages.clone()),
            ("before-edit", vec!["hello from alice".to_string()])
        );
        assert_eq!(
            ck.get_by_label("before-edit").await.unwrap().unwrap().id,
            "ck-a"
        );
        assert_eq!(bob.checkpoints.clone().unwrap().count().await.unwrap(), 0);
        assert!(ck.remove("ck-a").await.unwrap());
        assert!(ck.get("ck-a").await.unwrap().is_none());
        // The message history the app keeps, as the model is shown it.
        let h = alice.history.clone().unwrap();
        h.append("first").await.unwrap();
        h.append("second").await.unwrap();
        assert_eq!(h.get().await.unwrap(), vec!["first", "second"]);
        assert!(bob.history.clone().unwrap().get().await.unwrap().is_empty());
        t.shutdown().await.unwrap();
        let pid = f.pid().unwrap();
        f.stop().await.unwrap();
        assert!(!alive(pid));
    });
}
