//! Identifier replay: identifiers handed to one user, presented by another.

mod common;

use common::*;
use isocheck::fixtures::RequestThreads;
use isocheck::Harness;

/// The verdict of identifier kind `kind` in the identifier-replay scenario.
fn verdict<'a>(r: &'a serde_json::Value, kind: &str) -> &'a str {
    scenario_in(r, "identifier-replay")["identifiers"]
        .as_array()
        .unwrap_or_else(|| panic!("no identifier verdicts: {r:#}"))
        .iter()
        .find(|k| k["kind"] == kind)
        .and_then(|k| k["verdict"].as_str())
        .unwrap_or_else(|| panic!("no verdict for {kind}: {r:#}"))
}

fn replay(subject: &str, seed: &str) -> (i32, serde_json::Value) {
    run_json(&[
        "--subject",
        subject,
        "--scenarios",
        "identifier-replay",
        "--seed",
        seed,
        "--cases",
        "64",
    ])
}

/// One checkpoint store keyed by the id the caller hands it, with lists
/// scoped per user: no plain listing shows anything, but another user's
/// checkpoint id, presented to `get`/`remove`, reaches that user's
/// checkpoints. One finding, C2, class `id-replay/checkpoint-id`, with the
/// same fingerprint whatever the seed; the paths stay enforced.
#[test]
fn a_store_keyed_by_the_callers_id_is_bypassed() {
    let mut prints = Vec::new();
    for seed in ["1", "2", "3"] {
        let (code, r) = replay("fixture:caller-keyed-checkpoints", seed);
        assert_eq!(code, 1, "{r:#}");
        assert_eq!(verdict(&r, "checkpoint-id"), "bypassed", "{r:#}");
        for kind in ["evicted-path", "memory-path"] {
            assert_eq!(verdict(&r, kind), "enforced", "{kind}: {r:#}");
        }
        let findings = r["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{r:#}");
        let f = &findings[0];
        assert_eq!(f["checklist"], "C2", "{f:#}");
        assert_eq!(f["cause"], "id-replay/checkpoint-id", "{f:#}");
        let story = f["story"].as_array().unwrap();
        assert!(
            story
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .contains("presented the checkpoint-id"),
            "{f:#}"
        );
        prints.push(f["fingerprint"].as_str().unwrap().to_string());
    }
    prints.dedup();
    assert_eq!(
        prints.len(),
        1,
        "fingerprints differ across seeds: {prints:?}"
    );
}

/// Sequential thread ids, and any thread id presented is resumed: the
/// other user's history (C3) and checkpoints (C2) through `thread_id`.
#[test]
fn a_thread_id_from_the_request_without_an_owner_check_is_bypassed() {
    let (code, r) = replay("fixture:request-thread-history", "1");
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(verdict(&r, "thread_id"), "bypassed", "{r:#}");
    let causes: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["checklist"].to_string(), f["cause"].to_string()))
        .collect();
    for item in ["C2", "C3"] {
        assert!(
            causes.contains(&(format!("{item:?}"), "\"id-replay/thread_id\"".into())),
            "{item}: {causes:?}"
        );
    }
}

/// The same app refusing another user's thread id: every kind enforced,
/// no finding, a pass (the clean proof of the thread detector).
#[test]
fn an_owner_check_enforces_thread_ids() {
    let r = Harness::new(RequestThreads::checked())
        .name("request threads, owner checked")
        .cases(64)
        .seed(1)
        .scenarios(["identifier-replay"])
        .run();
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let s = &r.scenarios[0];
    assert_eq!(s.status, "pass", "{s:?}");
    let kinds: Vec<(&str, &str)> = s
        .identifiers
        .iter()
        .map(|k| (k.kind.as_str(), k.verdict.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("checkpoint-id", "enforced"),
            ("evicted-path", "enforced"),
            ("memory-path", "enforced"),
            ("thread_id", "enforced")
        ]
    );
    assert!(s.identifiers.iter().all(|k| k.judged > 0), "{s:?}");
    // Refusing the other user's thread id is no subject error.
    assert_eq!(r.summary.subject_errors, 0);
}

/// The reference subjects hand out checkpoint ids and paths and enforce
/// every one of them.
#[test]
fn reference_subjects_enforce_every_identifier() {
    for subject in ["state", "local"] {
        let (code, r) = replay(subject, "4");
        assert_eq!(code, 0, "{subject}: {r:#}");
        for kind in ["checkpoint-id", "plan-path", "evicted-path", "memory-path"] {
            assert_eq!(verdict(&r, kind), "enforced", "{subject} {kind}: {r:#}");
        }
    }
}

/// A store plain users already share gives no identifier a verdict of its
/// own, and says so.
#[test]
fn a_shared_store_is_no_identifier_verdict() {
    let (code, r) = replay("fixture:shared-state", "1");
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(verdict(&r, "checkpoint-id"), "shared-store", "{r:#}");
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["cause"] == "shared-store"));
}
