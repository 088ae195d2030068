//! The last test binary `cargo test` runs (binaries run in name order):
//! lists every test of this `cargo test` that skipped because a part of
//! the environment was missing, so that no skip hides among the passes.
//! It fails only if ISOCHECK_REQUIRE names a part that was skipped (the
//! skipping test has already failed then; this repeats it at the end).

mod common;

use std::io::Write;

#[test]
fn list_what_was_skipped() {
    let cargo = std::os::unix::process::parent_id();
    let path = common::skips_file(cargo);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    // Files of earlier `cargo test` runs whose cargo is gone.
    if let Ok(dir) = std::fs::read_dir(path.parent().unwrap()) {
        for f in dir.flatten() {
            let pid = f
                .path()
                .file_stem()
                .and_then(|s| s.to_str()?.parse::<u32>().ok());
            if pid.is_some_and(|p| !common::alive(p)) {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut err = std::io::stderr();
    if lines.is_empty() {
        let _ = writeln!(err, "isocheck tests: nothing was skipped");
        return;
    }
    let _ = writeln!(
        err,
        "\n==== isocheck tests: {} SKIPPED (not run, not passed) ====",
        lines.len()
    );
    for l in &lines {
        let _ = writeln!(err, "  {l}");
    }
    let _ = writeln!(
        err,
        "==== set ISOCHECK_REQUIRE=corpus,python,docker,postgres,report-tools,tty to make skips failures ====\n"
    );
    let required: Vec<&str> = lines
        .iter()
        .filter(|l| {
            l.rsplit("ISOCHECK_REQUIRE=")
                .next()
                .and_then(|r| r.split_whitespace().next())
                .is_some_and(common::required)
        })
        .copied()
        .collect();
    assert!(
        required.is_empty(),
        "required parts were skipped: {required:?}"
    );
}
