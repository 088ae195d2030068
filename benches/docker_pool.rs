//! The `docker` subject with its warm container pool and without, side by
//! side in one run: wall time per case, and what the pool did. Needs the
//! private engine (`eval "$(scripts/docker-engine.sh start)"`); prints why
//! not and exits 0 without one.
//!
//!   cargo bench --bench docker_pool     (ISOCHECK_BENCH_CASES=N, default 16)

use std::sync::Arc;
use std::time::Instant;

use isocheck::backends::docker::{DockerSubject, Layout};
use isocheck::check;
use isocheck::engine::{run, RunConfig};

fn main() {
    if let Some(why) = isocheck::backends::docker::engine_problem() {
        println!("docker pool bench skipped: {why}");
        return;
    }
    let cases: usize = std::env::var("ISOCHECK_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let families: Vec<&'static dyn check::Family> = ["cross-read", "execute-escape"]
        .iter()
        .map(|n| check::family(n).unwrap())
        .collect();
    println!("docker subject, {cases} cases per family, cross-read and execute-escape, seed 1");
    for warm in [true, false, true, false] {
        let subject = DockerSubject::new(Arc::default(), Layout::PerUser, "docker");
        let subject = Arc::new(if warm { subject } else { subject.cold() });
        let mut cfg = RunConfig::new("docker", 1);
        cfg.cases = cases;
        let start = Instant::now();
        let report = run(subject.clone(), &families, &cfg);
        let secs = start.elapsed().as_secs_f64();
        assert!(
            report.subject_failure.is_none(),
            "{:?}",
            report.subject_failure
        );
        assert_eq!(report.summary.findings, 0, "the docker subject must pass");
        let n = report.summary.cases + report.summary.shrink_runs;
        let pool = match subject.pool_stats() {
            Some(s) => format!(
                "{} created, {} reused, {} discarded",
                s.created, s.reused, s.discarded
            ),
            None => "no pool".into(),
        };
        println!(
            "  {:<5} {n:>4} cases {secs:>8.2} s  {:>7.3} s/case  ({pool})",
            if warm { "warm" } else { "cold" },
            secs / n as f64,
        );
    }
}
