//! Big and odd inputs through `state`, `local` and the adapter client (the
//! stdlib fake adapter): a 10 MB file, 10,000 entries in one directory, a
//! tree 50 deep, 300-character and NUL-containing user ids, non-UTF-8 file
//! names and contents, adapter lines that are too long or not UTF-8. These
//! assert what comes back; `cargo bench --bench big_inputs` prints the time
//! and peak memory of each (README, "Big inputs").

mod big;
mod common;

use std::future::Future;
use std::os::unix::ffi::OsStrExt;

use big::*;

/// A scenario: takes a tenancy, gives it back (or why it failed).
type Scenario = fn(
    Box<dyn isocheck::subject::Tenancy>,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<Box<dyn isocheck::subject::Tenancy>, String>> + Send>,
>;

fn on(subject: &str, scenario: Scenario) {
    if subject == "adapter" && common::system_python().is_none() {
        return;
    }
    let f = factory(subject);
    if let Err(e) = runtime().block_on(with_tenancy(&f, scenario)) {
        panic!("{subject}: {e}");
    }
}

fn scenario(name: &str) -> Scenario {
    scenarios()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s)
        .unwrap()
}

#[test]
fn a_10_mb_file_round_trips() {
    for s in ["state", "local", "adapter"] {
        on(s, scenario("10mb-file"));
    }
}

#[test]
fn a_directory_of_10000_entries_is_listed_whole() {
    for s in ["state", "local", "adapter"] {
        on(s, scenario("10000-entries"));
    }
}

#[test]
fn a_tree_50_deep_is_walked() {
    for s in ["state", "local", "adapter"] {
        on(s, scenario("50-deep"));
    }
}

#[test]
fn odd_user_ids_are_refused_clearly_or_kept_apart() {
    for s in ["state", "local", "adapter"] {
        on(s, scenario("odd-ids"));
    }
}

/// The workspace directory of `user` in a `local` subject's temp root.
fn local_user_dir(user: &str) -> std::path::PathBuf {
    let name = isocheck::backends::local::user_dir_name(user);
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path().join("workspaces").join(&name))
        .find(|p| p.join("marker.txt").exists())
        .expect("the local subject's user directory")
}

#[test]
fn local_serves_non_utf8_names_and_contents_without_failing() {
    let user = format!("non-utf8-{}", std::process::id());
    let f = factory("local");
    let r = runtime().block_on(with_tenancy(&f, |t| async move {
        let s = t.open(&user).await.map_err(|e| e.to_string())?;
        let b = &s.backend;
        b.write("/marker.txt", "m")
            .await
            .map_err(|e| e.to_string())?;
        // What the app itself might leave in the workspace.
        let dir = local_user_dir(&user);
        let odd_name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
        std::fs::write(dir.join(odd_name), b"x").unwrap();
        let latin1 = b"na\xefve \xff\xfe bytes\nsecond line\n";
        std::fs::write(dir.join("latin1.txt"), latin1).unwrap();

        let ls = b.ls_info("/").await.map_err(|e| format!("ls: {e}"))?;
        assert_eq!(ls.len(), 3, "{ls:?}");
        assert!(
            ls.iter()
                .any(|f| f.path.starts_with("/caf") && f.path.contains('\u{fffd}')),
            "{ls:?}"
        );
        let back = b
            .read_bytes("/latin1.txt")
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(back, latin1);
        let text = b
            .read("/latin1.txt", 0, 10)
            .await
            .map_err(|e| e.to_string())?;
        assert!(text.contains("second line"), "{text:?}");
        let hits = b
            .grep_raw("second", None, None)
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(hits.len(), 1, "{hits:?}");
        let g = b.glob_info("*.txt", "/").await.map_err(|e| e.to_string())?;
        assert_eq!(g.len(), 3, "{g:?}");
        // The lossy name cannot be opened; that is an error, not a panic.
        let lossy = ls
            .iter()
            .find(|f| f.path.starts_with("/caf"))
            .unwrap()
            .path
            .clone();
        assert!(!b.exists(&lossy).await.unwrap_or(false));
        drop(s);
        Ok(t)
    }));
    r.unwrap();
}

#[test]
fn an_adapter_line_longer_than_64_mib_breaks_the_connection_clearly() {
    let mut stream = br#"{"id":1,"ok":""#.to_vec();
    stream.resize(isocheck::subject::adapter::conn::MAX_LINE + 16, b'a');
    stream.extend_from_slice(b"\"}\n");
    let (got, dead) =
        runtime().block_on(isocheck::subject::adapter::conn::read_replies(&stream, 1));
    let why = dead.unwrap();
    assert!(
        why.contains("longer than 64 MiB"),
        "{}",
        &why[..why.len().min(300)]
    );
    assert!(
        why.len() < 400,
        "the message quotes only the start of the line"
    );
    assert!(
        matches!(&got[0], Some(Err(e)) if e.kind() == "crashed"),
        "{:?}",
        got[0].as_ref().map(|r| r.is_ok())
    );
}

