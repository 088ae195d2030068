//! The Python adapter on the current pydantic-deep (0.3.50: workspaces, the
//! harness Memory capability) with its real packages (target/py-venv-latest,
//! made by `scripts/python-venv.sh latest`), side by side with the guide's
//! 0.3.44 (target/py-venv). Every ready factory of the workspace generation
//! runs here in direct mode, the leaky and the clean ones in agent mode too,
//! each with the verdict expected and why. Budgets are small (few cases,
//! the scenarios that speak to the setup): about 5 minutes in all.

mod common;

use common::*;

const SUITE: &str = "pydantic-deep-workspace";

fn run(py: &str, factory: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--suite", SUITE];
    all.extend_from_slice(extra);
    adapter_run(py, factory, &all, &[])
}

/// `scenario:item:kind` of every finding, sorted and deduplicated.
fn found(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}",
                f["scenario"].as_str().unwrap(),
                f["checklist"].as_str().unwrap(),
                f["kind"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn details(v: &serde_json::Value) -> String {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {:?}: {}\n",
                f["scenario"], f["users"], f["evidence"]["detail"]
            )
        })
        .collect()
}

/// The handshake declares the framework: pydantic-deep 0.3.50 speaking the
/// workspace API with the packages it pulled in, shown in the JSON report
/// and the text header; the guide's venv declares 0.3.44 and the backend
/// API. A ready factory of the other generation is a configuration error
/// (exit 2) naming what is installed, never a run on the wrong API.
#[test]
fn the_handshake_declares_generation_and_versions_in_both_environments() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-confined-hashed",
        &["--cases", "1", "--scenarios", "history"],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    let fw = &v["framework"];
    assert_eq!(fw["name"], "pydantic-deep", "{v:#}");
    assert_eq!(fw["generation"], "workspace", "{v:#}");
    assert_eq!(fw["versions"]["pydantic-deep"], "0.3.50", "{v:#}");
    assert_eq!(fw["versions"]["pydantic-ai-backend"], "0.2.37", "{v:#}");
    assert!(fw["versions"]["pydantic-ai-harness"].is_string(), "{v:#}");
    assert!(fw["versions"]["pydantic-ai-slim"].is_string(), "{v:#}");
    let cmd = format!("{py} -m isocheck_adapter --factory pattern-a");
    let o = isocheck_in_root(&["run", "--adapter", &cmd, "--cases", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        text.contains("other pydantic-deep API generation"),
        "{text}"
    );
    assert!(text.contains("pydantic-deep 0.3.50"), "{text}");

    let Some(guide) = venv_python() else { return };
    let cmd = format!("{guide} -m isocheck_adapter --factory pattern-a");
    let o = isocheck_in_root(&[
        "run",
        "--adapter",
        &cmd,
        "--seed",
        "1",
        "--cases",
        "1",
        "--scenarios",
        "history",
    ]);
    let text = stdout(&o);
    assert!(
        text.contains("framework: pydantic-deep 0.3.44 (backend API;"),
        "{text}\n{}",
        stderr(&o)
    );
    assert!(text.contains("pydantic-ai-backend 0.2.29"), "{text}");
    let cmd = format!("{guide} -m isocheck_adapter --factory ws-shared");
    let o = isocheck_in_root(&["run", "--adapter", &cmd, "--cases", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// ws-shared: one `LocalWorkspace(base)` for every user, as the single-user
/// examples write `create_deep_agent(workspace=LocalWorkspace("."))`.
/// Expected: C1 fails. Files cross (bob greps alice's canary) and so does
/// memory: the harness notebook `.deep/memory/main/MEMORY.md` lives in the
/// one workspace, so `read_memory` shows another user's memory.
#[test]
fn ws_shared_leaks_files_and_memory() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-shared",
        &["--cases", "2", "--scenarios", "cross-read,memory-collision"],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    let got = found(&v);
    assert!(
        got.contains(&"cross-read:C1:content-leak".into()),
        "{got:?}"
    );
    assert!(
        got.contains(&"memory-collision:C1:content-leak".into()),
        "{got:?}"
    );
    assert!(
        details(&v).contains("read_memory") || v.to_string().contains("read_memory"),
        "{v:#}"
    );
}

/// ws-local-per-user: `LocalWorkspace(f"{base}/{user_id}")`, the raw id in
/// the root. Expected: C1 fails for the ids `.`/`..` (their root is the
/// base, holding every user's directory), and C5 fails: `LocalWorkspace`
/// "isolates nothing", its shell reads another user's directory.
#[test]
fn ws_local_per_user_fails_on_hostile_ids_and_runs_commands_on_the_host() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-local-per-user",
        &[
            "--cases",
            "3",
            "--scenarios",
            "hostile-user-ids,execute-escape",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    let got = found(&v);
    assert!(
        got.contains(&"hostile-user-ids:C1:content-leak".into()),
        "{got:?}"
    );
    assert!(
        got.contains(&"execute-escape:C5:content-leak".into()),
        "{got:?}"
    );
}

/// ws-confined-per-user: `ConfinedWorkspace(Workspace(LocalWorkspaceBackend(
/// f"{base}/{user_id}")))`. Confinement keeps file tools inside the root,
/// but the root itself comes from the raw id. Expected: C1 fails for `.`
/// (root = the base, every user's directory inside it) just as without
/// confinement.
#[test]
fn ws_confined_per_user_is_only_as_safe_as_its_root() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-confined-per-user",
        &["--cases", "3", "--scenarios", "hostile-user-ids"],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert!(
        found(&v).contains(&"hostile-user-ids:C1:content-leak".into()),
        "{v:#}"
    );
    assert!(details(&v).contains("\".\""), "{}", details(&v));
}

/// ws-confined-hashed: the confined workspace and the checkpoint directory
/// named by a hash of the user id. Expected: C1, C2, C3 pass (files,
/// memory, checkpoints, hostile ids all judged), but C5 still fails:
/// `ConfinedWorkspace` says "Commands are not confined", and its shell
/// runs on the host and reads another user's directory.
#[test]
fn ws_confined_hashed_isolates_state_but_not_commands() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-confined-hashed",
        &[
            "--cases",
            "3",
            "--scenarios",
            "cross-read,memory-collision,hostile-user-ids,checkpoints,execute-escape",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    for item in ["C1", "C2"] {
        assert_eq!(item_status(&v, item), "pass", "{item}: {v:#}");
    }
    assert_eq!(item_status(&v, "C5"), "fail", "{v:#}");
    let got = found(&v);
    assert!(
        got.iter().all(|f| f.starts_with("execute-escape:C5")),
        "{got:?}"
    );
}

/// memory-user-namespace: one harness `FileStore` for the app (a workspace
/// of its own) with `namespace=lambda ctx: ctx.deps.user_id`, as the harness
/// docs write it for many users. Expected: memory stays per user (C1
/// passes for memory-collision). The harness refuses a namespace holding
/// anything but letters, digits, `_ - .` when the run starts, so for such
/// an id memory is not kept at all: the persistence family reports it
/// (C4), in the framework's words.
#[test]
fn memory_user_namespace_keeps_memory_per_user_but_drops_it_for_other_ids() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "memory-user-namespace",
        &[
            "--cases",
            "3",
            "--scenarios",
            "memory-collision,persistence",
        ],
    );
    assert_eq!(item_status(&v, "C1"), "pass", "{err}\n{v:#}");
    assert_eq!(
        scenario_in(&v, "memory-collision")["status"],
        "pass",
        "{v:#}"
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(found(&v), ["persistence:C4:persistence"], "{}", details(&v));
}

