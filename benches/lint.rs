//! Lint benchmark: isocheck vs ruff vs bandit on the pinned real-world corpus,
//! in the same run. Needs network access to PyPI (corpus wheels, ruff, bandit).
//!
//!   cargo bench --bench lint
//!
//! Builds the corpus with `../shared/bench/lint-corpus.sh target/lint-corpus`,
//! the venv with `scripts/bench-venv.sh` (pinned in scripts/bench-requirements.txt),
//! then, after one warm-up run each, times `PAIRS` interleaved pairs of:
//!   isocheck lint --format json target/lint-corpus      (release binary)
//!   ruff check --no-cache --select E9 target/lint-corpus
//! and one run of `bandit -r -q target/lint-corpus` (it is slow). It prints
//! each tool's median and spread and the median of the per-pair ratios: the
//! machines are shared and noisy, and a pair's two runs see the same load,
//! so that ratio is the figure to quote (a best-of-N takes each tool's
//! luckiest run, not the same moment). It also reports any file on which
//! isocheck panicked (an "internal error" ISO000).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PAIRS: usize = 15;

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

/// Median of `xs` (sorted in place); 0 for none.
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Wall times in seconds of `PAIRS` interleaved runs of `a` and `b`, after a
/// warm-up run of each (file cache, page cache); the order within a pair
/// alternates so neither tool always runs right after the other.
fn paired(a: (&Path, &[&str]), b: (&Path, &[&str]), root: &Path) -> (Vec<f64>, Vec<f64>) {
    time_once(a.0, a.1, root);
    time_once(b.0, b.1, root);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for i in 0..PAIRS {
        let run = |(p, args): (&Path, &[&str])| time_once(p, args, root).0.as_secs_f64();
        if i % 2 == 0 {
            ta.push(run(a));
            tb.push(run(b));
        } else {
            tb.push(run(b));
            ta.push(run(a));
        }
    }
    (ta, tb)
}

/// "median (min-max)" of times in seconds.
fn spread(xs: &[f64]) -> String {
    let mut v = xs.to_vec();
    let m = median(&mut v);
    format!(
        "{m:>7.3} s  ({:.3}-{:.3})",
        v.first().copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0)
    )
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

    let iso_args = ["lint", "--format", "json", "target/lint-corpus"];
    let ruff_args = [
        "check",
        "--no-cache",
        "--select",
        "E9",
        "target/lint-corpus",
    ];
    let (iso, ruff_t) = paired(
        (isocheck.as_path(), &iso_args),
        (ruff.as_path(), &ruff_args),
        &root,
    );
    let bandit_t = time_once(&bandit, &["-r", "-q", "target/lint-corpus"], &root)
        .0
        .as_secs_f64();
    let mut ratios: Vec<f64> = iso.iter().zip(&ruff_t).map(|(a, b)| a / b).collect();
    let ratio = median(&mut ratios);
    let iso_median = median(&mut iso.clone());

    println!(
        "wall time ({PAIRS} interleaved pairs after a warm-up; median (min-max); bandit: one run):"
    );
    println!("  isocheck lint                      {}", spread(&iso));
    println!("  ruff check --no-cache --select E9  {}", spread(&ruff_t));
    println!("  bandit -r -q                       {bandit_t:>7.3} s");
    println!(
        "  ratio isocheck/ruff, median of pairs {ratio:>5.2}x  ({:.2}-{:.2}; goal: <= 1.50x)",
        ratios.first().copied().unwrap_or(0.0),
        ratios.last().copied().unwrap_or(0.0)
    );
    println!(
        "  ratio bandit/isocheck (medians)    {:>7.1}x",
        bandit_t / iso_median
    );
    if !panics.is_empty() {
        std::process::exit(1);
    }
}