#[test]
fn a_20_mb_adapter_line_is_read_whole() {
    // read_bytes of a 10 MB file: 20 MB of hex on one line.
    let hex = "ab".repeat(10 << 20);
    let stream = format!("{{\"id\":1,\"ok\":\"{hex}\"}}\n");
    let (got, _) = runtime().block_on(isocheck::subject::adapter::conn::read_replies(
        stream.as_bytes(),
        1,
    ));
    match &got[0] {
        Some(Ok(v)) => assert_eq!(v.as_str().unwrap().len(), 20 << 20),
        other => panic!(
            "{:?}",
            other
                .as_ref()
                .map(|r| r.as_ref().err().map(|e| e.to_string()))
        ),
    }
}

#[test]
fn an_adapter_line_that_is_not_utf8_breaks_the_connection_clearly() {
    let stream = b"{\"id\":1,\"ok\":null}\n{\"id\":2,\"ok\":\"\xff\xfe\"}\n";
    let (got, dead) = runtime().block_on(isocheck::subject::adapter::conn::read_replies(stream, 2));
    assert!(matches!(got[0], Some(Ok(_))));
    let why = dead.unwrap();
    assert!(why.contains("UTF-8"), "{why}");
    assert!(!why.contains('\n'), "{why}");
    assert!(matches!(&got[1], Some(Err(e)) if e.kind() == "crashed"));
}

/// `isocheck lint ARGS --format json`: (exit code, diagnostics).
fn lint_json(args: &[&std::ffi::OsStr]) -> (i32, Vec<serde_json::Value>) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_isocheck"))
        .arg("lint")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", common::stderr(&o)));
    (
        o.status.code().unwrap(),
        v["diagnostics"].as_array().unwrap().clone(),
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("big")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lint_reads_a_10_mb_file_and_finds_the_leak_at_its_end() {
    let dir = scratch("lint-10mb");
    let mut src = String::from("import uuid\n\n");
    let mut i = 0;
    while src.len() < 10 << 20 {
        src.push_str(&format!(
            "def f{i}(x):\n    y = x + {i}\n    return [y, str(y), {{'k': y}}]\n\n"
        ));
        i += 1;
    }
    // The leaky fixture at the end: the same findings as on its own.
    let fixture = common::root().join("fixtures/lint/iso106_bad.py");
    let (_, alone) = lint_json(&[fixture.as_os_str()]);
    assert!(!alone.is_empty());
    let offset = src.lines().count();
    src.push_str(&std::fs::read_to_string(&fixture).unwrap());
    let file = dir.join("big.py");
    std::fs::write(&file, &src).unwrap();
    let (code, diags) = lint_json(&[file.as_os_str()]);
    assert_eq!(code, 1, "{diags:?}");
    let found: Vec<_> = diags
        .iter()
        .map(|d| {
            (
                d["rule"].clone(),
                d["line"].as_u64().unwrap() - offset as u64,
            )
        })
        .collect();
    let want: Vec<_> = alone
        .iter()
        .map(|d| (d["rule"].clone(), d["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(found, want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_survives_deep_nesting() {
    let dir = scratch("lint-deep");
    // 50 nested blocks, and an expression 5,000 parentheses deep.
    let mut blocks = String::new();
    for d in 0..50 {
        blocks.push_str(&"    ".repeat(d));
        blocks.push_str(&format!("if x{d}:\n"));
    }
    blocks.push_str(&"    ".repeat(50));
    blocks.push_str("backend = LocalBackend(root_dir=f\"/w/{user_id}\")\n");
    std::fs::write(
        dir.join("blocks.py"),
        format!("from pydantic_ai_backends import LocalBackend\n{blocks}"),
    )
    .unwrap();
    let parens = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    std::fs::write(dir.join("parens.py"), parens).unwrap();
    let (code, diags) = lint_json(&[dir.as_os_str()]);
    assert!(code == 0 || code == 1, "{diags:?}");
    for d in &diags {
        assert!(
            !d["message"].as_str().unwrap().contains("internal error"),
            "{d}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lint_takes_a_tree_of_10000_files_with_odd_names_and_bytes() {
    let dir = scratch("lint-tree");
    for i in 0..ENTRIES {
        let sub = dir.join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(sub.join(format!("m{i}.py")), format!("x = {i}\n")).unwrap();
    }
    // A name that is not UTF-8, contents that are not, a NUL in the source.
    std::fs::write(
        dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.py")),
        "y = 1\n",
    )
    .unwrap();
    std::fs::write(dir.join("latin1.py"), b"s = '\xe9t\xe9'\n").unwrap();
    std::fs::write(dir.join("nul.py"), b"s = 1\x00\n").unwrap();
    let (code, diags) = lint_json(&[dir.as_os_str()]);
    assert_eq!(code, 1, "{diags:?}");
    let iso000: Vec<_> = diags.iter().filter(|d| d["rule"] == "ISO000").collect();
    assert!(
        iso000
            .iter()
            .any(|d| d["path"].as_str().unwrap().ends_with("latin1.py")
                && d["message"].as_str().unwrap().contains("UTF-8")),
        "{iso000:?}"
    );
    assert!(
        iso000
            .iter()
            .any(|d| d["path"].as_str().unwrap().ends_with("nul.py")),
        "{iso000:?}"
    );
    assert_eq!(iso000.len(), 2, "only the two bad files: {iso000:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
