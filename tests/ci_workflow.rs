//! The example GitHub Actions workflow (docs/ci/github-actions.yml) and the
//! pre-commit hook (.pre-commit-hooks.yaml) run as written: every step
//! named "isocheck ..." is run by bash in a project with an isocheck.toml,
//! with the built isocheck on PATH; on a clean subject the job passes and
//! writes its files, on a leaky one the run step fails as the job should.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// The `run:` scripts of the workflow's steps named "isocheck ...".
fn isocheck_steps(workflow: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = workflow.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        let Some(name) = line.strip_prefix("- name: ") else {
            i += 1;
            continue;
        };
        let step_indent = lines[i].len() - line.len();
        i += 1;
        while i < lines.len() {
            let l = lines[i];
            let t = l.trim_start();
            let indent = l.len() - t.len();
            if t.starts_with("- ") && indent <= step_indent {
                break;
            }
            if let Some(rest) = t.strip_prefix("run:") {
                let rest = rest.trim();
                let script = if rest == "|" {
                    let mut body = Vec::new();
                    i += 1;
                    while i < lines.len() {
                        let b = lines[i];
                        let bi = b.len() - b.trim_start().len();
                        if !b.trim().is_empty() && bi <= indent {
                            break;
                        }
                        body.push(b.trim_start());
                        i += 1;
                    }
                    body.join("\n")
                } else {
                    i += 1;
                    rest.to_string()
                };
                if name.starts_with("isocheck") {
                    steps.push((name.to_string(), script));
                }
                continue;
            }
            i += 1;
        }
    }
    steps
}

fn bash_in(dir: &Path, script: &str) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_isocheck"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .output()
        .expect("bash runs")
}

fn project(subject: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("isocheck.toml"),
        format!("[run]\nsubject = \"{subject}\"\ncases = 8\nseed = 1\n"),
    )
    .unwrap();
    let good = std::fs::read_to_string(root().join("fixtures/lint/iso101_good.py")).unwrap();
    std::fs::write(dir.path().join("app.py"), good).unwrap();
    dir
}

#[test]
fn the_example_workflow_runs_as_written() {
    let workflow = std::fs::read_to_string(root().join("docs/ci/github-actions.yml")).unwrap();
    let steps = isocheck_steps(&workflow);
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["isocheck run", "isocheck lint"], "{steps:?}");

    let clean = project("state");
    for (name, script) in &steps {
        let o = bash_in(clean.path(), script);
        assert!(o.status.success(), "{name}: {}\n{}", stderr(&o), stdout(&o));
    }
    let d = clean.path();
    let junit = std::fs::read_to_string(d.join("isocheck-run.xml")).unwrap();
    assert!(junit.contains("<testsuites"), "{junit}");
    for sarif in ["isocheck-run.sarif", "isocheck-lint.sarif"] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(sarif)).unwrap()).unwrap();
        assert_eq!(v["version"], "2.1.0", "{sarif}");
    }
    let summary = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(summary.contains("isocheck run"), "{summary}");

    // A leaky subject fails the run step (and so the job), files written.
    let leaky = project("fixture:shared-state");
    let o = bash_in(leaky.path(), &steps[0].1);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(leaky.path().join("isocheck-run.xml").exists());
}

#[test]
fn the_pre_commit_hook_runs_as_written() {
    let hooks = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let entry = hooks
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry: "))
        .expect("an entry");
    assert!(hooks.contains("id: isocheck-lint") && hooks.contains("types: [python]"));
    let dir = tempfile::tempdir().unwrap();
    for name in ["iso101_good.py", "iso101_bad.py"] {
        std::fs::copy(
            root().join("fixtures/lint").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    // pre-commit appends the staged files to the entry.
    let o = bash_in(dir.path(), &format!("{entry} iso101_good.py"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = bash_in(dir.path(), &format!("{entry} iso101_good.py iso101_bad.py"));
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("ISO101"), "{}", stdout(&o));
}
