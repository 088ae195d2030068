//! `isocheck.toml` and `[tool.isocheck]` in pyproject.toml: the file's
//! values are used, flags override them, and every mistake in the file is
//! one line naming the file, with exit 2 and no run.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Runs isocheck in `dir` (where it looks for its configuration).
fn isocheck_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("isocheck runs")
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn replay_line(o: &Output) -> String {
    stdout(o)
        .lines()
        .find(|l| l.starts_with("Replay:"))
        .unwrap_or_else(|| panic!("no replay line in: {}", stdout(o)))
        .to_string()
}

const RUN: &str = r#"
[run]
subject = "fixture:shared-state"
cases = 4
seed = 7
scenarios = ["cross-read", "history"]
output = ["junit=isocheck.xml"]
"#;

#[test]
fn the_run_table_is_used_and_flags_override_it() {
    let dir = project(&[("isocheck.toml", RUN)]);
    let o = isocheck_in(dir.path(), &["run"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        replay_line(&o),
        "Replay:  isocheck run --subject fixture:shared-state --seed 7 --cases 4 \
         --scenarios cross-read,history"
    );
    let junit = std::fs::read_to_string(dir.path().join("isocheck.xml")).unwrap();
    assert!(junit.contains("cross-read"), "{junit}");

    // A flag replaces the file's value; a list flag replaces the whole list.
    let o = isocheck_in(
        dir.path(),
        &["run", "--cases", "2", "--scenarios", "checkpoints"],
    );
    assert_eq!(
        replay_line(&o),
        "Replay:  isocheck run --subject fixture:shared-state --seed 7 --cases 2 \
         --scenarios checkpoints"
    );

    // --no-config: the file is not read (no subject: a usage error).
    let o = isocheck_in(dir.path(), &["--no-config", "run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--subject"), "{}", stderr(&o));
}

#[test]
fn pyproject_tool_isocheck_and_a_named_file() {
    let bad = std::fs::read_to_string(root().join("fixtures/lint/iso106_bad.py")).unwrap();
    let other = std::fs::read_to_string(root().join("fixtures/lint/iso101_bad.py")).unwrap();
    let dir = project(&[
        (
            "pyproject.toml",
            "[project]\nname = \"app\"\n\n[tool.isocheck.lint]\nselect = [\"ISO101\"]\nno-snippets = true\n",
        ),
        ("iso106_bad.py", &bad),
        ("iso101_bad.py", &other),
    ]);
    let o = isocheck_in(dir.path(), &["lint", "--format", "json", "."]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<_> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(!codes.is_empty(), "{v}");
    assert!(codes.iter().all(|c| c == "ISO101"), "{codes:?}");

    // The command line's --select wins.
    let o = isocheck_in(
        dir.path(),
        &["lint", "--format", "json", "--select", "ISO106", "."],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(
        !diags.is_empty() && diags.iter().all(|d| d["rule"] == "ISO106"),
        "{v}"
    );

    // --config names a file anywhere; isocheck.toml in the directory beats
    // pyproject.toml.
    std::fs::write(
        dir.path().join("isocheck.toml"),
        "[lint]\nselect = [\"ISO106\"]\n",
    )
    .unwrap();
    let o = isocheck_in(dir.path(), &["lint", "--format", "json", "."]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["rule"] == "ISO106"));
    let o = isocheck_in(
        dir.path(),
        &[
            "lint",
            "--config",
            "pyproject.toml",
            "--format",
            "json",
            ".",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["rule"] == "ISO101"));
}

#[test]
fn a_project_file_without_isocheck_is_ignored_even_when_broken() {
    let dir = project(&[("pyproject.toml", "[project\nname = ")]);
    let o = isocheck_in(
        dir.path(),
        &[
            "run",
            "--subject",
            "state",
            "--cases",
            "1",
            "--scenarios",
            "cross-read",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn every_mistake_in_the_file_is_one_line_naming_it() {
    for (file, text, expect) in [
        (
            "isocheck.toml",
            "[run]\ncasez = 3\n",
            "isocheck.toml [run]: unknown key `casez`",
        ),
        (
            "isocheck.toml",
            "[run]\ncases = \"many\"\n",
            "isocheck.toml [run]: invalid value 'many' for '--cases <N>'",
        ),
        (
            "isocheck.toml",
            "[run]\nformat = \"xml\"\n",
            "(accepted: text, json",
        ),
        (
            "isocheck.toml",
            "[run]\ncases = [1, 2]\n",
            "`cases` takes one value, not a list",
        ),
        (
            "isocheck.toml",
            "[runn]\ncases = 3\n",
            "isocheck.toml: unknown key `runn` (accepted: [run], [lint])",
        ),
        ("isocheck.toml", "[run\ncases = 3\n", "isocheck.toml:1:"),
        ("isocheck.toml", "run = 3\n", "`run` must be a table"),
        (
            "isocheck.toml",
            "[lint]\nno-snippets = \"yes\"\n",
            "`no-snippets` is a switch",
        ),
        (
            "isocheck.toml",
            "[lint]\nconfig = \"x.toml\"\n",
            "unknown key `config`",
        ),
        (
            "pyproject.toml",
            "[tool.isocheck.run]\nsubject = \"state\"\nrounds_max = 1\n",
            "pyproject.toml [tool.isocheck.run]: unknown key `rounds_max`",
        ),
    ] {
        let dir = project(&[(file, text)]);
        let o = isocheck_in(dir.path(), &["run", "--subject", "state", "--cases", "1"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "{text}: {err}");
        assert!(err.contains(expect), "{text}: {err}");
        assert!(stdout(&o).is_empty(), "{text}: the run started");
    }
    // A named file that is not there.
    let dir = project(&[]);
    let o = isocheck_in(
        dir.path(),
        &["run", "--config", "nope.toml", "--subject", "state"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read nope.toml"),
        "{}",
        stderr(&o)
    );
    let o = isocheck_in(dir.path(), &["lint", "--config", "pyproject.toml"]);
    assert_eq!(o.status.code(), Some(2));
}
