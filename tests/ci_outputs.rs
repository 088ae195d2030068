//! `isocheck run` in CI: markdown, JUnit and SARIF reports, several at once
//! with `--output FORMAT=PATH`, baselines, and output paths checked before
//! the run. Built-in subjects only.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const SHARED: [&str; 6] = [
    "--subject",
    "fixture:shared-state",
    "--seed",
    "7",
    "--cases",
    "8",
];

fn run_in(args: &[&str]) -> std::process::Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    isocheck(&all)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// Every format of one run, by `--output FORMAT=PATH`: (json, markdown,
/// junit, sarif) and the exit code.
fn all_formats(dir: &Path, args: &[&str]) -> (i32, [String; 4]) {
    let names = ["r.json", "r.md", "r.xml", "r.sarif"];
    let specs: Vec<String> = ["json", "markdown", "junit", "sarif"]
        .iter()
        .zip(names)
        .map(|(f, n)| format!("{f}={}", path(dir, n)))
        .collect();
    let mut all: Vec<&str> = args.to_vec();
    for s in &specs {
        all.extend(["--output", s]);
    }
    let o = run_in(&all);
    assert!(
        !stdout(&o).is_empty(),
        "the text report still goes to stdout"
    );
    let code = o.status.code().unwrap();
    (code, names.map(|n| read(&dir.join(n))))
}

#[test]
fn markdown_junit_and_sarif_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (xml, sarif) = (path(dir.path(), "r.xml"), path(dir.path(), "r.sarif"));
    let junit_spec = format!("junit={xml}");
    let sarif_spec = format!("sarif={sarif}");
    let mut args = SHARED.to_vec();
    args.extend([
        "--format",
        "markdown",
        "--output",
        &junit_spec,
        "--output",
        &sarif_spec,
    ]);
    let o = run_in(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The reports hold no temp paths; stderr names them, so it is not kept.
    let md = stdout(&o);
    assert!(md.starts_with("## isocheck run: subject fixture:shared-state, seed 7"));
    insta::assert_snapshot!("shared_state_markdown", md);
    insta::assert_snapshot!("shared_state_junit", read(Path::new(&xml)));
    insta::assert_snapshot!("shared_state_sarif", read(Path::new(&sarif)));
    let err = stderr(&o);
    assert!(err.contains("reports written to"), "{err}");
}

#[test]
fn the_same_seed_gives_byte_identical_reports_in_every_format() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = [
        "--subject",
        "fixture:raw-user-root",
        "--seed",
        "3",
        "--cases",
        "8",
        "--scenarios",
        "cross-read,checkpoints",
    ];
    let (ca, ra) = all_formats(a.path(), &args);
    let (cb, rb) = all_formats(b.path(), &args);
    assert_eq!((ca, cb), (1, 1));
    for (i, (x, y)) in ra.iter().zip(&rb).enumerate() {
        assert!(x.len() > 100, "report {i} is empty: {x}");
        assert_eq!(x, y, "report {i} differs between two runs of one seed");
    }
}

