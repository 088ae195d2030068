//! The Python adapter on LangGraph checkpointers and LangChain deepagents
//! backends, with the real packages (target/py-venv-deepagents, made by
//! `scripts/python-venv.sh deepagents`) and, for PostgresSaver, the real
//! server `scripts/postgres.sh start` runs. Skipped with a printed reason
//! when either is missing, unless ISOCHECK_REQUIRE names `python` /
//! `postgres`.

mod common;
use common::*;

const CK: [&str; 6] = [
    "--cases",
    "4",
    "--rounds",
    "1",
    "--scenarios",
    "checkpoints,history",
];

/// One checkpointer, one thread id for everybody (`{"thread_id": "1"}`):
/// users read each other's checkpoints (C2) and conversation (C3); a
/// thread id derived from the user keeps them apart. The same on the three
/// savers, PostgresSaver on the real server.
fn thread_ids_on(py: &str, kind: &str, env: &[(&str, &str)]) {
    let (code, v, err) = adapter_run(py, &format!("lg-constant-thread-{kind}"), &CK, env);
    assert_eq!(code, 1, "{kind}: {err}\n{v:#}");
    assert_eq!(item_status(&v, "C2"), "fail", "{kind}: {v:#}");
    assert_eq!(item_status(&v, "C3"), "fail", "{kind}: {v:#}");
    assert!(
        findings_on(&v, "C2") > 0 && findings_on(&v, "C3") > 0,
        "{kind}: {v:#}"
    );
    let (code, v, err) = adapter_run(py, &format!("lg-user-thread-{kind}"), &CK, env);
    assert_eq!(code, 0, "{kind}: {err}\n{v:#}");
    assert_eq!(item_status(&v, "C2"), "pass", "{kind}: {v:#}");
    assert_eq!(item_status(&v, "C3"), "pass", "{kind}: {v:#}");
}

#[test]
fn constant_thread_id_leaks_and_user_thread_ids_isolate_in_memory_and_sqlite() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    thread_ids_on(&py, "memory", &[]);
    thread_ids_on(&py, "sqlite", &[]);
}

#[test]
fn postgres_saver_and_store_on_the_real_server() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let Some(url) = postgres() else { return };
    let env = [("ISOCHECK_POSTGRES_URL", url.as_str())];
    thread_ids_on(&py, "postgres", &env);
    // PostgresStore under StoreBackend: a static namespace leaks, the user's isolates.
    let args = ["--cases", "2", "--rounds", "1", "--scenarios", "cross-read"];
    let (code, v, err) = adapter_run(&py, "da-store-static-ns-postgres", &args, &env);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "fail", "{v:#}");
    let (code, v, err) = adapter_run(&py, "da-store-user-ns-postgres", &args, &env);
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "pass", "{v:#}");
}

#[test]
fn postgres_saver_without_a_server_is_unsupported_not_a_pass() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let cmd = format!("{py} -m isocheck_adapter --factory lg-user-thread-postgres");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(["run", "--adapter", &cmd, "--cases", "1"])
        .current_dir(root())
        .env("ISOCHECK_POSTGRES_URL", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ISOCHECK_POSTGRES_URL"),
        "{}",
        stderr(&o)
    );
}

const FILES: [&str; 4] = ["--cases", "4", "--rounds", "1"];

#[test]
fn store_backend_static_namespace_leaks_and_per_user_namespace_isolates() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let s = ["--scenarios", "cross-read,memory-collision"];
    let args: Vec<&str> = FILES.iter().chain(s.iter()).copied().collect();
    let (code, v, err) = adapter_run(&py, "da-store-static-ns", &args, &[]);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "fail", "{v:#}");
    let text = v["findings"].to_string().to_lowercase();
    assert!(
        text.contains("memory"),
        "another user's memory is visible: {v:#}"
    );
    let (code, v, err) = adapter_run(&py, "da-store-user-ns", &args, &[]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(item_status(&v, "C1"), "pass", "{v:#}");
}

#[test]
fn filesystem_backend_with_raw_user_ids_in_the_root() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let s = ["--scenarios", "hostile-user-ids"];
    let args: Vec<&str> = ["--cases", "32", "--rounds", "1"]
        .iter()
        .chain(s.iter())
        .copied()
        .collect();
    for factory in ["da-fs-virtual", "da-fs-host-paths"] {
        let (code, v, err) = adapter_run(&py, factory, &args, &[]);
        assert_eq!(code, 1, "{factory}: {err}\n{v:#}");
        assert!(findings_on(&v, "C1") > 0, "{factory}: {v:#}");
    }
}

#[test]
fn local_shell_backend_executes_on_the_host() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let args = [
        "--cases",
        "8",
        "--rounds",
        "1",
        "--scenarios",
        "execute-escape",
    ];
    let (code, v, err) = adapter_run(&py, "da-local-shell", &args, &[]);
    assert_eq!(code, 1, "{err}\n{v:#}");
    assert!(findings_on(&v, "C5") > 0, "{v:#}");
}

