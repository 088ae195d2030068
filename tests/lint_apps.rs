//! Multi-file fixture apps under `fixtures/lint/apps/`, each checked as one
//! program. Expected findings are Semgrep-style annotations on the line
//! before: `# ruleid: ISO101, ISO107` (these rules must fire on the next line)
//! and `# ok: ISO106` (this rule must not). Every app gets exactly its
//! `ruleid` findings; the `clean_*` look-alikes have none at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use isocheck::lint;

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lint/apps")
}

fn apps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(apps_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn py_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            py_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "py") {
            out.push(p);
        }
    }
}

/// (file, line, code) annotated with `prefix` (`ruleid:` or `ok:`), for the line after.
fn annotations(app: &Path, prefix: &str) -> BTreeSet<(String, usize, String)> {
    let mut files = Vec::new();
    py_files(app, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("#").map(str::trim_start) {
                if let Some(codes) = rest.strip_prefix(prefix) {
                    for code in codes.split(',') {
                        out.insert((rel(app, &f), i + 2, code.trim().to_string()));
                    }
                }
            }
        }
    }
    out
}

fn rel(app: &Path, f: &Path) -> String {
    f.strip_prefix(app)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

fn actual(app: &Path) -> BTreeSet<(String, usize, String)> {
    lint::check_paths(&[app.to_path_buf()])
        .iter()
        .map(|d| {
            let p = Path::new(&d.path);
            let p = p
                .strip_prefix(app)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            (p, d.line, d.rule.code.to_string())
        })
        .collect()
}

#[test]
fn every_app_gets_exactly_its_annotated_findings() {
    let apps = apps();
    assert!(apps.len() >= 8, "fixture apps missing: {apps:?}");
    for app in apps {
        let want = annotations(&app, "ruleid:");
        let got = actual(&app);
        assert_eq!(got, want, "app {}", app.display());
        for ok in annotations(&app, "ok:") {
            assert!(
                !got.contains(&ok),
                "app {}: {ok:?} must not fire",
                app.display()
            );
        }
        let name = app.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("clean_") {
            assert!(want.is_empty(), "clean app {name} has ruleid annotations");
        } else {
            assert!(!want.is_empty(), "leaky app {name} expects no finding");
        }
    }
}

/// The same apps checked one file at a time miss what only the whole program
/// shows: the cross-file findings need the index and the summaries.
#[test]
fn cross_file_findings_need_the_whole_program() {
    let app = apps_dir().join("helper_taint");
    let mut files = Vec::new();
    py_files(&app, &mut files);
    let alone: usize = files
        .iter()
        .map(|f| {
            lint::check_file(f)
                .iter()
                .filter(|d| d.rule.code == "ISO106")
                .count()
        })
        .sum();
    assert_eq!(alone, 0, "helper_taint's flows cross files");
    assert_eq!(
        actual(&app)
            .iter()
            .filter(|(_, _, c)| c == "ISO106")
            .count(),
        3
    );
}

/// ISO106 across files carries its flow: source in api.py, sink in storage.py.
#[test]
fn taint_flow_crosses_files() {
    let app = apps_dir().join("helper_taint");
    let d = lint::check_paths(std::slice::from_ref(&app));
    let hist = d
        .iter()
        .find(|d| d.rule.code == "ISO106" && d.message.contains("sqlite3.connect"))
        .expect("thread id into sqlite3.connect");
    let files: Vec<String> = hist
        .flow
        .iter()
        .map(|s| rel(&app, Path::new(&s.path)))
        .collect();
    assert_eq!(files.first().map(String::as_str), Some("service/api.py"));
    assert_eq!(
        files.last().map(String::as_str),
        Some("service/core/storage.py")
    );
    assert!(
        files.iter().any(|f| f == "service/chat_service.py"),
        "{files:?}"
    );
    assert!(
        hist.flow[0].message.contains("thread_id"),
        "{:?}",
        hist.flow[0]
    );
}
