//! Every rule fires on its bad fixture (exact codes and lines, from `# expect:`
//! markers) and stays silent on its look-alikes; the guide's code gets the
//! verdicts its header comments give.

use std::path::{Path, PathBuf};

use isocheck::lint::{self, Diagnostic};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lint")
}

fn check(rel: &str) -> Vec<Diagnostic> {
    lint::check_file(&fixtures().join(rel))
}

/// (line, code) pairs from `# expect: ISO101, ISO107` markers.
fn expected(rel: &str) -> Vec<(usize, String)> {
    let bytes = std::fs::read(fixtures().join(rel)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(pos) = line.find("expect: ") {
            for code in line[pos + 8..].split(',') {
                out.push((i + 1, code.trim().to_string()));
            }
        }
    }
    out.sort();
    out
}

fn actual(rel: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = check(rel)
        .iter()
        .map(|d| (d.line, d.rule.code.to_string()))
        .collect();
    out.sort();
    out
}

fn fixture_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_fixture_gets_exactly_its_expected_findings() {
    for name in fixture_files() {
        assert_eq!(actual(&name), expected(&name), "fixture {name}");
    }
}

#[test]
fn every_rule_fires_on_its_bad_fixture_and_not_on_its_good_ones() {
    let names = fixture_files();
    for (code, rule_name, _, _) in lint::rule_index() {
        let prefix = code.to_ascii_lowercase();
        let bad: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&format!("{prefix}_bad")))
            .collect();
        let good: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&format!("{prefix}_good")))
            .collect();
        assert!(
            !bad.is_empty() && !good.is_empty(),
            "{code} ({rule_name}) needs bad and good fixtures"
        );
        for f in bad {
            let hits = actual(f).iter().filter(|(_, c)| c == code).count();
            assert!(hits > 0, "{code} must fire on {f}");
        }
        for f in good {
            assert!(
                actual(f).iter().all(|(_, c)| c != code),
                "{code} must be silent on {f}: {:?}",
                actual(f)
            );
        }
    }
}

#[test]
fn guide_fastapi_example_verdict() {
    let d = check("guide/fastapi_example.py");
    let got: Vec<(usize, usize, &str)> =
        d.iter().map(|d| (d.line, d.column, d.rule.code)).collect();
    assert_eq!(
        got,
        vec![(33, 17, "ISO107"), (33, 39, "ISO106"), (34, 26, "ISO104")]
    );
    assert!(
        d.iter().all(|d| d.rule.code != "ISO105"),
        "histories are keyed by user"
    );
    assert!(d[1].message.contains("root_dir"));
}

#[test]
fn guide_patterns_verdicts() {
    let codes = |rel: &str| -> Vec<(usize, &'static str)> {
        check(rel).iter().map(|d| (d.line, d.rule.code)).collect()
    };
    assert_eq!(
        codes("guide/pattern_a.py"),
        vec![(19, "ISO108"), (20, "ISO104")]
    );
    assert_eq!(
        codes("guide/pattern_b.py"),
        vec![(16, "ISO107"), (16, "ISO106"), (17, "ISO106")]
    );
    assert_eq!(
        codes("guide/pattern_c.py"),
        vec![(16, "ISO106"), (19, "ISO106")]
    );
    assert_eq!(codes("guide/the_problem.py"), vec![]);
}

#[test]
fn severities() {
    let sev = |rel: &str| -> Vec<&'static str> {
        check(rel).iter().map(|d| d.severity.as_str()).collect()
    };
    assert_eq!(sev("iso108_bad.py"), vec!["info", "info"]);
    assert_eq!(sev("iso109_info.py"), vec!["info"]);
    // and ISO121 (medium): its handler uses the thread id of the request.
    assert_eq!(sev("iso109_bad.py"), vec!["high", "high", "medium"]);
    assert_eq!(sev("iso106_bad.py")[0], "critical");
}

#[test]
fn parse_error_and_bad_encoding_are_iso000() {
    let d = check("iso000_bad.py");
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].rule.code, d[0].line), ("ISO000", 8));
    assert!(d[0].message.starts_with("syntax error"));
    let d = check("iso000_latin1.py");
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("not valid UTF-8"), "{}", d[0].message);
}

#[test]
fn missing_file_is_a_diagnostic_not_a_panic() {
    let d = lint::check_file(Path::new("/nonexistent/isocheck/x.py"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].rule.code, "ISO000");
    assert!(d[0].message.starts_with("cannot read file"));
}

#[test]
fn import_aliases_resolve() {
    let src = "import pydantic_ai_backends as pab\nfrom fastapi import FastAPI\napp = FastAPI()\nb = pab.StateBackend()\n\n@app.get('/')\nasync def h(q: str):\n    return await agent.run(q, deps=Deps(backend=b))\n";
    let d = lint::check_source("x.py", src);
    assert_eq!(
        d.iter().map(|d| (d.line, d.rule.code)).collect::<Vec<_>>(),
        vec![(4, "ISO101")]
    );
    // The same name from another package is not a backend.
    let other = src.replace("import pydantic_ai_backends as pab", "import mylib as pab");
    assert!(lint::check_source("x.py", &other).is_empty());
}

#[test]
fn explain_and_rule_index() {
    let index = lint::rule_index();
    assert_eq!(index.len(), 17);
    assert_eq!(
        index[6],
        (
            "ISO106",
            "user-id-in-path",
            "C1",
            "A request-controlled value flows into a filesystem path without validation"
        )
    );
    for (code, name, checklist, _) in &index {
        let by_code = lint::explain(code).unwrap();
        assert_eq!(Some(&by_code), lint::explain(&name.to_uppercase()).as_ref());
        assert_eq!(Some(&by_code), lint::explain(&code.to_lowercase()).as_ref());
        for section in [
            "## What it does",
            "## Why is this bad",
            "## Example",
            "## Fix",
        ] {
            assert!(by_code.contains(section), "{code} doc lacks {section}");
        }
        if *checklist != "-" {
            assert!(
                by_code.contains(&format!("Checklist item: {checklist}")),
                "{code} names its checklist item"
            );
        }
    }
    let doc = lint::explain("user-id-in-path").unwrap();
    assert!(doc.starts_with("# ISO106 user-id-in-path\n"));
    // The text is the rule file's doc comment, verbatim.
    let file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lint/rules/iso106_user_id_in_path.rs"),
    )
    .unwrap();
    let from_file: String = file
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("///"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    assert_eq!(doc, from_file);
    assert!(lint::explain("ISO999").is_none());
}
