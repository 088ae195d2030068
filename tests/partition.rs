//! `run --partition I/N` and `isocheck merge`: the parts of a run, merged,
//! report the same findings and checklist as the whole run; parts that do
//! not make one run are refused with one line and exit 2.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn part(dir: &Path, subject: &str, seed: &str, p: &str) -> String {
    let (code, r) = run_json(&[
        "--subject",
        subject,
        "--seed",
        seed,
        "--cases",
        "64",
        "--partition",
        p,
    ]);
    assert!(code == 0 || code == 1, "{r:#}");
    assert_eq!(r["partition"], p);
    let path = dir.join(format!("part-{}.json", p.replace('/', "-")));
    std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn fingerprints(r: &Value) -> Vec<String> {
    let mut v: Vec<String> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn statuses(r: &Value) -> Vec<String> {
    r["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].to_string())
        .collect()
}

#[test]
fn merged_parts_report_what_the_whole_run_reports() {
    let tmp = tempfile::tempdir().unwrap();
    for (subject, parts) in [
        ("fixture:shared-state", 2),
        ("fixture:shared-checkpoints", 2),
        ("state", 3),
    ] {
        let files: Vec<String> = (1..=parts)
            .map(|i| part(tmp.path(), subject, "3", &format!("{i}/{parts}")))
            .collect();
        let (code, whole) = run_json(&["--subject", subject, "--seed", "3", "--cases", "64"]);
        let mut args = vec!["merge", "--format", "json"];
        args.extend(files.iter().map(String::as_str));
        let o = isocheck(&args);
        assert_eq!(o.status.code(), Some(code), "{subject}: {}", stderr(&o));
        let merged: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(fingerprints(&merged), fingerprints(&whole), "{subject}");
        assert_eq!(statuses(&merged), statuses(&whole), "{subject}");
        assert!(merged["partition"].is_null());
        assert_eq!(merged["replay"], whole["replay"], "{subject}");
        // Every part evaluated its own share of the cases.
        let sum: u64 = files
            .iter()
            .map(|f| {
                let v: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
                v["summary"]["cases"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(merged["summary"]["cases"].as_u64().unwrap(), sum);
    }
}

#[test]
fn parts_of_different_runs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a1 = part(tmp.path(), "state", "1", "1/2");
    let a2 = part(tmp.path(), "state", "1", "2/2");
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let b2 = part(&other, "state", "2", "2/2");
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    let junk = junk.to_string_lossy().into_owned();
    for (args, says) in [
        (vec![a1.as_str()], "partitions missing: 2/2"),
        (vec![a1.as_str(), a1.as_str()], "partitions missing: 2/2"),
        (vec![a1.as_str(), b2.as_str()], "not parts of one run"),
        (
            vec![a1.as_str(), junk.as_str()],
            "is not an isocheck JSON report",
        ),
        (vec![a1.as_str(), "/nonexistent/part.json"], "cannot read"),
    ] {
        let mut all = vec!["merge"];
        all.extend(args.iter().copied());
        let o = isocheck(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = isocheck(&["merge", &a1, &a2]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for bad in ["0/2", "3/2", "x", "1/0"] {
        let word = format!("--partition={bad}");
        let o = isocheck(&["run", "--subject", "state", &word]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }
}
