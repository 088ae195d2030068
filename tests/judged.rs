//! Never pass what was not judged: a scenario (and a checklist item) passes
//! only if, for every store it speaks for, one user's successful write was
//! followed by another user's successful observation. Driven through the
//! stdlib fake adapter (`fixtures/adapters/fake.py failops OPS`), an
//! isolated subject whose named operations always fail: the store behind
//! them can show nothing, so its family is `not tested`, with the reason,
//! and never `pass`. With no failing operation the same subject passes
//! every family: the rule costs a correct subject nothing.

mod common;
use common::*;

fn run(py: &str, failing: &str, scenarios: &str) -> (i32, serde_json::Value) {
    let cmd = format!("{py} fixtures/adapters/fake.py failops {failing}");
    let args = [
        "run",
        "--adapter",
        &cmd,
        "--seed",
        "3",
        "--cases",
        "12",
        "--rounds",
        "1",
        "--scenarios",
        scenarios,
        "--format",
        "json",
    ];
    let o = isocheck_in_root(&args);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stderr(&o), stdout(&o)));
    (o.status.code().unwrap(), v)
}

/// (family, its checklist item, the failing operations, words the reason must hold)
const CHANNELS: [(&str, &str, &str, &str); 10] = [
    ("cross-read", "C1", "write", "files: every write failed"),
    (
        "cross-read",
        "C1",
        "read,read_bytes,exists,ls_info,glob_info,grep_raw",
        "files: no observation succeeded",
    ),
    (
        "memory-collision",
        "C1",
        "save_memory",
        "memory: every save_memory failed",
    ),
    (
        "plan-uniqueness",
        "C1",
        "save_plan",
        "plans: every save_plan failed",
    ),
    (
        "eviction-accumulation",
        "C1",
        "evict",
        "evicted results: every evict failed",
    ),
    (
        "context-files",
        "C1",
        "write",
        "context files: every write of a context file failed",
    ),
    (
        "checkpoints",
        "C2",
        "ck_save",
        "checkpoints: every checkpoint save failed",
    ),
    (
        "history",
        "C3",
        "hist_append",
        "message history: every history append failed",
    ),
    (
        "execute-escape",
        "C5",
        "execute",
        "command execution: no observation succeeded",
    ),
    // (A refused save_memory is a C4 finding of its own: memory is
    // silently never kept. Here the reads after the reopen fail instead.)
    (
        "persistence",
        "C4",
        "read_memory,ck_list,ck_count",
        "a returning user's memory and checkpoints: no observation succeeded",
    ),
];

#[test]
fn a_family_whose_store_cannot_be_observed_is_not_tested_with_the_reason() {
    let Some(py) = system_python() else { return };
    for (family, id, failing, reason) in CHANNELS {
        let (code, v) = run(&py, failing, family);
        let s = scenario_in(&v, family);
        assert_eq!(
            s["status"], "not-tested",
            "{family} with {failing} failing: {v:#}"
        );
        let note = s["note"].as_str().unwrap_or_default();
        assert!(note.contains(reason), "{family}: {note:?} lacks {reason:?}");
        assert!(
            note.contains("the fake refuses every") || reason.contains("no observation"),
            "{family}: the subject's own error is the evidence: {note:?}"
        );
        // The item it speaks for is not a pass, and the report says why.
        assert_eq!(item_status(&v, id), "not-tested", "{family}: {v:#}");
        let not_judged = v["not_judged"].as_array().unwrap();
        assert!(
            not_judged.iter().any(|n| n["scenario"] == family),
            "{family}: {v:#}"
        );
        // Nothing was judged: never exit 0.
        assert_eq!(code, 3, "{family}: {v:#}");
        assert!(
            v["subject_failure"]
                .as_str()
                .unwrap_or_default()
                .contains("nothing was judged"),
            "{v:#}"
        );
    }
}

#[test]
fn the_same_subject_with_nothing_failing_passes_every_family() {
    let Some(py) = system_python() else { return };
    let all: Vec<&str> = CHANNELS.iter().map(|c| c.0).collect();
    let (code, v) = run(&py, "none", &all.join(","));
    assert_eq!(code, 0, "{v:#}");
    for family in all {
        assert_eq!(scenario_in(&v, family)["status"], "pass", "{family}: {v:#}");
    }
    for id in ["C1", "C2", "C3", "C4", "C5"] {
        assert_eq!(item_status(&v, id), "pass", "{id}: {v:#}");
    }
    assert!(v["not_judged"].as_array().unwrap().is_empty(), "{v:#}");
}

#[test]
fn an_item_passes_on_what_was_judged_and_names_what_was_not() {
    let Some(py) = system_python() else { return };
    // Files are judged by cross-read; memory is not (every save fails):
    // C1 passes on the files, and says memory-collision could not judge.
    let (code, v) = run(&py, "save_memory", "cross-read,memory-collision");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(scenario_in(&v, "cross-read")["status"], "pass");
    assert_eq!(scenario_in(&v, "memory-collision")["status"], "not-tested");
    let c1 = v["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "C1")
        .unwrap();
    assert_eq!(c1["status"], "pass");
    assert!(
        c1["note"]
            .as_str()
            .unwrap_or_default()
            .contains("memory-collision"),
        "{c1}"
    );
}
