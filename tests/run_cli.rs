//! `isocheck run` end to end: every fixture is caught on its checklist item
//! with a short trace, runs are reproducible, and bad input gets one line
//! and exit code 2 (the reference subjects' 256-case pass is in
//! tests/families.rs).

mod common;

use common::*;
use serde_json::Value;

fn checklist_status(report: &Value, item: &str) -> String {
    report["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == item)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_fixture_is_caught_on_its_item_with_a_short_trace() {
    for (subject, item) in [
        ("fixture:shared-state", "C1"),
        ("fixture:shared-checkpoints", "C2"),
        ("fixture:raw-user-root", "C1"),
    ] {
        for seed in ["1", "2", "3"] {
            // Default case budget (no --cases); stop each family at its first finding.
            let (code, r) = run_json(&["--subject", subject, "--seed", seed, "--rounds", "1"]);
            assert_eq!(code, 1, "{subject} seed {seed}");
            assert_eq!(checklist_status(&r, item), "fail", "{subject} seed {seed}");
            let findings = r["findings"].as_array().unwrap();
            let on_item: Vec<_> = findings.iter().filter(|f| f["checklist"] == item).collect();
            assert!(!on_item.is_empty(), "{subject}: no {item} finding");
            for f in on_item {
                let trace = f["trace"].as_array().unwrap();
                assert!(
                    trace.len() <= 6,
                    "{subject} seed {seed}: trace of {} ops: {f:#}",
                    trace.len()
                );
                assert!(
                    trace.iter().any(|t| t["evidence"] == true),
                    "trace marks its evidence"
                );
                let replay = f["replay"].as_str().unwrap();
                assert!(replay.contains(&format!("--seed {seed}")), "{replay}");
            }
            // The other items stay clean: the fixture leaks through one store only.
            for other in ["C1", "C2", "C3"].iter().filter(|i| **i != item) {
                assert_eq!(checklist_status(&r, other), "pass", "{subject} {other}");
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_json() {
    for subject in ["fixture:shared-state", "fixture:raw-user-root", "local"] {
        let args = [
            "run",
            "--subject",
            subject,
            "--seed",
            "424242",
            "--cases",
            "16",
            "--format",
            "json",
        ];
        let a = isocheck(&args);
        let b = isocheck(&args);
        assert!(!a.stdout.is_empty());
        assert_eq!(stdout(&a), stdout(&b), "{subject}");
    }
}

#[test]
fn a_replay_command_reproduces_its_finding() {
    let (_, r) = run_json(&[
        "--subject",
        "fixture:shared-checkpoints",
        "--seed",
        "5",
        "--cases",
        "64",
    ]);
    let f = &r["findings"][0];
    let replay = f["replay"].as_str().unwrap();
    let words: Vec<&str> = replay.split_whitespace().skip(2).collect();
    let (code, again) = run_json(&words);
    assert_eq!(code, 1);
    assert_eq!(again["findings"][0]["trace"], f["trace"]);
}

#[test]
fn fail_on_threshold_and_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let o = isocheck(&[
        "run",
        "--subject",
        "fixture:shared-state",
        "--seed",
        "1",
        "--cases",
        "32",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a critical content leak fails --fail-on critical"
    );
    assert!(stdout(&o).is_empty());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["schema"], "isocheck.report/v1");
    // shared-checkpoints' lowest finding is medium or higher; with a threshold
    // above every finding the run passes.
    let (code, r) = run_json(&[
        "--subject",
        "fixture:shared-state",
        "--seed",
        "1",
        "--cases",
        "32",
    ]);
    assert_eq!(code, 1);
    let max = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(max.contains(&"critical".to_string()));
}

fn one_line_usage_error(args: &[&str], mentions: &[&str]) {
    let o = isocheck(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?} printed: {err}");
    for m in mentions {
        assert!(err.contains(m), "{args:?}: {err:?} should mention {m:?}");
    }
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    one_line_usage_error(
        &["run", "--subject", "nope"],
        &["'nope'", "state", "fixture:shared-state"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--cases", "0"],
        &["'0'", "--cases"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--cases", "many"],
        &["'many'", "--cases"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--users", "65"],
        &["'65'", "2..=64"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--format", "xml"],
        &["'xml'", "text", "json"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--fail-on", "severe"],
        &["'severe'", "critical"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--scenarios", "bogus"],
        &["'bogus'", "cross-read"],
    );
    one_line_usage_error(
        &["run", "--subject", "state", "--frobnicate"],
        &["--frobnicate"],
    );
    one_line_usage_error(&["run"], &["--subject"]);
    one_line_usage_error(
        &["explain", "no-such-thing"],
        &["'no-such-thing'", "cross-read"],
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("missing-dir").join("r.json");
    one_line_usage_error(
        &[
            "run",
            "--subject",
            "state",
            "--cases",
            "1",
            "--output",
            bad.to_str().unwrap(),
        ],
        &["cannot write the report"],
    );
}

#[test]
fn list_and_explain() {
    let o = isocheck(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for name in [
        "state",
        "local",
        "fixture:shared-state",
        "fixture:shared-checkpoints",
        "fixture:raw-user-root",
        "cross-read",
        "checkpoints",
        "history",
    ] {
        assert!(text.contains(name), "list misses {name}");
    }
    let o = isocheck(&["explain", "cross-read"]);
    assert_eq!(o.status.code(), Some(0));
    let doc = stdout(&o);
    assert!(doc.starts_with("cross-read (checklist C1"), "{doc}");
    assert!(doc.contains("Why it matters"));
    assert!(!doc.contains("//!"));
}

/// `isocheck completions SHELL`: a script for each shell that names the
/// subcommands and their flags; bash's parses (`bash -n`).
#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = isocheck(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for word in [
            "run", "lint", "explain", "subject", "fail-on", "select", "config",
        ] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
        if shell == "bash" {
            let mut check = std::process::Command::new("bash")
                .arg("-n")
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("bash runs");
            use std::io::Write;
            check
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            assert!(
                check.wait().unwrap().success(),
                "bash -n refused the script"
            );
        }
    }
    one_line_usage_error(&["completions", "tcsh"], &["'tcsh'", "bash"]);
}

/// `isocheck ARGS` on a pseudo-terminal (util-linux `script`), with
/// `env` words first (`-u CI`, `NO_COLOR=1`): what the terminal showed.
fn on_a_terminal(env: &[&str], args: &str) -> Option<String> {
    if !std::path::Path::new("/usr/bin/script").exists() {
        skip(
            "tty",
            "util-linux's script(1) is missing: no pseudo-terminal",
        );
        return None;
    }
    let cmd = format!(
        "env {} {} {args}",
        env.join(" "),
        env!("CARGO_BIN_EXE_isocheck")
    );
    let o = std::process::Command::new("/usr/bin/script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .current_dir(root())
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A terminal gets a coloured report and, for a run past a second, a
/// progress bar on stderr; `NO_COLOR`, `CI` and `--quiet` each take away
/// what they should; a pipe gets neither (every other test reads pipes).
#[test]
fn a_terminal_gets_colours_and_a_progress_bar_ci_and_no_color_do_not() {
    let args = "run --subject state --seed 1 --cases 1000000 --budget 2s";
    let Some(tty) = on_a_terminal(&["-u CI", "-u NO_COLOR"], args) else {
        return;
    };
    assert!(tty.contains("\x1b["), "no colours on a terminal: {tty}");
    // `[6/13] context-files 74 cases (1s of a 2s budget)`: the bar shows
    // up after a second, in whichever family is under way by then; under
    // a budget it counts cases against time, not against --cases.
    let bar = regex::Regex::new(r"\[\d+/13\] [a-z-]+.* \d+ cases .*of a 2s budget").unwrap();
    assert!(bar.is_match(&tty), "no progress bar: {tty}");
    assert!(tty.contains("Checklist"), "{tty}");

    let Some(plain) = on_a_terminal(&["CI=1", "NO_COLOR=1"], args) else {
        return;
    };
    assert!(!plain.contains("\x1b["), "NO_COLOR still coloured: {plain}");
    assert!(!bar.is_match(&plain), "a progress bar under CI: {plain}");
    assert!(plain.contains("Checklist"), "{plain}");

    let Some(quiet) = on_a_terminal(&["-u CI"], &format!("{args} --quiet")) else {
        return;
    };
    assert!(
        !bar.is_match(&quiet),
        "a progress bar under --quiet: {quiet}"
    );

    // Without a budget the bar has a length: --cases per family.
    let Some(long) = on_a_terminal(
        &["-u CI", "-u NO_COLOR"],
        "run --subject state --seed 1 --cases 3000 --scenarios cross-read",
    ) else {
        return;
    };
    let counted = regex::Regex::new(r"\[1/1\] cross-read.*\] \d+/3000 cases").unwrap();
    assert!(counted.is_match(&long), "no bar with a length: {long}");

    // A quick run never shows the bar (it would only flicker).
    let Some(quick) = on_a_terminal(&["-u CI"], "run --subject state --seed 1 --cases 4") else {
        return;
    };
    assert!(!quick.contains("/13] "), "{quick}");
}

/// The subject errors the summary counts are listed by operation and
/// error, the most frequent first, with the user id and temp paths
/// replaced, in JSON and text: sanitize-collide's evictions that hit a
/// file of another user's name. A subject that answered everything
/// (`state`) has no list and no section.
#[test]
fn subject_errors_are_listed_by_operation_and_error() {
    let args = [
        "--subject",
        "fixture:sanitize-collide",
        "--seed",
        "1",
        "--cases",
        "4",
    ];
    let (_, v) = run_json(&args);
    let total = v["summary"]["subject_errors"].as_u64().unwrap();
    assert!(total > 0, "{v:#}");
    let errors = v["errors"].as_array().unwrap_or_else(|| panic!("{v:#}"));
    let counts: Vec<u64> = errors
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), total, "{v:#}");
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(errors.iter().any(|e| e["operation"] == "evict"), "{v:#}");
    for e in errors {
        let text = e["error"].as_str().unwrap();
        assert!(!text.contains("/tmp/"), "a temp path in {text}");
    }
    let o = isocheck_in_root(&[&["run"], args.as_slice(), &["--format", "text"]].concat());
    let text = stdout(&o);
    assert!(
        text.contains("Subject errors (recorded, never a pass)"),
        "{text}"
    );
    assert!(text.contains(" x evict"), "{text}");

    let (_, v) = run_json(&["--subject", "state", "--seed", "1", "--cases", "4"]);
    assert_eq!(v["summary"]["subject_errors"], 0, "{v:#}");
    assert!(v.get("errors").is_none(), "{v:#}");
    let o = isocheck_in_root(&["run", "--subject", "state", "--seed", "1", "--cases", "4"]);
    assert!(!stdout(&o).contains("Subject errors"));
}