#[test]
fn sarif_validates_against_the_official_schema_and_carries_the_findings() {
    let (schemas, index) = sarif_schema();
    let dir = tempfile::tempdir().unwrap();
    let baseline = path(dir.path(), "baseline.json");
    let o = run_in(&[SHARED.as_slice(), &["--write-baseline", &baseline]].concat());
    assert_eq!(o.status.code(), Some(1));
    for (subject, extra) in [
        ("fixture:shared-state", vec![]),
        ("state", vec![]),
        (
            "fixture:raw-user-root",
            vec![
                "--baseline",
                baseline.as_str(),
                "--sarif-artifact",
                "app/deps.py",
            ],
        ),
    ] {
        let sarif = path(dir.path(), "r.sarif");
        let spec = format!("sarif={sarif}");
        let mut args = vec![
            "--subject",
            subject,
            "--seed",
            "7",
            "--cases",
            "8",
            "--format",
            "json",
            "--output",
            &spec,
        ];
        args.extend(extra.iter());
        let o = run_in(&args);
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        let log: Value = serde_json::from_str(&read(Path::new(&sarif))).unwrap();
        if let Err(e) = schemas.validate(&log, index) {
            panic!("{subject}: SARIF does not validate: {e:#}");
        }
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), report["scenarios"].as_array().unwrap().len());
        assert!(rules.iter().all(|r| r["help"]["text"]
            .as_str()
            .unwrap()
            .contains("Why it matters")));
        let results = run["results"].as_array().unwrap();
        let findings = report["findings"].as_array().unwrap();
        assert_eq!(results.len(), findings.len(), "{subject}");
        for (r, f) in results.iter().zip(findings) {
            assert_eq!(r["partialFingerprints"]["isocheck/v1"], f["fingerprint"]);
            assert_eq!(r["ruleId"], f["scenario"]);
            let level = if f["severity"] == "critical" || f["severity"] == "high" {
                "error"
            } else {
                "warning"
            };
            assert_eq!(r["level"], level);
            let artifact = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            if extra.is_empty() {
                assert!(r.get("baselineState").is_none());
                assert!(artifact.is_null());
            } else {
                // raw-user-root's findings are not those of shared-state.
                assert_eq!(r["baselineState"], "new");
                assert_eq!(artifact, "app/deps.py");
            }
        }
        if subject == "state" {
            assert!(results.is_empty());
        } else {
            assert!(!results.is_empty(), "{subject}");
        }
    }
}

/// (suite name, tests, failures, skipped) of a JUnit report, parsed.
fn junit_counts(xml: &str) -> Vec<(String, usize, usize, usize)> {
    let report = quick_junit::Report::deserialize_from_str(xml)
        .unwrap_or_else(|e| panic!("not JUnit XML ({e}): {xml}"));
    report
        .test_suites
        .iter()
        .map(|s| {
            let mut failures = 0;
            let mut skipped = 0;
            for c in &s.test_cases {
                match &c.status {
                    quick_junit::TestCaseStatus::NonSuccess { .. } => failures += 1,
                    quick_junit::TestCaseStatus::Skipped { .. } => skipped += 1,
                    quick_junit::TestCaseStatus::Success { .. } => {}
                }
            }
            assert_eq!((s.failures + s.errors, s.skipped), (failures, skipped));
            (s.name.as_str().to_string(), s.tests, failures, skipped)
        })
        .collect()
}

#[test]
fn junit_has_a_suite_per_family_and_the_expected_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (code, [json, _, xml, _]) = all_formats(dir.path(), &SHARED);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&json).unwrap();
    let counts = junit_counts(&xml);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(counts.len(), scenarios.len());
    let findings = report["findings"].as_array().unwrap();
    for ((name, tests, failures, skipped), s) in counts.iter().zip(scenarios) {
        assert_eq!(s["name"], name.as_str());
        // A failure per checklist item on which this family saw a finding.
        let mut items: Vec<&str> = findings
            .iter()
            .filter(|f| f["witnesses"].as_array().unwrap().contains(&s["name"]))
            .map(|f| f["checklist"].as_str().unwrap())
            .collect();
        items.sort_unstable();
        items.dedup();
        assert_eq!(*failures, items.len(), "{name}");
        match s["status"].as_str().unwrap() {
            "not-tested" => assert_eq!((*skipped, *failures), (*tests, 0), "{name}"),
            "pass" => assert_eq!((*skipped, *failures), (0, 0), "{name}"),
            _ => assert_eq!(
                *failures + *skipped,
                *tests,
                "{name}: a failing family passes nothing"
            ),
        }
    }
    // shared-state: cross-read and hostile-user-ids fail on C1; C4 and C5
    // are not tested (no persistence pattern, no execute).
    let of = |n: &str| counts.iter().find(|c| c.0 == n).unwrap().clone();
    assert_eq!(of("cross-read").2, 1);
    assert_eq!(of("hostile-user-ids"), ("hostile-user-ids".into(), 3, 1, 2));
    assert_eq!(of("execute-escape"), ("execute-escape".into(), 1, 0, 1));
    assert!(xml.contains("<failure message=\"F1 [critical] C1 shared-store: "));
    assert!(xml.contains("replay:   isocheck run --subject fixture:shared-state --seed 7"));
    assert!(!xml.contains("time="), "no timings");

    let (code, [_, _, xml, _]) = all_formats(
        dir.path(),
        &["--subject", "state", "--seed", "7", "--cases", "8"],
    );
    assert_eq!(code, 0);
    let counts = junit_counts(&xml);
    assert!(counts.iter().all(|c| c.2 == 0), "{counts:?}");
    assert_eq!(
        counts.iter().find(|c| c.0 == "execute-escape").map(|c| c.3),
        Some(1)
    );
}

