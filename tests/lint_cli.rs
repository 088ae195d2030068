//! The `isocheck lint` binary: exit codes, --select/--ignore, bad input, output formats.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::sarif_schema;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .arg("lint")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run isocheck")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn exit_codes() {
    assert_eq!(code(&lint(&["fixtures/lint/iso101_good.py"])), 0);
    assert_eq!(code(&lint(&["fixtures/lint/iso101_bad.py"])), 1);
    // Info-only findings do not fail the run.
    let o = lint(&["fixtures/lint/iso108_bad.py"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("ISO108 [info]"));
}

#[test]
fn nonexistent_path_is_a_usage_error() {
    let o = lint(&["fixtures/lint/does-not-exist.py"]);
    assert_eq!(code(&o), 2);
    assert_eq!(
        stderr(&o).trim(),
        "error: path not found: fixtures/lint/does-not-exist.py"
    );
}

#[test]
fn unknown_rule_is_a_usage_error() {
    let o = lint(&["--select", "ISO106,ISO999", "fixtures/lint"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown rule 'ISO999' in --select"), "{err}");
    assert!(err.contains("ISO000, ISO101, ISO102"), "{err}");
    assert_eq!(code(&lint(&["--ignore", "nope", "fixtures/lint"])), 2);
    assert_eq!(code(&lint(&["--format", "xml", "fixtures/lint"])), 2);
}

#[test]
fn select_and_ignore() {
    let o = lint(&[
        "--format",
        "json",
        "--select",
        "ISO106",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    assert_eq!(rules_of(&json(&o)), vec!["ISO106"]);
    assert_eq!(code(&o), 1);
    let o = lint(&[
        "--format",
        "json",
        "--select",
        "user-id-in-path,iso104",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    assert_eq!(rules_of(&json(&o)), vec!["ISO106", "ISO104"]);
    let o = lint(&[
        "--format",
        "json",
        "--ignore",
        "ISO106,unsandboxed-execute",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    assert_eq!(rules_of(&json(&o)), vec!["ISO104"]);
    let o = lint(&[
        "--select",
        "ISO109",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("All checks passed!"));
}

#[test]
fn suppression_comments() {
    let o = lint(&["--format", "json", "fixtures/lint/suppression.py"]);
    let v = json(&o);
    let lines: Vec<u64> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rules_of(&v), vec!["ISO106"]);
    assert_eq!(lines, vec![14]);
}

#[test]
fn parse_error_is_reported_and_the_run_continues() {
    let o = lint(&[
        "--format",
        "json",
        "fixtures/lint/iso000_bad.py",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    // Sorted by path: guide/ before iso000_bad.py.
    assert_eq!(rules_of(&v), vec!["ISO107", "ISO106", "ISO104", "ISO000"]);
    assert_eq!(v["diagnostics"][3]["path"], "fixtures/lint/iso000_bad.py");
    assert_eq!(v["diagnostics"][3]["line"], 8);
}

#[test]
fn json_shape_and_order() {
    let o = lint(&["--format", "json", "fixtures/lint"]);
    let v = json(&o);
    assert_eq!(v["schema"], "isocheck.lint/v1");
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(diags.len() > 30);
    let keys: Vec<(String, u64, u64, String)> = diags
        .iter()
        .map(|d| {
            for k in [
                "rule",
                "checklist",
                "severity",
                "path",
                "line",
                "column",
                "message",
            ] {
                assert!(!d[k].is_null(), "missing {k} in {d}");
            }
            (
                d["path"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        keys, sorted,
        "deterministic order: path, line, column, rule"
    );
    assert!(
        keys.iter()
            .any(|k| k.0 == "fixtures/lint/guide/pattern_b.py"),
        "directories are walked"
    );
}

#[test]
fn unreadable_and_non_utf8_files_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("ok.py");
    std::fs::write(&good, "x = 1\n").unwrap();
    let latin = dir.path().join("latin.py");
    std::fs::write(&latin, b"s = '\xe9'\n").unwrap();
    let locked = dir.path().join("locked.py");
    std::fs::write(&locked, "y = 2\n").unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&locked, perms).unwrap();
    // Root reads anything: then only the encoding case applies.
    let locked_readable = std::fs::read(&locked).is_ok();
    let dangling = dir.path().join("gone.py");
    std::os::unix::fs::symlink(dir.path().join("vanished.py"), &dangling).unwrap();

    let o = lint(&["--format", "json", dir.path().to_str().unwrap()]);
    assert!(o.status.code().is_some(), "no crash");
    let v = json(&o);
    let by_path = |name: &str| -> Vec<String> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["path"].as_str().unwrap().ends_with(name))
            .map(|d| {
                format!(
                    "{} {}",
                    d["rule"].as_str().unwrap(),
                    d["message"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(by_path("ok.py"), Vec::<String>::new());
    assert_eq!(
        by_path("latin.py"),
        vec!["ISO000 file is not valid UTF-8 (invalid byte at offset 5)"]
    );
    let gone = by_path("gone.py");
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert!(gone[0].starts_with("ISO000 cannot read file"), "{gone:?}");
    if !locked_readable {
        let locked = by_path("locked.py");
        assert_eq!(locked.len(), 1);
        assert!(locked[0].contains("Permission denied"), "{locked:?}");
    }
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn output_file_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let o = lint(&[
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        "fixtures/lint/guide/pattern_c.py",
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(rules_of(&v), vec!["ISO106", "ISO106"]);
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let (schemas, index) = sarif_schema();
    for paths in [vec!["fixtures/lint"], vec!["fixtures/lint/iso101_good.py"]] {
        let mut args = vec!["--format", "sarif"];
        args.extend(paths);
        let o = lint(&args);
        let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        if let Err(e) = schemas.validate(&log, index) {
            panic!("SARIF does not validate: {e:#}");
        }
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            17
        );
    }
    // The schema rejects a broken log, so the check has teeth.
    let broken = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    assert!(schemas.validate(&broken, index).is_err());
    let o = lint(&[
        "--format",
        "sarif",
        "fixtures/lint/guide/fastapi_example.py",
    ]);
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &log["runs"][0]["results"][1];
    assert_eq!(r["ruleId"], "ISO106");
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/lint/guide/fastapi_example.py"
    );
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        33
    );
}

#[test]
fn corpus_like_input_never_panics() {
    // Odd but valid or invalid inputs: empty, BOM, CRLF, deep nesting, lone surrogate escapes.
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.py", Vec::new()),
        ("bom.py", b"\xef\xbb\xbfimport os\nopen(os.environ['X'])\n".to_vec()),
        ("crlf.py", b"from fastapi import FastAPI\r\napp = FastAPI()\r\n@app.get('/')\r\ndef h(p):\r\n    open(p)\r\n".to_vec()),
        ("deep.py", deep.into_bytes()),
        ("unterminated.py", b"s = '''never closed\n".to_vec()),
        ("tabs.py", b"if True:\n\tx = 1\n        y = 2\n".to_vec()),
    ];
    for (name, bytes) in &cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let o = lint(&["--format", "json", dir.path().to_str().unwrap()]);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let v = json(&o);
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| !d["message"].as_str().unwrap().contains("internal error")));
    // CRLF source: the handler parameter reaches open() on line 5.
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["path"].as_str().unwrap().ends_with("crlf.py")
            && d["line"] == 5
            && d["rule"] == "ISO106"));
}

#[test]
fn real_corpus_never_panics_when_present() {
    // The corpus is built by ../shared/bench/lint-corpus.sh (network): skip
    // when absent, unless the environment requires it (.ci/run does).
    let corpus = root().join("target/lint-corpus");
    if !Path::new(&corpus).join(".complete").exists() {
        let required = std::env::var("ISOCHECK_REQUIRE").unwrap_or_default();
        assert!(
            !required.split(',').any(|r| r == "all" || r == "corpus"),
            "ISOCHECK_REQUIRE={required} but {} is not built (run ../shared/bench/lint-corpus.sh target/lint-corpus)",
            corpus.display()
        );
        eprintln!(
            "skipped: {} not built (../shared/bench/lint-corpus.sh builds it)",
            corpus.display()
        );
        return;
    }
    let o = lint(&["--format", "json", corpus.to_str().unwrap()]);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let v = json(&o);
    let internal: Vec<&serde_json::Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["message"].as_str().unwrap().contains("internal error"))
        .collect();
    assert!(internal.is_empty(), "panics on corpus files: {internal:?}");
}
