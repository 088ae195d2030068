//! Lint benchmark: isocheck vs ruff vs bandit on the pinned real-world corpus,
//! in the same run. Needs network access to PyPI (corpus wheels, ruff, bandit).
//!
//!   cargo bench --bench lint
//!
//! Builds the corpus with `../shared/bench/lint-corpus.sh target/lint-corpus`,
//! the venv with `scripts/bench-venv.sh` (pinned in scripts/bench-requirements.txt),
//! then times, after one warm-up run each, the best of `RUNS` runs of:
//!   isocheck lint --format json target/lint-corpus      (release binary)
//!   ruff check --no-cache --select E9 target/lint-corpus
//!   bandit -r -q target/lint-corpus                      (one run: it is slow)
//! and reports any file on which isocheck panicked (an "internal error" ISO000).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn run_checked(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Wall time of one run; the exit status is not judged (linters exit 1 on findings).
fn time_once(program: &Path, args: &[&str], root: &Path) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let out = Command::new(program)
        .args(args)
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let elapsed = start.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{} {args:?} exited with {:?}",
        program.display(),
        out.status
    );
    (elapsed, out.stdout)
}

fn best_of(n: usize, program: &Path, args: &[&str], root: &Path) -> Duration {
    time_once(program, args, root); // warm-up: file cache, page cache
    (0..n)
        .map(|_| time_once(program, args, root).0)
        .min()
        .unwrap_or_default()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus_script = root.join("../shared/bench/lint-corpus.sh");
    let info = run_checked(
        Command::new("bash")
            .arg(&corpus_script)
            .arg("target/lint-corpus")
            .current_dir(&root),
    );
    let size = info.lines().last().unwrap_or("").to_string();
    let venv = run_checked(
        Command::new("bash")
            .arg("scripts/bench-venv.sh")
            .current_dir(&root),
    );
    let venv = root.join(venv.trim());
    let ruff = venv.join("bin/ruff");
    let bandit = venv.join("bin/bandit");
    let isocheck = PathBuf::from(env!("CARGO_BIN_EXE_isocheck"));
    let versions = |p: &Path| {
        run_checked(Command::new(p).arg("--version"))
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };

    println!("corpus: target/lint-corpus ({size})");
    println!(
        "tools:  {} | {} | isocheck {}",
        versions(&ruff),
        versions(&bandit),
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "cores:  {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Panics: every file that isocheck could not check because of an internal error.
    let (_, report) = time_once(
        &isocheck,
        &["lint", "--format", "json", "target/lint-corpus"],
        &root,
    );
    let report: serde_json::Value = serde_json::from_slice(&report).expect("isocheck JSON report");
    let diagnostics = report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let panics: Vec<&serde_json::Value> = diagnostics
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .is_some_and(|m| m.contains("internal error"))
        })
        .collect();
    let iso000 = diagnostics.iter().filter(|d| d["rule"] == "ISO000").count();
    println!(
        "isocheck: {} diagnostics, {iso000} ISO000, {} panics",
        diagnostics.len(),
        panics.len()
    );
    for p in &panics {
        println!("  PANIC {}: {}", p["path"], p["message"]);
    }

    let iso = best_of(
        RUNS,
        &isocheck,
        &["lint", "--format", "json", "target/lint-corpus"],
        &root,
    );
    let ruff_t = best_of(
        RUNS,
        &ruff,
        &[
            "check",
            "--no-cache",
            "--select",
            "E9",
            "target/lint-corpus",
        ],
        &root,
    );
    let bandit_t = time_once(&bandit, &["-r", "-q", "target/lint-corpus"], &root).0;

    println!("wall time (best of {RUNS} after a warm-up; bandit: one run):");
    println!(
        "  isocheck lint                      {:>9.3} s",
        iso.as_secs_f64()
    );
    println!(
        "  ruff check --no-cache --select E9  {:>9.3} s",
        ruff_t.as_secs_f64()
    );
    println!(
        "  bandit -r -q                       {:>9.3} s",
        bandit_t.as_secs_f64()
    );
    let ratio = iso.as_secs_f64() / ruff_t.as_secs_f64();
    println!("  ratio isocheck/ruff                {ratio:>9.2}x  (goal: <= 1.50x)");
    println!(
        "  ratio bandit/isocheck              {:>9.1}x",
        bandit_t.as_secs_f64() / iso.as_secs_f64()
    );
    if !panics.is_empty() {
        std::process::exit(1);
    }
}
