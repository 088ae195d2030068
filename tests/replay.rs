//! `run --save-failures DIR` and `isocheck replay`: a saved failure
//! replays as STILL FAILING against the same leaky subject and as FIXED
//! once the subject is swapped for a clean one; bad input is one line and
//! exit 2.

mod common;

use std::path::Path;

use common::*;

fn save(dir: &Path, extra: &[&str]) -> std::process::Output {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "run",
        "--subject",
        "fixture:shared-state",
        "--seed",
        "7",
        "--cases",
        "16",
        "--scenarios",
        "cross-read,history",
        "--save-failures",
        &d,
    ];
    args.extend_from_slice(extra);
    isocheck(&args)
}

#[test]
fn a_saved_failure_is_still_failing_until_the_subject_is_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("failures");
    let o = save(&dir, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("failures saved in"), "{}", stderr(&o));
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(!files.is_empty());
    for f in &files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
        let fp = v["fingerprint"].as_str().unwrap();
        assert_eq!(f.file_name().to_string_lossy(), format!("{fp}.json"));
        assert_eq!(v["version"], 1);
        let run: Vec<&str> = v["run"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(
            run.windows(2)
                .any(|w| w == ["--scenarios", v["scenario"].as_str().unwrap()]),
            "{run:?}"
        );
    }

    let d = dir.to_string_lossy().into_owned();
    let o = isocheck(&["replay", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), files.len(), "{out}");
    assert!(out.lines().all(|l| l.starts_with("STILL FAILING")), "{out}");

    // The app fixed (here: the clean reference subject in its place).
    let o = isocheck(&["replay", "--subject", "state", &d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().all(|l| l.starts_with("FIXED")), "{out}");

    // One file at a time works too; a subject that does not exist is an
    // ERROR (exit 3), never FIXED.
    let one = files[0].path().to_string_lossy().into_owned();
    let o = isocheck(&["replay", "--subject", "fixture:nope", &one]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("ERROR"), "{}", stdout(&o));
}

#[test]
fn baselined_findings_are_not_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baseline.json");
    let b = base.to_string_lossy().into_owned();
    let o = save(&tmp.path().join("first"), &["--write-baseline", &b]);
    assert_eq!(o.status.code(), Some(1));
    let dir = tmp.path().join("second");
    let o = save(&dir, &["--baseline", &b]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 1}").unwrap();
    let newer = tmp.path().join("newer.json");
    std::fs::write(
        &newer,
        r#"{"version": 9, "fingerprint": "x", "scenario": "cross-read", "checklist": "C1",
            "severity": "high", "title": "t", "run": []}"#,
    )
    .unwrap();
    for (path, says) in [
        (empty.as_path(), "no saved failures"),
        (bad.as_path(), "is not a saved failure"),
        (newer.as_path(), "saved failure version 9"),
        (tmp.path().join("missing").as_path(), "does not exist"),
    ] {
        let p = path.to_string_lossy().into_owned();
        let o = isocheck(&["replay", &p]);
        assert_eq!(o.status.code(), Some(2), "{p}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    // An unwritable --save-failures is refused before the run.
    let o = isocheck(&[
        "run",
        "--subject",
        "state",
        "--save-failures",
        "/proc/isocheck/failures",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}
