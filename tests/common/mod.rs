//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the built `isocheck` binary.
pub fn isocheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .args(args)
        .output()
        .expect("isocheck runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `isocheck run ... --format json`, parsed.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["run", "--format", "json"];
    all.extend_from_slice(args);
    let o = isocheck(&all);
    let code = o.status.code().expect("exit code");
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}; stdout: {}",
            stderr(&o),
            stdout(&o)
        )
    });
    (code, v)
}
