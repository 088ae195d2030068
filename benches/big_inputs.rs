//! Time and peak memory of the big-input scenarios (tests/big/mod.rs) per
//! subject: `cargo bench --bench big_inputs [-- SUBJECT...]`.
//!
//! Each (subject, scenario) runs three times, each in a fresh process (the
//! bench re-executes itself), so the peak resident memory is that of the
//! scenario alone: the kernel's ru_maxrss of the child. Printed: the median
//! time of the scenario itself (no process start-up) and the largest peak
//! RSS, next to the baseline of a process that only opens a session.

#[path = "../tests/big/mod.rs"]
mod big;

use std::time::Instant;

const RUNS: usize = 3;

fn one(subject: &str, scenario: &str) {
    let f = big::factory(subject);
    let rt = big::runtime();
    let start = Instant::now();
    let r = if scenario == "baseline" {
        rt.block_on(big::with_tenancy(&f, |t| async move {
            let _ = t.open("alice").await;
            Ok(t)
        }))
    } else {
        let (_, s) = big::scenarios()
            .into_iter()
            .find(|(n, _)| *n == scenario)
            .expect("a scenario");
        rt.block_on(big::with_tenancy(&f, s))
    };
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = r {
        eprintln!("{subject} {scenario}: {e}");
        std::process::exit(1);
    }
    println!("{secs}");
}

/// Runs one scenario in a child; returns (seconds, peak RSS in MiB).
fn measure(subject: &str, scenario: &str) -> Option<(f64, f64)> {
    let child = std::process::Command::new(std::env::current_exe().ok()?)
        .args(["--one", subject, scenario])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut out, &mut text).ok()?;
    let mut status = 0;
    // SAFETY: waiting for our own child with a zeroed rusage to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return None;
    }
    Some((text.trim().parse().ok()?, usage.ru_maxrss as f64 / 1024.0))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--one") {
        one(&args[1], &args[2]);
        return;
    }
    let picked: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let subjects: Vec<&str> = ["state", "local", "adapter"]
        .into_iter()
        .filter(|s| picked.is_empty() || picked.contains(s))
        .collect();
    let mut names = vec!["baseline"];
    names.extend(big::scenarios().iter().map(|(n, _)| *n));
    println!(
        "{:<8} {:<14} {:>12} {:>14}",
        "subject", "scenario", "median s", "peak RSS MiB"
    );
    for subject in subjects {
        for name in &names {
            let mut times = Vec::new();
            let mut peak: f64 = 0.0;
            for _ in 0..RUNS {
                match measure(subject, name) {
                    Some((t, rss)) => {
                        times.push(t);
                        peak = peak.max(rss);
                    }
                    None => break,
                }
            }
            if times.len() < RUNS {
                println!("{subject:<8} {name:<14} {:>12} {:>14}", "failed", "-");
                continue;
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{subject:<8} {name:<14} {:>12.3} {:>14.1}",
                times[RUNS / 2],
                peak
            );
        }
    }
}
