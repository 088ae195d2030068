//! insta snapshots of the text and JSON reports.

use std::process::Command;

fn lint(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .arg("lint")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run isocheck");
    String::from_utf8(o.stdout).expect("UTF-8 report")
}

#[test]
fn text_guide_fastapi() {
    insta::assert_snapshot!(
        "lint_text_guide_fastapi",
        lint(&["fixtures/lint/guide/fastapi_example.py"])
    );
}

#[test]
fn text_guide_directory() {
    insta::assert_snapshot!("lint_text_guide", lint(&["fixtures/lint/guide"]));
}

#[test]
fn json_guide_directory() {
    let v: serde_json::Value =
        serde_json::from_str(&lint(&["--format", "json", "fixtures/lint/guide"])).unwrap();
    insta::assert_json_snapshot!("lint_json_guide", v);
}

#[test]
fn json_all_fixtures() {
    let v: serde_json::Value =
        serde_json::from_str(&lint(&["--format", "json", "fixtures/lint"])).unwrap();
    insta::assert_json_snapshot!("lint_json_fixtures", v);
}

#[test]
fn text_no_snippets() {
    insta::assert_snapshot!(
        "lint_text_iso106_bad",
        lint(&["--no-snippets", "fixtures/lint/iso106_bad.py"])
    );
}
