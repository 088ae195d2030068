//! Snapshots of whole reports: any change to what users see is reviewed.
//! Reports hold no timings or temp paths, so no redaction is needed; the
//! seed pins everything else.

mod common;

use common::*;

#[test]
fn shared_state_report_json() {
    let o = isocheck(&[
        "run",
        "--subject",
        "fixture:shared-state",
        "--seed",
        "7",
        "--cases",
        "32",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("shared_state_json", stdout(&o));
}

#[test]
fn shared_checkpoints_report_text() {
    let o = isocheck(&[
        "run",
        "--subject",
        "fixture:shared-checkpoints",
        "--seed",
        "7",
        "--cases",
        "32",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("shared_checkpoints_text", stdout(&o));
}

#[test]
fn raw_user_root_report_text() {
    let o = isocheck(&[
        "run",
        "--subject",
        "fixture:raw-user-root",
        "--seed",
        "7",
        "--cases",
        "32",
        "--scenarios",
        "cross-read",
    ]);
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("raw_user_root_text", stdout(&o));
}

#[test]
fn state_report_text() {
    let o = isocheck(&["run", "--subject", "state", "--seed", "7", "--cases", "16"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("state_text", stdout(&o));
}