#[test]
fn a_baseline_accepts_known_findings_and_not_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = path(dir.path(), "baseline.json");
    let o = run_in(&[SHARED.as_slice(), &["--write-baseline", &baseline]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let b: Value = serde_json::from_str(&read(Path::new(&baseline))).unwrap();
    assert_eq!(b["version"], 1);
    let entries = b["findings"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        assert_eq!(e["fingerprint"].as_str().unwrap().len(), 16);
        assert!(e["item"].is_string() && e["severity"].is_string() && e["title"].is_string());
    }

    let (code, r) = run_json(&[SHARED.as_slice(), &["--baseline", &baseline]].concat());
    assert_eq!(code, 0, "every finding is in the baseline");
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        entries.len(),
        "baselined findings stay in the report"
    );
    assert!(findings.iter().all(|f| f["baselined"] == true));
    assert_eq!(r["summary"]["baselined"], entries.len());

    // Another fixture's finding is new: the run still fails.
    let (code, r) = run_json(&[
        "--subject",
        "fixture:raw-user-root",
        "--seed",
        "7",
        "--cases",
        "8",
        "--scenarios",
        "cross-read",
        "--baseline",
        &baseline,
    ]);
    assert_eq!(code, 1);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.get("baselined").is_none()));
}

fn fails_fast_with_one_line(args: &[&str], mentions: &str) {
    let start = Instant::now();
    let o = run_in(args);
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(mentions), "{args:?}: {err}");
    assert!(stdout(&o).is_empty(), "{args:?}: the run did not start");
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
}

#[test]
fn bad_outputs_and_baselines_stop_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let missing = path(dir.path(), "no-such-dir/r.sarif");
    // A default-sized run would take minutes: these end at once.
    let base = ["--subject", "state", "--cases", "100000"];
    fails_fast_with_one_line(
        &[base.as_slice(), &["--output", &format!("sarif={missing}")]].concat(),
        "cannot write the report to",
    );
    fails_fast_with_one_line(
        &[base.as_slice(), &["--output", &missing]].concat(),
        "does not exist",
    );
    let dir_path = dir.path().to_str().unwrap();
    fails_fast_with_one_line(
        &[base.as_slice(), &["--write-baseline", dir_path]].concat(),
        "cannot write the baseline",
    );
    let twice = path(dir.path(), "r.json");
    fails_fast_with_one_line(
        &[
            base.as_slice(),
            &[
                "--output",
                &format!("json={twice}"),
                "--output",
                &format!("sarif={twice}"),
            ],
        ]
        .concat(),
        "named twice",
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"version\": 1, \"findings\": [{\"fingerprint\": 7}]}",
    )
    .unwrap();
    fails_fast_with_one_line(
        &[base.as_slice(), &["--baseline", bad.to_str().unwrap()]].concat(),
        "is not valid",
    );
    fails_fast_with_one_line(
        &[
            base.as_slice(),
            &["--baseline", &path(dir.path(), "none.json")],
        ]
        .concat(),
        "cannot read the baseline",
    );
    // Nothing was left behind by the checks.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only bad.json: {left:?}");
}
