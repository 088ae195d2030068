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

/// Writes the shared-state fixture's baseline into `dir`; its path.
fn shared_state_baseline(dir: &Path) -> String {
    let baseline = path(dir, "baseline.json");
    let o = run_in(&[SHARED.as_slice(), &["--write-baseline", &baseline]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    baseline
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// Every format of one run, by `--output FORMAT=PATH`: (json, markdown,
/// junit, sarif, html) and the exit code.
fn all_formats(dir: &Path, args: &[&str]) -> (i32, [String; 5]) {
    let names = ["r.json", "r.md", "r.xml", "r.sarif", "r.html"];
    let specs: Vec<String> = ["json", "markdown", "junit", "sarif", "html"]
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
    let html = run_in(&[SHARED.as_slice(), &["--format", "html"]].concat());
    insta::assert_snapshot!("shared_state_html", stdout(&html));
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
    let baseline = shared_state_baseline(dir.path());
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
    let (code, [json, _, xml, _, _]) = all_formats(dir.path(), &SHARED);
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

    let (code, [_, _, xml, _, _]) = all_formats(
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
    let baseline = shared_state_baseline(dir.path());
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

/// docs/report.schema.json, compiled.
fn report_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let text = read(&root().join("docs/report.schema.json"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("report.schema.json", schema).unwrap();
    let index = compiler
        .compile("report.schema.json", &mut schemas)
        .unwrap();
    (schemas, index)
}

#[test]
fn the_report_schema_is_up_to_date() {
    // Regenerate: UPDATE_SCHEMA=1 cargo test --test ci_outputs schema
    let path = root().join("docs/report.schema.json");
    let want = isocheck::report::Report::json_schema();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == want,
        "{} is stale: run UPDATE_SCHEMA=1 cargo test --test ci_outputs schema",
        path.display()
    );
}

/// Every optional part of the report shows up in one of these runs: the
/// schema is checked against reports that hold it, not just against the
/// fields every report has.
#[test]
fn real_reports_validate_against_the_report_schema() {
    let (schemas, index) = report_schema();
    let dir = tempfile::tempdir().unwrap();
    let baseline = shared_state_baseline(dir.path());
    let mut runs: Vec<Vec<String>> = vec![
        // findings with supporting evidence, baselined
        vec![
            "--subject",
            "fixture:shared-state",
            "--baseline",
            &baseline,
            "--cases",
            "8",
        ],
        // id classes and refusals
        vec!["--subject", "fixture:raw-user-root", "--cases", "8"],
        vec!["--subject", "state", "--partition", "1/2", "--cases", "8"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    if let Some(py) = system_python() {
        // a framework in the header; a subject failure; an incomplete run
        for mode in ["declare", "crash 30"] {
            runs.push(vec![
                "--adapter".into(),
                format!("{py} fixtures/adapters/fake.py {mode}"),
                "--cases".into(),
                "8".into(),
            ]);
        }
        runs.push(vec![
            "--adapter".into(),
            format!("{py} fixtures/adapters/fake.py ok"),
            "--cases".into(),
            "1000000".into(),
            "--timeout".into(),
            "1s".into(),
        ]);
    }
    let mut seen = std::collections::BTreeSet::new();
    for extra in &runs {
        let mut args: Vec<&str> = vec!["--seed", "7", "--format", "json"];
        args.extend(extra.iter().map(String::as_str));
        let o = isocheck_in_root(&[&["run"], args.as_slice()].concat());
        let report: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{extra:?}: {e}: {}", stderr(&o)));
        if let Err(e) = schemas.validate(&report, index) {
            panic!("{extra:?}: the report does not validate: {e:#}");
        }
        collect_keys(&report, &mut seen);
    }
    let mut want = vec![
        "supporting",
        "baselined",
        "id_classes",
        "refusals",
        "partition",
    ];
    if system_python().is_some() {
        want.extend(["framework", "subject_failure", "incomplete"]);
    }
    for key in want {
        assert!(seen.contains(key), "no report held `{key}`: {seen:?}");
    }
    // The schema can fail: an unknown field, a status it does not know.
    let o = run_in(&[
        "--subject",
        "state",
        "--seed",
        "7",
        "--cases",
        "8",
        "--format",
        "json",
    ]);
    let good: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut bad = good.clone();
    bad["surprise"] = 1.into();
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = good.clone();
    bad["scenarios"][0]["status"] = "passed".into();
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = good;
    bad["schema"] = "isocheck.report/v2".into();
    assert!(schemas.validate(&bad, index).is_err());
}

fn collect_keys(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let empty = x.as_array().is_some_and(|a| a.is_empty()) || x.is_null();
                if !empty {
                    out.insert(k.clone());
                }
                collect_keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_keys(x, out)),
        _ => {}
    }
}

/// The README's list of the report's fields (between
/// `<!-- report-fields -->` markers) names exactly the schema's
/// properties, object by object.
#[test]
fn the_readme_describes_the_report_field_for_field() {
    let readme = read(&root().join("README.md"));
    let section = readme
        .split("<!-- report-fields -->")
        .nth(1)
        .and_then(|s| s.split("<!-- /report-fields -->").next())
        .expect("README.md has a <!-- report-fields --> section");
    let schema: Value = serde_json::from_str(&isocheck::report::Report::json_schema()).unwrap();
    let mut objects = std::collections::BTreeMap::new();
    let props = |s: &Value| -> Vec<String> {
        let mut v: Vec<String> = s["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    objects.insert("Report".to_string(), props(&schema));
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if def.get("properties").is_some() {
            objects.insert(name.clone(), props(def));
        }
    }
    let mut described = std::collections::BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let object = cells[1].trim_matches('`').to_string();
        // Field names are the backticked words outside parentheses.
        let mut depth = 0;
        let mut outside = String::new();
        for c in cells[2].chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        let mut fields: Vec<String> = outside
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect();
        fields.sort();
        described.insert(object, fields);
    }
    assert_eq!(
        described, objects,
        "README.md's report fields and docs/report.schema.json differ"
    );
}

/// `xmllint` and `chromium` come from `scripts/report-tools.sh`; without
/// them the tests that need them are skipped, loudly.
fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    });
    if found.is_none() {
        skip(
            "report-tools",
            &format!("{name} is not installed (bash scripts/report-tools.sh)"),
        );
    }
    found
}

/// JUnit from a failing, a passing and a crashing subject validates
/// against the JUnit XSD of Jenkins' xunit plugin (tests/data), and a
/// broken file does not (the check can fail).
#[test]
fn junit_validates_against_the_junit_xsd() {
    let Some(xmllint) = tool("xmllint") else {
        return;
    };
    let xsd = root().join("tests/data/junit-10.xsd");
    let dir = tempfile::tempdir().unwrap();
    let validate = |file: &Path| {
        std::process::Command::new(&xmllint)
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(file)
            .output()
            .unwrap()
    };
    let mut runs: Vec<Vec<String>> = vec![
        SHARED.iter().map(|s| s.to_string()).collect(),
        [
            "--subject",
            "fixture:raw-user-root",
            "--seed",
            "7",
            "--cases",
            "8",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ["--subject", "state", "--seed", "7", "--cases", "8"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    ];
    if let Some(py) = system_python() {
        runs.push(vec![
            "--adapter".into(),
            format!("{py} fixtures/adapters/fake.py crash 30"),
            "--seed".into(),
            "7".into(),
            "--cases".into(),
            "8".into(),
        ]);
    }
    for (i, args) in runs.iter().enumerate() {
        let file = dir.path().join(format!("r{i}.xml"));
        let spec = format!("junit={}", file.display());
        let mut all: Vec<&str> = vec!["run", "--output", &spec];
        all.extend(args.iter().map(String::as_str));
        let o = isocheck_in_root(&all);
        assert!(file.exists(), "{args:?}: {}", stderr(&o));
        let v = validate(&file);
        assert!(
            v.status.success(),
            "{args:?}: JUnit does not validate:\n{}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
    // A testcase without its required name is refused.
    let good = read(&dir.path().join("r0.xml"));
    let bad = good.replacen("<testcase name=", "<testcase title=", 1);
    assert_ne!(good, bad);
    let file = dir.path().join("bad.xml");
    std::fs::write(&file, bad).unwrap();
    assert!(!validate(&file).status.success());
}

/// The HTML report, opened in headless Chromium: the page's script
/// records what the browser laid out (the leak matrix's size, how many of
/// its cells hold findings, the colour of the worst one); a screenshot is
/// kept in target/test-artifacts/ for people.
#[test]
fn the_html_report_renders_its_leak_matrix_in_headless_chromium() {
    let Some(chromium) = tool("chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (subject, leaky) in [("fixture:shared-state", true), ("state", false)] {
        let page = dir.path().join("report.html");
        let spec = format!("html={}", page.display());
        let o = run_in(&[
            "--subject",
            subject,
            "--seed",
            "7",
            "--cases",
            "8",
            "--output",
            &spec,
        ]);
        assert_eq!(o.status.code(), Some(if leaky { 1 } else { 0 }));
        let url = format!("file://{}", page.display());
        let headless = |extra: &[String]| {
            // Its own profile, in the temp dir: nothing is left in $HOME.
            let profile = format!("--user-data-dir={}", dir.path().join("profile").display());
            let out = std::process::Command::new(&chromium)
                .env("TMPDIR", dir.path())
                .env("HOME", dir.path())
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--window-size=1280,1600",
                    &profile,
                ])
                .args(extra)
                .arg(&url)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "chromium failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let dom = headless(&["--dump-dom".into()]);
        let rendered = dom
            .split("data-matrix=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("the page's script did not run: {dom}"));
        if !leaky {
            assert_eq!(rendered, "absent");
            assert!(dom.contains("No user saw"), "{dom}");
            continue;
        }
        let field = |k: &str| -> String {
            rendered
                .split(' ')
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k} in {rendered}"))
                .to_string()
        };
        let (w, h, cells): (u32, u32, u32) = (
            field("width").parse().unwrap(),
            field("height").parse().unwrap(),
            field("cells").parse().unwrap(),
        );
        assert!(w > 100 && h > 40, "the matrix has no size: {rendered}");
        assert!(cells >= 1, "no cell shows a leak: {rendered}");
        // shared-state's worst finding is critical: #a40e26.
        assert!(
            rendered.contains("worst=rgb(164, 14, 38)"),
            "the worst cell is not coloured critical: {rendered}"
        );
        let shot = artifacts.join("html-report-shared-state.png");
        let _ = std::fs::remove_file(&shot);
        headless(&[format!("--screenshot={}", shot.display())]);
        let png = std::fs::read(&shot).expect("a screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{} bytes",
            png.len()
        );
    }
}
