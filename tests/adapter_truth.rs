//! The app as it runs: through the Python adapter and the real pinned
//! packages (target/py-venv), the framework's own code and the agent get
//! the app's objects unchanged, what they refuse is an observation, and an
//! interrupted run leaves nothing behind. Skipped with a printed reason
//! when the venv (or, for pattern-c, the Docker engine) is missing, unless
//! ISOCHECK_REQUIRE names it.

mod common;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn run(py: &str, factory: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let cmd = format!("{py} -m isocheck_adapter --factory {factory}");
    let mut args = vec!["run", "--adapter", &cmd, "--format", "json"];
    if !extra.contains(&"--seed") {
        args.extend(["--seed", "5"]);
    }
    // At most 8 search rounds unless a test asks for more: these tests
    // check verdicts, not that every root cause is found.
    if !extra.contains(&"--rounds") {
        args.extend(["--rounds", "8"]);
    }
    args.extend_from_slice(extra);
    let o = isocheck_in_root(&args);
    let err = stderr(&o);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {err}\n{}", stdout(&o)));
    (o.status.code().unwrap(), v, err)
}

fn findings<'a>(v: &'a serde_json::Value, scenario: &str) -> Vec<&'a serde_json::Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["witnesses"]
                .as_array()
                .is_some_and(|w| w.iter().any(|x| x == scenario))
        })
        .collect()
}

/// The guide's Pattern B, `--persistence persistent` as it claims: the
/// real LocalBackend refuses pydantic-deep's absolute memory path, so
/// memory is never stored (C4, with LocalBackend's own words as evidence),
/// in the direct mode and through the real agent alike. Plans and evicted
/// results are refused the same way: their families cannot judge anything
/// (not tested, with the refusal), and report no leak the real backend
/// could not produce.
#[test]
fn pattern_b_never_stores_memory_on_the_real_local_backend() {
    let Some(py) = venv_python() else { return };
    let scenarios = "persistence,memory-collision,plan-uniqueness,eviction-accumulation";
    for mode in ["", " --agent"] {
        let factory = format!("pattern-b{mode} --persistence persistent");
        let (code, v, err) = run(
            &py,
            &factory,
            &[
                "--scenarios",
                scenarios,
                "--cases",
                "6",
                "--users",
                "3",
                "--rounds",
                "1",
            ],
        );
        assert_eq!(code, 1, "{mode}: {err}\n{v:#}");
        assert_eq!(item_status(&v, "C4"), "fail", "{mode}: {v:#}");
        let c4 = findings(&v, "persistence");
        assert!(
            c4.iter().any(|f| f["evidence"]["detail"]
                .as_str()
                .unwrap()
                .contains("is outside allowed directories")),
            "{mode}: LocalBackend's refusal is the evidence: {c4:#?}"
        );
        for (family, op) in [
            ("memory-collision", "every save_memory failed"),
            ("plan-uniqueness", "every save_plan failed"),
            ("eviction-accumulation", "every evict failed"),
        ] {
            assert!(findings(&v, family).is_empty(), "{mode} {family}: {v:#}");
            let s = scenario_in(&v, family);
            assert_eq!(s["status"], "not-tested", "{mode}: {s}");
            let note = s["note"].as_str().unwrap();
            assert!(note.contains(op), "{mode} {family}: {note}");
            assert!(
                note.contains("outside allowed directories"),
                "{mode}: {note}"
            );
        }
        // The truncated-preview fallback of the eviction is named as such.
        let ev = scenario_in(&v, "eviction-accumulation")["note"]
            .as_str()
            .unwrap();
        assert!(ev.contains("returning truncated preview"), "{mode}: {ev}");
    }
}

