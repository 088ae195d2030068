//! Every fuzz target (fuzz/, scripts/fuzz.sh) on its seed corpus and on
//! every input that once crashed it: the fuzzers' findings stay fixed
//! without a fuzzer in CI. `fuzz/seeds/TARGET/` holds the seeds,
//! `fuzz/regressions/TARGET/` the minimized crashes (named after the fix).

mod fuzz_targets;

use fuzz_targets::{repo_root, TARGETS};

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for kind in ["seeds", "regressions"] {
        let dir = repo_root().join("fuzz").join(kind).join(target);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_target_has_seeds() {
    for (name, _) in TARGETS {
        assert!(
            !inputs(name).is_empty(),
            "fuzz/seeds/{name}/ is empty: a fuzz target needs a seed corpus"
        );
    }
}

#[test]
fn seeds_and_past_crashes_run_clean() {
    for (name, target) in TARGETS {
        for path in inputs(name) {
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| target(&data));
            assert!(r.is_ok(), "{name} fails on {}", path.display());
        }
    }
}

#[test]
fn lint_fixtures_run_clean_through_the_lint_targets() {
    // The lint targets also take the whole fixture corpus as seeds.
    let dir = repo_root().join("fixtures/lint");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "py") {
            let data = std::fs::read(e.path()).unwrap();
            fuzz_targets::lint_bytes(&data);
            fuzz_targets::lint_grammar(&data);
            n += 1;
        }
    }
    assert!(n > 10, "only {n} lint fixtures");
}

/// `scripts/fuzz.sh` builds the fuzz crate with `--locked`: its lock file
/// must follow the main crate's dependencies (it once missed two, and the
/// script stopped building without any test noticing). Resolution only
/// (`--no-deps` would skip it), no build.
#[test]
fn the_fuzz_crates_lock_file_is_current() {
    let o = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--locked", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(repo_root().join("fuzz/Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(
        o.status.success(),
        "fuzz/Cargo.lock is stale (run `cargo tree --manifest-path fuzz/Cargo.toml`): {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
