//! pydantic-ai-backends' `DockerWorkspace` (pydantic-deep 0.3.50's
//! container workspace) through the Python adapter, on the private Docker
//! engine (`scripts/docker-engine.sh start`) and the current packages
//! (`scripts/python-venv.sh latest`). Each ready factory reproduces one way
//! the docs let an app configure it; every container a run creates is
//! removed when its tenancy closes, which each test checks. Budgets are
//! small (two users, few operations): every file operation is a `docker
//! exec`, and shrinking re-creates the containers.

mod common;

use common::*;
use std::sync::Mutex;

const SUITE: &str = "pydantic-deep-workspace";

/// Python of the current packages and a Docker engine, or a skip.
fn setup() -> Option<String> {
    let py = venv_python_named("latest")?;
    docker_engine().then_some(py)
}

fn run(py: &str, factory: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--suite", SUITE, "--users", "2"];
    all.extend_from_slice(extra);
    adapter_run(py, factory, &all, &[])
}

/// Names of the containers (running or not) whose name contains `part`.
fn containers(part: &str) -> Vec<String> {
    use bollard::query_parameters::ListContainersOptions;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let docker = bollard::Docker::connect_with_defaults()
            .unwrap()
            .negotiate_version()
            .await
            .unwrap();
        docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_iter()
            .flat_map(|c| c.names.unwrap_or_default())
            .filter(|n| n.contains(part))
            .collect()
    })
}

/// The tests here run one at a time, so that each sees only the
/// containers of its own runs.
static SERIAL: Mutex<()> = Mutex::new(());

/// `scenario:item:cause` of every finding, sorted and deduplicated.
fn causes(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}",
                f["scenario"].as_str().unwrap(),
                f["checklist"].as_str().unwrap(),
                f["cause"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The verdict of identifier kind `kind` in scenario `name`.
fn verdict<'a>(v: &'a serde_json::Value, name: &str, kind: &str) -> &'a serde_json::Value {
    &scenario_in(v, name)["identifiers"]
        .as_array()
        .unwrap_or_else(|| panic!("no identifier verdicts: {v:#}"))
        .iter()
        .find(|i| i["kind"] == kind)
        .unwrap_or_else(|| panic!("no verdict for {kind}: {v:#}"))["verdict"]
}

/// ws-docker-fixed-name: `DockerWorkspace(container_name=...)` configured
/// once for the app, so every run attaches to one container. Expected: C1
/// fails as a shared store: bob reads alice's file in the container; in
/// agent mode through the agent's own tools. No container is left.
#[test]
fn a_fixed_container_name_is_one_container_for_every_user() {
    let Some(py) = setup() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (code, v, err) = run(
        &py,
        "ws-docker-fixed-name",
        &[
            "--cases",
            "1",
            "--max-ops",
            "4",
            "--scenarios",
            "cross-read",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(causes(&v), ["cross-read:C1:shared-store"], "{v:#}");
    let (code, v, err) = run(
        &py,
        "ws-docker-fixed-name --agent",
        &[
            "--cases",
            "1",
            "--max-ops",
            "4",
            "--scenarios",
            "cross-read",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(causes(&v), ["cross-read:C1:shared-store"], "{v:#}");
    assert_eq!(containers("isocheck-app-sandbox-"), Vec::<String>::new());
}

/// ws-docker-per-session: `DockerWorkspace()` configured once, a new
/// container for each user's first run, and the app keeping each user's
/// ref on its side. Expected: files, memory and checkpoints stay apart (C1
/// and C2 pass), direct and in agent mode; identifier-replay has no
/// workspace ref to judge (the app takes none from the request), and the
/// paths it hands out are enforced (another user's path names a file in
/// the presenter's own container).
#[test]
fn a_container_per_session_keeps_users_apart() {
    let Some(py) = setup() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (code, v, err) = run(
        &py,
        "ws-docker-per-session",
        &[
            "--cases",
            "1",
            "--max-ops",
            "6",
            "--scenarios",
            "cross-read,memory-collision,checkpoints,identifier-replay",
        ],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "pass", "{v:#}");
    assert_eq!(item_status(&v, "C2"), "pass", "{v:#}");
    assert_eq!(verdict(&v, "identifier-replay", "plan-path"), "enforced");
    let (code, v, err) = run(
        &py,
        "ws-docker-per-session --agent",
        &[
            "--cases",
            "1",
            "--max-ops",
            "6",
            "--scenarios",
            "cross-read",
        ],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "pass", "{v:#}");
    assert_eq!(containers("pydantic-ai-workspace-"), Vec::<String>::new());
}

/// ws-docker-request-ref: a container per session, but the app takes the
/// workspace ref back from the request (it comes with the message history)
/// and hands it to `DockerWorkspace` unchanged. pydantic-ai-backends
/// checks that the ref names a container a DockerWorkspace created, not
/// whose it is. Expected: identifier-replay finds `workspace_ref`
/// bypassed: a user presenting another user's ref is attached to that
/// user's container and reads its files, memory or evicted results; every
/// finding is `id-replay/workspace_ref`, none a shared store.
#[test]
fn a_workspace_ref_taken_from_the_request_reaches_another_users_container() {
    let Some(py) = setup() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (code, v, err) = run(
        &py,
        "ws-docker-request-ref",
        &[
            "--cases",
            "2",
            "--max-ops",
            "6",
            "--scenarios",
            "identifier-replay",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(
        verdict(&v, "identifier-replay", "workspace_ref"),
        "bypassed"
    );
    let got = causes(&v);
    assert!(!got.is_empty(), "{v:#}");
    for c in &got {
        assert!(c.ends_with(":id-replay/workspace_ref"), "{got:?}\n{v:#}");
    }
    assert_eq!(containers("pydantic-ai-workspace-"), Vec::<String>::new());
}