/// An app whose agent checkpoints (the guide's `include_checkpoints=True`)
/// but whose deps carry no checkpoint store: every user's checkpoints go to
/// the agent's one fallback store. Only agent mode can see it.
#[test]
fn agent_checkpoints_without_a_store_share_the_agents_fallback_store() {
    let Some(py) = venv_python() else { return };
    let app = "fixtures/apps/checkpoint_apps.py:no_store --agent";
    let (code, v, err) = run(
        &py,
        app,
        &[
            "--scenarios",
            "checkpoints",
            "--cases",
            "6",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C2"), "fail", "{v:#}");
}

/// A FileCheckpointStore per user rooted at `{base}/{user_id}` (plain ids
/// only): `rewind_to("../alice/<uuid>")` hands Alice's conversation to
/// another user. The same app with the store under a hashed directory and
/// checkpoint ids checked is clean.
#[test]
fn a_hostile_checkpoint_id_reaches_another_users_file_through_rewind_to() {
    let Some(py) = venv_python() else { return };
    // Seed 11 finds the leak around the 22nd case (the agent's runs are
    // concurrent, so not always at the same one); the clean app gets 24.
    let budget = |cases| {
        [
            "--scenarios",
            "checkpoints",
            "--cases",
            cases,
            "--rounds",
            "1",
        ]
    };
    let (code, v, err) = run(
        &py,
        "fixtures/apps/checkpoint_apps.py:file_store --agent",
        &budget("40"),
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    let leak = findings(&v, "checkpoints")
        .into_iter()
        .find(|f| f["kind"] == "content-leak")
        .unwrap_or_else(|| panic!("no content leak: {v:#}"));
    assert_eq!(leak["checklist"], "C2");
    let op = leak["evidence"]["operation"].as_str().unwrap();
    assert!(op.contains("../"), "through a hostile id: {leak:#}");
    // The store is not shared: it trusts the checkpoint id it is handed.
    assert_eq!(leak["cause"], "id-replay/checkpoint-id", "{leak:#}");
    assert!(
        leak["evidence"]["detail"]
            .as_str()
            .unwrap()
            .contains("saw canary"),
        "{leak:#}"
    );

    let (code, v, err) = run(
        &py,
        "fixtures/apps/checkpoint_apps.py:per_user --agent",
        &budget("24"),
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C2"), "pass", "{v:#}");
}

/// pydantic-deep appends a hash to a call id its sanitizer rewrote
/// (`a.b` is stored as `a_b-<8 hex>`), so the static crafted id `a_b` can
/// never collide. The driver crafts the id from the name the subject really
/// used; a clean id equal to it is stored at the same path, and the result
/// of `a.b` is overwritten (X2).
#[test]
fn evictions_are_attacked_with_the_subjects_real_names() {
    let Some(py) = venv_python() else { return };
    let (code, v, err) = run(
        &py,
        "pattern-a",
        &[
            "--scenarios",
            "eviction-accumulation",
            "--cases",
            "64",
            "--rounds",
            "1",
        ],
    );
    assert_eq!(code, 1, "{err}\n{v:#}");
    let f = findings(&v, "eviction-accumulation");
    let collision = f
        .iter()
        .find(|f| f["checklist"] == "X2")
        .unwrap_or_else(|| panic!("no collision: {v:#}"));
    let detail = collision["evidence"]["detail"].as_str().unwrap();
    let hashed = regex::Regex::new(r#"call "[^"]*-[0-9a-f]{8}""#).unwrap();
    assert!(hashed.is_match(detail), "{detail}");
}

/// Killing a pattern-c run with SIGTERM: the adapter is told to stop, its
/// SessionManager removes the sandboxes, and whatever it could not remove
/// is removed by isocheck from the containers the adapter recorded. No
/// process, container or temp dir is left.
#[test]
fn sigterm_during_a_pattern_c_run_leaves_no_process_container_or_temp_dir() {
    let Some(py) = venv_python() else { return };
    if !docker_engine() {
        return;
    }
    let tmp = root().join("target/test-tmp/sigterm-pattern-c");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let factory = format!("{py} -m isocheck_adapter --factory pattern-c");
    let child = Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(["run", "--adapter", &factory, "--cases", "50"])
        .args(["--scenarios", "cross-read", "--seed", "4"])
        .current_dir(root())
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The containers the adapter started, from its debris file.
    let start = Instant::now();
    let ids = loop {
        let ids: Vec<String> = std::fs::read_dir(&tmp)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|d| std::fs::read_to_string(d.path().join("debris")).ok())
            .flat_map(|t| {
                t.lines()
                    .filter_map(|l| l.strip_prefix("docker-container ").map(String::from))
                    .collect::<Vec<_>>()
            })
            .collect();
        if ids.len() >= 2 {
            break ids;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no container was started"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    if let Some(apid) = adapter_pid(&err) {
        assert!(!alive(apid), "the adapter (pid {apid}) is still running");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let left: Vec<String> = rt.block_on(async {
        let docker = bollard::Docker::connect_with_defaults().unwrap();
        let mut left = Vec::new();
        for id in &ids {
            if docker.inspect_container(id, None).await.is_ok() {
                left.push(id.clone());
            }
        }
        left
    });
    assert!(left.is_empty(), "containers left: {left:?}\n{err}");
    let debris: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(debris.is_empty(), "left in the temp dir: {debris:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// pattern-c as the guide writes it promises persistence, but pydantic-deep
/// writes memory at `/.deep/memory/...` in the container's own filesystem,
/// outside the workspace SessionManager mounts: a user who returns after
/// the manager released the sandbox (as its idle cleanup does) finds none,
/// while a file in the workspace is still there. (Through the library API:
/// the same through the harness is `isocheck run --adapter "... --factory
/// pattern-c" --scenarios persistence`, a C4 finding, but its shrinking
/// starts containers for minutes.)
#[test]
fn pattern_c_memory_does_not_survive_the_sandbox() {
    use isocheck::subject::adapter::AdapterFactory;
    use isocheck::subject::SubjectFactory;
    let Some(py) = venv_python() else { return };
    if !docker_engine() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let f = AdapterFactory::new(
            [
                py.as_str(),
                "-m",
                "isocheck_adapter",
                "--factory",
                "pattern-c",
            ]
            .map(String::from)
            .to_vec(),
        );
        f.start().await.expect("starts");
        let t = f.create().await.unwrap();
        let alice = t.open("alice").await.unwrap();
        let feats = alice.features.clone().unwrap();
        let path = feats.save_memory("main", "remember-alice").await.unwrap();
        assert_eq!(path, "/.deep/memory/main/MEMORY.md");
        alice.backend.write("/notes.md", "kept\n").await.unwrap();
        let back = t.open("alice").await.unwrap();
        let memory = back
            .features
            .clone()
            .unwrap()
            .read_memory("main")
            .await
            .unwrap();
        assert_eq!(memory, None, "memory survived the sandbox");
        assert_eq!(
            back.backend.read_bytes("/notes.md").await.unwrap(),
            b"kept\n"
        );
        t.shutdown().await.unwrap();
        f.stop().await.unwrap();
    });
}