/// memory-shared-namespace: the same store with one fixed namespace
/// (`memory_namespace="app"`). Expected: C1 fails, a user reads another
/// user's memory through `read_memory`.
#[test]
fn memory_shared_namespace_leaks_memory() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "memory-shared-namespace",
        &["--cases", "2", "--scenarios", "memory-collision"],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(
        found(&v),
        ["memory-collision:C1:content-leak"],
        "{}",
        details(&v)
    );
}

/// Agent mode, ws-shared: the real `create_deep_agent(workspace=False)`
/// driven by `FunctionModel`, each run given the app's one shared
/// workspace. Expected: C1 fails as in direct mode: the agent's own
/// `write_file` / `grep` tools show bob alice's file.
#[test]
fn agent_mode_ws_shared_leaks_through_the_agents_tools() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-shared --agent",
        &[
            "--cases",
            "1",
            "--max-ops",
            "8",
            "--scenarios",
            "cross-read",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert!(
        found(&v).contains(&"cross-read:C1:content-leak".into()),
        "{v:#}"
    );
}

/// Agent mode, ws-confined-hashed: each run in the user's own confined
/// workspace, checkpoints through the agent's checkpoint tools into the
/// user's FileCheckpointStore. Expected: C1 and C2 pass.
#[test]
fn agent_mode_ws_confined_hashed_keeps_files_and_checkpoints_apart() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "ws-confined-hashed --agent",
        &[
            "--cases",
            "1",
            "--max-ops",
            "12",
            "--scenarios",
            "cross-read,checkpoints",
        ],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "pass", "{v:#}");
    assert_eq!(item_status(&v, "C2"), "pass", "{v:#}");
}

/// The example app on the new API (fixtures/apps/workspace_chat_app.py),
/// through `--factory file.py:function`: a per-user `ConfinedWorkspace`
/// rooted at `{WORKSPACES}/{user_id}`, memory namespaced by the user.
/// Expected: C1 fails, and only through ids that name a directory other
/// than their own: the raw id in the root lets `.` or the empty id (root =
/// the base) see every user's files and notebooks, in whichever family
/// draws such an id; each such id class is its own root cause.
/// `isocheck lint` says the same (ISO106 on the root built from the raw id).
#[test]
fn the_workspace_example_app_fails_only_through_path_like_ids() {
    let Some(py) = venv_python_named("latest") else {
        return;
    };
    let (code, v, err) = run(
        &py,
        "fixtures/apps/workspace_chat_app.py:run_parts",
        &[
            "--cases",
            "3",
            "--scenarios",
            "cross-read,memory-collision,hostile-user-ids",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    // Every finding is an id class that names another directory (the
    // empty id and `.` are the base itself): never a shared store.
    let path_like = [
        "empty",
        "dot",
        "dot-dot",
        "trailing-parent",
        "leading-parent",
        "embedded-traversal",
        "nesting",
    ];
    for f in v["findings"].as_array().unwrap() {
        let class = f["cause"].as_str().unwrap().strip_prefix("id-alias/");
        assert!(
            class.is_some_and(|c| path_like.contains(&c)),
            "a finding not through a path-like id: {f:#}"
        );
    }
    let lint = isocheck_in_root(&["lint", "fixtures/apps/workspace_chat_app.py"]);
    let text = stdout(&lint);
    assert!(text.contains("ISO106"), "{text}");
}