/// Agent mode (deepagents' create_deep_agent driven by a scripted chat
/// model, every operation a run of the real agent and its tools) reaches
/// the direct mode's verdicts on both StoreBackend setups (memory-collision:
/// files and the memory the MemoryMiddleware puts into the system prompt). Through the
/// library API with a small shrink budget: the agent costs about 100 ms
/// an operation, and shrinking through the CLI takes minutes.
#[test]
fn agent_mode_reaches_the_direct_verdicts_on_store_namespaces() {
    use isocheck::engine::{run, RunConfig};
    use isocheck::subject::adapter::AdapterFactory;
    use std::sync::Arc;
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let families: Vec<_> = ["memory-collision"]
        .iter()
        .map(|f| isocheck::check::family(f).unwrap())
        .collect();
    let verdicts = |factory: &str, agent: bool| {
        let mut argv: Vec<String> = [py.as_str(), "-m", "isocheck_adapter", "--factory", factory]
            .map(String::from)
            .to_vec();
        if agent {
            argv.push("--agent".into());
        }
        let mut cfg = RunConfig::new(factory, 11);
        cfg.cases = 1;
        cfg.max_rounds = 1;
        cfg.max_shrink_runs = 2;
        cfg.gen.max_ops = 8;
        let report = run(Arc::new(AdapterFactory::new(argv)), &families, &cfg);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let items: Vec<String> = ["C1"].iter().map(|i| item_status(&v, i)).collect();
        let mut kinds: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {} {}", f["scenario"], f["checklist"], f["kind"]))
            .collect();
        kinds.sort();
        kinds.dedup();
        (items, kinds, v)
    };
    for (factory, want) in [("da-store-static-ns", "fail"), ("da-store-user-ns", "pass")] {
        let (items, kinds, direct) = verdicts(factory, false);
        let (a_items, a_kinds, agent) = verdicts(factory, true);
        assert_eq!(items, vec![want.to_string()], "{factory}: {direct:#}");
        assert_eq!(a_items, items, "{factory}: {agent:#}\n{direct:#}");
        assert_eq!(a_kinds, kinds, "{factory}: {agent:#}\n{direct:#}");
    }
}

/// Thread ids taken from the request, through the adapter's declared
/// `identifiers`: the identifier-replay family presents one user's thread
/// id as another. The ready request-thread factory and the example app's
/// `request_thread` resume it (thread_id bypassed: C2 and C3 fail); the
/// app's `owned_thread` refuses it (enforced, pass); a thread derived from
/// the user (`lg-user-thread-memory`) takes no identifier from the request,
/// so there is no thread_id to present (its checkpoint ids are judged).
#[test]
fn identifier_replay_presents_other_users_thread_ids() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let args = [
        "--scenarios",
        "identifier-replay",
        "--cases",
        "32",
        "--rounds",
        "16",
    ];
    let kinds = |v: &serde_json::Value| -> Vec<(String, String)> {
        scenario_in(v, "identifier-replay")["identifiers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                (
                    k["kind"].as_str().unwrap().into(),
                    k["verdict"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    for leaky in [
        "lg-request-thread-memory",
        "fixtures/apps/langgraph_threads.py:request_thread",
    ] {
        let (code, v, err) = adapter_run(&py, leaky, &args, &[]);
        assert_eq!(code, 1, "{leaky}: {err}\n{v:#}");
        assert!(
            kinds(&v).contains(&pair("thread_id", "bypassed")),
            "{leaky}: {v:#}"
        );
        for item in ["C2", "C3"] {
            assert_eq!(item_status(&v, item), "fail", "{leaky} {item}: {v:#}");
        }
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["cause"] == "id-replay/thread_id"),
            "{leaky}: {v:#}"
        );
    }
    let (code, v, err) = adapter_run(
        &py,
        "fixtures/apps/langgraph_threads.py:owned_thread",
        &args,
        &[],
    );
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(
        kinds(&v),
        vec![
            pair("checkpoint-id", "enforced"),
            pair("thread_id", "enforced")
        ],
        "{v:#}"
    );
    let (code, v, err) = adapter_run(&py, "lg-user-thread-memory", &args, &[]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert_eq!(kinds(&v), vec![pair("checkpoint-id", "enforced")], "{v:#}");
}

/// The stand-alone thread-replay check (`isocheck_adapter.langgraph.replay`)
/// agrees: Bob presents Alice's thread id. An app that checks ownership
/// passes.
#[test]
fn thread_ids_from_the_request_are_found_by_the_thread_replay_check() {
    let Some(py) = venv_python_named("deepagents") else {
        return;
    };
    let check = |factory: &str| {
        let o = std::process::Command::new(&py)
            .args([
                "-m",
                "isocheck_adapter.langgraph.replay",
                "--factory",
                factory,
            ])
            .current_dir(root())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{factory}: {e}: {}", stderr(&o)));
        (o.status.code().unwrap(), v)
    };
    for leaky in [
        "lg-request-thread-memory",
        "lg-request-thread-sqlite",
        "fixtures/apps/langgraph_threads.py:request_thread",
    ] {
        let (code, v) = check(leaky);
        assert_eq!(
            (code, v["status"].as_str()),
            (1, Some("fail")),
            "{leaky}: {v}"
        );
        assert!(
            v["evidence"].as_str().unwrap().contains("her conversation"),
            "{v}"
        );
    }
    for clean in [
        "lg-user-thread-memory",
        "fixtures/apps/langgraph_threads.py:owned_thread",
    ] {
        let (code, v) = check(clean);
        assert_eq!(
            (code, v["status"].as_str()),
            (0, Some("pass")),
            "{clean}: {v}"
        );
    }
}
