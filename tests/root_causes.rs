//! Findings are root causes: one per (checklist item, cause class, store)
//! across every family, ranked, with fingerprints that do not depend on
//! the seed, a story, and where the other user's data appeared. Each
//! hostile id class that aliases another user is its own finding, and the
//! search goes on until every class was tried.

mod common;
use common::*;
use serde_json::Value;

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

fn classes_with(v: &Value, scenario: &str, verdict: &str) -> Vec<String> {
    scenario_in(v, scenario)["id_classes"]
        .as_array()
        .unwrap_or_else(|| panic!("{scenario} has id_classes: {v:#}"))
        .iter()
        .filter(|c| c["verdict"] == verdict)
        .map(|c| c["class"].as_str().unwrap().to_string())
        .collect()
}

/// One shared backend: one finding per shared store (files, memory,
/// evicted results), each a content leak carrying its existence leak as
/// support, seen by every family that hit it; critical ranks first; and
/// the fingerprints are the same whatever the seed.
#[test]
fn a_shared_store_is_one_finding_per_store_with_stable_fingerprints() {
    let mut prints: Option<Vec<(String, String)>> = None;
    for seed in ["1", "2", "3"] {
        let (code, v) = run_json(&["--subject", "fixture:shared-state", "--seed", seed]);
        assert_eq!(code, 1, "{v:#}");
        let fs = findings(&v);
        let mut stores: Vec<&str> = fs.iter().map(|f| f["store"].as_str().unwrap()).collect();
        stores.sort();
        assert_eq!(stores, ["evicted", "files", "memory"], "seed {seed}: {v:#}");
        for f in fs {
            assert_eq!(f["cause"], "shared-store", "{f:#}");
            assert_eq!(f["kind"], "content-leak", "{f:#}");
            let support: Vec<&str> = f["supporting"]
                .as_array()
                .unwrap_or_else(|| panic!("supporting evidence: {f:#}"))
                .iter()
                .map(|e| e["kind"].as_str().unwrap())
                .collect();
            assert!(support.contains(&"existence-leak"), "{f:#}");
            assert_eq!(f["story"].as_array().unwrap().len(), 3, "{f:#}");
            assert!(!f["witnesses"].as_array().unwrap().is_empty());
            assert_eq!(f["fingerprint"].as_str().unwrap().len(), 16);
        }
        // Ranked by severity then item; ids are the rank.
        let sev = |f: &Value| match f["severity"].as_str().unwrap() {
            "critical" => 3,
            "high" => 2,
            "medium" => 1,
            _ => 0,
        };
        for (i, w) in fs.windows(2).enumerate() {
            assert!(sev(&w[0]) >= sev(&w[1]), "rank {i}: {v:#}");
        }
        assert_eq!(fs[0]["id"], "F1");
        let mut p: Vec<(String, String)> = fs
            .iter()
            .map(|f| {
                (
                    f["store"].as_str().unwrap().to_string(),
                    f["fingerprint"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        p.sort();
        match &prints {
            None => prints = Some(p),
            Some(first) => assert_eq!(first, &p, "fingerprints differ at seed {seed}"),
        }
    }
}

/// A raw id in the path: each id class that reaches another user's
/// directory is its own finding (at least `.`, `..`, the empty id, nesting
/// and `bob/..`), and every class has a verdict.
#[test]
fn each_aliasing_id_class_is_its_own_finding() {
    let (code, v) = run_json(&[
        "--subject",
        "fixture:raw-user-root",
        "--seed",
        "1",
        "--scenarios",
        "hostile-user-ids",
        "--cases",
        "16",
    ]);
    assert_eq!(code, 1, "{v:#}");
    let causes: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    for c in [
        "id-alias/dot",
        "id-alias/dot-dot",
        "id-alias/empty",
        "id-alias/nesting",
        "id-alias/trailing-parent",
    ] {
        assert!(causes.contains(&c), "{c} in {causes:?}");
    }
    let aliased = classes_with(&v, "hostile-user-ids", "aliased");
    assert!(aliased.len() >= 5, "{aliased:?}");
    let all = scenario_in(&v, "hostile-user-ids")["id_classes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(all, 12, "every class has a verdict");
    assert!(classes_with(&v, "hostile-user-ids", "not-tried").is_empty());
}

/// A clean subject: every class tried, none aliased.
#[test]
fn the_reference_subject_isolates_every_id_class() {
    let (code, v) = run_json(&[
        "--subject",
        "state",
        "--seed",
        "1",
        "--scenarios",
        "hostile-user-ids",
        "--cases",
        "4",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(classes_with(&v, "hostile-user-ids", "aliased").is_empty());
    assert!(classes_with(&v, "hostile-user-ids", "not-tried").is_empty());
    assert!(!classes_with(&v, "hostile-user-ids", "isolated").is_empty());
}

/// Pattern B after the usual first fix (refuse `''` and a leading dot), on
/// the real LocalBackend and FileCheckpointStore: the refused classes are
/// refused, and nesting (`bob/alice`), `alice/../bob` and `bob/..` still
/// alias: three findings, one per class, in one run.
#[test]
fn validating_empty_and_dot_ids_still_leaves_nesting_open() {
    let Some(py) = venv_python() else { return };
    let cmd =
        format!("{py} -m isocheck_adapter --factory fixtures/apps/validated_root.py:open_user");
    let o = isocheck_in_root(&[
        "run",
        "--adapter",
        &cmd,
        "--format",
        "json",
        "--seed",
        "1",
        "--scenarios",
        "hostile-user-ids",
        "--cases",
        "4",
        "--users",
        "3",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(&o)));
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    let aliased = classes_with(&v, "hostile-user-ids", "aliased");
    for c in ["nesting", "embedded-traversal", "trailing-parent"] {
        assert!(
            aliased.contains(&c.to_string()),
            "{c} in {aliased:?}: {v:#}"
        );
    }
    let refused = classes_with(&v, "hostile-user-ids", "refused");
    for c in ["empty", "dot", "dot-dot", "leading-parent"] {
        assert!(refused.contains(&c.to_string()), "{c} in {refused:?}");
    }
    let causes: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    assert!(!causes
        .iter()
        .any(|c| *c == "id-alias/dot" || *c == "id-alias/empty"));
}

/// Where plain ids already share a store, an alias pair seen on it is that
/// shared store, whichever of them the search met first: memory-collision
/// on one shared backend reports the shared memory (and the evicted
/// results or files it looked at) as shared stores and never an id alias,
/// and its memory observations do not end up witnessing the files finding.
/// (An alias on a store plain ids do not share stays its own finding:
/// `each_aliasing_id_class_is_its_own_finding`.)
#[test]
fn an_alias_pair_on_a_store_plain_ids_share_is_that_shared_store() {
    for seed in ["1", "2", "3", "7"] {
        let (code, v) = run_json(&[
            "--subject",
            "fixture:shared-state",
            "--seed",
            seed,
            "--scenarios",
            "memory-collision",
        ]);
        assert_eq!(code, 1, "{v:#}");
        let fs = findings(&v);
        assert!(
            fs.iter().any(|f| f["store"] == "memory"),
            "seed {seed}: {v:#}"
        );
        for f in fs {
            assert_eq!(f["cause"], "shared-store", "seed {seed}: {f:#}");
        }
    }
}
