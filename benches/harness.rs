//! Harness benchmark, side by side in one run (compare the ratios; absolute
//! times on shared machines are noisy):
//!
//! 1. throughput: `isocheck run --subject state` operations per second
//!    (generation, concurrent driving, judging, reporting) next to the raw
//!    rate of the same in-memory backend executing the same operation mix
//!    sequentially with nothing else around it;
//! 2. time to catch: for every fixture, the cases, wall time and CPU time
//!    (this process's; a container engine's is not counted) until its
//!    expected checklist item fails, and the length of the shrunk trace;
//! 3. scale: `isocheck run --subject state --users N` for 8, 32 and 64
//!    users, wall time and the process's peak RSS.
//!
//!   cargo bench --bench harness            (ISOCHECK_BENCH_CASES=N to change the case count)
//!   cargo bench --bench harness -- catch   (one section: throughput, catch or scale)

use std::sync::Arc;
use std::time::Instant;

use isocheck::backends::memory::{fresh_session, StateSubject};
use isocheck::canary::Minter;
use isocheck::check;
use isocheck::drive::exec;
use isocheck::engine::{run, RunConfig};
use isocheck::gen::{materialize, GenConfig};
use isocheck::registry;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn main() {
    let cases: usize = std::env::var("ISOCHECK_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    // `cargo bench --bench harness -- throughput` runs one section.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |s: &str| only.is_empty() || only.iter().any(|o| s.contains(o.as_str()));
    if wanted("throughput") {
        throughput(cases);
    }
    if wanted("catch") {
        time_to_catch();
    }
    if wanted("scale") {
        users_scale();
    }
}

/// Wall time and peak RSS of a whole run with N users per case, every
/// family, 16 cases each. The peak is the child's VmHWM, read from /proc
/// every few ms until it exits (its mm's own high-water mark: wait4's
/// ru_maxrss would include the RSS of this process, which it was forked
/// from).
fn users_scale() {
    println!("scale (isocheck run --subject state --users N --cases 16, all families)");
    for n in [8, 32, 64] {
        let start = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_isocheck"))
            .args([
                "run",
                "--subject",
                "state",
                "--seed",
                "1",
                "--cases",
                "16",
                "--users",
            ])
            .arg(n.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the isocheck binary");
        let status = format!("/proc/{}/status", child.id());
        let mut peak_kb = 0u64;
        let code = loop {
            if let Ok(text) = std::fs::read_to_string(&status) {
                let hwm = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
                peak_kb = peak_kb.max(hwm.unwrap_or(0));
            }
            if let Some(st) = child.try_wait().expect("wait") {
                break st.code().unwrap_or(-1);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  {n:>3} users  {secs:>8.2} s  peak RSS {:>6.1} MB  exit {code}",
            peak_kb as f64 / 1024.0
        );
    }
}

/// The store families: operations the raw backend can execute directly.
fn throughput_families() -> Vec<&'static dyn check::Family> {
    ["cross-read", "checkpoints", "history"]
        .iter()
        .map(|n| check::family(n).unwrap())
        .collect()
}

fn throughput(cases: usize) {
    // Harness: the whole pipeline.
    let mut cfg = RunConfig::new("state", 1);
    cfg.cases = cases;
    let start = Instant::now();
    let report = run(
        Arc::new(StateSubject::default()),
        &throughput_families(),
        &cfg,
    );
    let harness_secs = start.elapsed().as_secs_f64();
    assert_eq!(
        report.summary.findings, 0,
        "the reference subject must pass"
    );
    let harness_ops = report.summary.operations;

    // Raw: the same kind of plans, executed directly and sequentially.
    let profile = isocheck::profile::Profile::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut minter = Minter::new(1);
    let mut plans = Vec::new();
    for fam in throughput_families() {
        let strategy = fam.strategy(&GenConfig::default());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        for _ in 0..cases {
            plans.push(materialize(
                &strategy.new_tree(&mut runner).unwrap().current(),
                &mut minter,
                &profile,
            ));
        }
    }
    let raw_ops: usize = plans
        .iter()
        .map(|p| p.steps.iter().map(Vec::len).sum::<usize>())
        .sum();
    let start = Instant::now();
    rt.block_on(async {
        for plan in &plans {
            let sessions: Vec<_> = plan.users.iter().map(|_| fresh_session()).collect();
            for (u, op) in plan.steps.iter().flatten() {
                let _ = std::hint::black_box(exec(&sessions[*u], op, &profile).await);
            }
        }
    });
    let raw_secs = start.elapsed().as_secs_f64();

    let h = harness_ops as f64 / harness_secs;
    let r = raw_ops as f64 / raw_secs;
    println!("throughput ({} cases per family, 3 families)", cases);
    println!(
        "  harness on state : {:>10.0} ops/s  ({harness_ops} ops in {harness_secs:.3} s)",
        h
    );
    println!(
        "  raw memory ops   : {:>10.0} ops/s  ({raw_ops} ops in {raw_secs:.3} s)",
        r
    );
    println!("  harness / raw    : {:>10.3}", h / r);
}

/// CPU time (user + system) this process has used so far, from
/// /proc/self/stat: on a loaded machine wall time also counts the waits
/// for a core, CPU time does not.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(14) + ticks(15)) / hz
}

fn time_to_catch() {
    println!("time to catch (default budget of 256 cases per family, seeds 1-5)");
    println!(
        "  {:<34} {:<5} {:>7} {:>9} {:>9} {:>7} {:>6}",
        "fixture", "item", "cases", "seconds", "cpu s", "trace", "rounds"
    );
    let docker = isocheck::backends::docker::engine_problem();
    for entry in registry::subjects()
        .into_iter()
        .filter(|s| s.name.starts_with("fixture:"))
    {
        if let (true, Some(why)) = (isocheck::fixtures::needs_docker(entry.name), &docker) {
            println!("  {:<34} skipped: {why}", entry.name);
            continue;
        }
        let item =
            isocheck::fixtures::expected_item(entry.name).expect("every fixture names its item");
        for seed in 1..=5u64 {
            let family = isocheck::fixtures::expected_family(entry.name)
                .expect("every fixture names its family");
            let fams = vec![check::family(family).expect("a known family")];
            // The run stops after its first finding (`--rounds 1`). A leak
            // that shows on two items (a replayed thread id: checkpoints,
            // C2, and history, C3) may show the other one first; then the
            // run is repeated with one more round, and the time is that of
            // the run that ends with the fixture's item found.
            let (mut secs, mut cpu, mut report, mut rounds) = (0.0, 0.0, None, 0);
            for r in 1..=3 {
                let mut cfg = RunConfig::new(entry.name, seed);
                cfg.max_rounds = r;
                let (start, cpu0) = (Instant::now(), cpu_secs());
                let rep = run((entry.make)(Default::default()), &fams, &cfg);
                (secs, cpu, rounds) = (start.elapsed().as_secs_f64(), cpu_secs() - cpu0, r);
                let done =
                    rep.findings.iter().any(|f| f.checklist == item) || rep.findings.len() < r;
                report = Some(rep);
                if done {
                    break;
                }
            }
            let report = report.expect("at least one run");
            let f = report.findings.iter().find(|f| f.checklist == item);
            let trace = f
                .map(|f| f.trace.len().to_string())
                .unwrap_or_else(|| "MISSED".into());
            let cases = report.scenarios.iter().map(|s| s.cases).sum::<usize>();
            println!(
                "  {:<34} {:<5} {:>7} {:>9.3} {:>9.3} {:>7} {rounds:>6}   seed {seed}",
                entry.name, item, cases, secs, cpu, trace
            );
        }
    }
}
