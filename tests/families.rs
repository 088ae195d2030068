//! The scenario families: every fixture is caught by its family on its
//! checklist item with a short trace, and the reference subjects stay
//! silent on every family.

mod common;

use common::*;
use serde_json::Value;

/// (fixture, family, item), as `fixtures/subjects/mod.rs` declares them.
fn fixtures() -> Vec<(String, String, String)> {
    isocheck::fixtures::FIXTURES
        .iter()
        .map(|(n, _, f, i)| (n.to_string(), f.to_string(), i.to_string()))
        .collect()
}

fn status<'a>(r: &'a Value, item: &str) -> &'a str {
    r["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == item)
        .map_or("", |c| c["status"].as_str().unwrap())
}

#[test]
fn every_fixture_is_caught_by_its_family() {
    assert_eq!(fixtures().len(), 16);
    let docker = isocheck::backends::docker::engine_problem();
    for (subject, family, item) in fixtures() {
        if isocheck::fixtures::needs_docker(&subject) {
            if let Some(why) = &docker {
                skip("docker", &format!("{subject}: {why}"));
                continue;
            }
        }
        // The default case budget; one round (stop at the first finding).
        let (code, r) = run_json(&[
            "--subject",
            &subject,
            "--scenarios",
            &family,
            "--seed",
            "3",
            "--rounds",
            "1",
        ]);
        assert_eq!(code, 1, "{subject}: {r:#}");
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["checklist"] == item.as_str() && f["scenario"] == family.as_str())
            .unwrap_or_else(|| panic!("{subject}: no {item} finding of {family}: {r:#}"));
        let trace = f["trace"].as_array().unwrap();
        assert!(
            trace.len() <= 6,
            "{subject}: trace of {} operations",
            trace.len()
        );
        // --cases is a family's whole budget (256 by default), whatever
        // it finds; hostile-user-ids adds its directed search (8 cases for
        // each of the 12 id classes).
        let cases = r["scenarios"][0]["cases"].as_u64().unwrap();
        let budget = if family == "hostile-user-ids" {
            256 + 12 * 8
        } else {
            256
        };
        assert!(
            cases <= budget,
            "{subject}: {cases} cases, more than {budget}"
        );
        if item.starts_with('C') {
            assert_eq!(status(&r, &item), "fail", "{subject}");
        }
    }
}

#[test]
fn reference_subjects_are_silent_on_every_family() {
    for subject in ["state", "local"] {
        let (code, r) = run_json(&["--subject", subject, "--cases", "256", "--seed", "5"]);
        assert_eq!(code, 0, "{subject}: {r:#}");
        let scenarios = r["scenarios"].as_array().unwrap();
        assert_eq!(scenarios.len(), 13);
        for s in scenarios {
            let name = s["name"].as_str().unwrap();
            if name == "execute-escape" || name == "sandbox-hardening" {
                assert_eq!(s["status"], "not-tested", "{subject} has no execute");
            } else {
                assert_eq!(s["status"], "pass", "{subject} {name}");
                // hostile-user-ids adds a directed search per id class.
                let cases = if name == "hostile-user-ids" {
                    256 + 12 * 8
                } else {
                    256
                };
                assert_eq!(s["cases"], cases, "{subject} {name}");
            }
        }
        for item in ["C1", "C2", "C3", "C4"] {
            assert_eq!(status(&r, item), "pass", "{subject} {item}");
        }
        assert_eq!(status(&r, "C5"), "not-tested");
        assert_eq!(r["summary"]["subject_errors"], 0, "{subject}");
        assert_eq!(r["summary"]["findings"], 0, "{subject}");
        assert!(
            r["summary"]["operations"].as_u64().unwrap() > 10_000,
            "{subject}"
        );
    }
}

#[test]
fn persistence_judges_against_the_expected_pattern() {
    // Declared patterns pass (above); the opposite expectation fails C4.
    for (subject, expect) in [("state", "persistent"), ("local", "ephemeral")] {
        let (code, r) = run_json(&[
            "--subject",
            subject,
            "--scenarios",
            "persistence",
            "--expect-persistence",
            expect,
            "--seed",
            "2",
            "--rounds",
            "1",
        ]);
        assert_eq!(code, 1, "{subject} expected {expect}");
        assert_eq!(status(&r, "C4"), "fail");
        let f = &r["findings"][0];
        assert!(
            f["evidence"]["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("expected: {expect}")),
            "{f:#}"
        );
    }
}

#[test]
fn eviction_growth_is_a_finding_only_past_the_limit() {
    let args = [
        "--subject",
        "local",
        "--scenarios",
        "eviction-accumulation",
        "--seed",
        "4",
        "--cases",
        "64",
    ];
    let (code, _) = run_json(&args);
    assert_eq!(code, 0);
    let mut limited = args.to_vec();
    limited.extend(["--max-evicted-files", "1"]);
    let (code, r) = run_json(&limited);
    assert_eq!(code, 1);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["checklist"] == "X3")
        .expect("an X3 finding");
    assert!(
        f["evidence"]["detail"]
            .as_str()
            .unwrap()
            .contains("per session"),
        "{f:#}"
    );
}

#[test]
fn plan_threshold_is_configurable() {
    // 6-hex-digit ids are fine against a threshold of 1,000 plans per slug.
    let (code, _) = run_json(&[
        "--subject",
        "fixture:short-plan-ids",
        "--scenarios",
        "plan-uniqueness",
        "--seed",
        "1",
        "--cases",
        "32",
        "--plan-collision-threshold",
        "1000",
    ]);
    assert_eq!(code, 0);
}

#[test]
fn explain_and_list_cover_the_thirteen_families() {
    let o = isocheck(&["list"]);
    let text = stdout(&o);
    for f in [
        "cross-read",
        "concurrent-writes",
        "memory-collision",
        "plan-uniqueness",
        "eviction-accumulation",
        "context-files",
        "checkpoints",
        "history",
        "hostile-user-ids",
        "persistence",
        "execute-escape",
        "sandbox-hardening",
        "identifier-replay",
    ] {
        assert!(text.contains(f), "list misses {f}");
        let o = isocheck(&["explain", f]);
        assert_eq!(o.status.code(), Some(0));
        let doc = stdout(&o);
        assert!(doc.starts_with(f), "{doc}");
        assert!(
            doc.contains("What it checks") && doc.contains("Why it matters") && doc.contains("Fix"),
            "{f}"
        );
    }
    let doc = stdout(&isocheck(&["explain", "memory-collision"]));
    assert!(doc.contains("`a/b`") && doc.contains("checklist C1"));
}

#[test]
fn suites_select_profiles() {
    let (code, r) = run_json(&[
        "--subject",
        "state",
        "--suite",
        "deepagents",
        "--scenarios",
        "memory-collision",
        "--cases",
        "16",
        "--seed",
        "1",
    ]);
    assert_eq!(code, 0, "{r:#}");
    let o = isocheck(&["run", "--subject", "state", "--suite", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("accepted: pydantic-deep, ")
            && err.contains("deepagents")
            && err.contains("pydantic-deep-workspace"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = 1").unwrap();
    let o = isocheck(&[
        "run",
        "--subject",
        "state",
        "--suite",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
}
