//! The adapter's operations/second (isocheck driving a subject through the
//! protocol, 8 users pipelined) next to the same Python backend's
//! in-process rate on exactly the same sequence of operations
//! (adapters/python/isocheck_adapter/bench.py), same run, in both pinned
//! environments: the guide's pydantic-deep 0.3.44 (`pattern-a`, a
//! StateBackend per user; target/py-venv) and 0.3.50 (a `StateWorkspace`
//! document per user through the workspace API; target/py-venv-latest).
//! An environment that is missing is reported as skipped.
//!
//! Then agent mode (`--agent`, 0.3.44): the time per operation of the same
//! sequence, one user, each operation one run of the real deep agent,
//! next to what one run costs in pydantic-ai itself
//! (adapters/python/isocheck_adapter/bench_agent.py): a bare `Agent` with
//! one tool, and `create_deep_agent` with agent mode's settings, at one and
//! four tool calls a run.
//!
//! The old in-process loop is printed too: it gave user `u` only the `i`
//! with `i % 16` in `{u, u + 8}`, so its backends held 2 files where the
//! adapter's hold 16, and its ls_info/glob_info (whose cost grows with the
//! files listed) were far cheaper than the ones the adapter runs.

use std::sync::Arc;
use std::time::Instant;

use isocheck::subject::adapter::AdapterFactory;
use isocheck::subject::{Session, SubjectFactory};

const ROUNDS: usize = 2500; // per user; 6 operations each

async fn mix(s: &Session, i: usize) -> usize {
    let b = &s.backend;
    let p = format!("/files/f{}.md", i % 16);
    b.write(&p, &format!("canary-{i} line\nsecond line\n"))
        .await
        .unwrap();
    b.read(&p, 0, 2000).await.unwrap();
    b.exists(&p).await.unwrap();
    b.ls_info("/files").await.unwrap();
    b.edit(&p, "second", "other", false).await.unwrap();
    b.glob_info("*.md", "/files").await.unwrap();
    6
}

/// CPU seconds (user + system) the process `pid` has used (Linux).
fn child_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// CPU seconds (user + system) this process (every thread) has used.
fn own_cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// What a Python bench module printed: lines of `name value`.
struct Printed {
    what: String,
    stdout: String,
    stderr: String,
}

impl Printed {
    fn run(py: &str, args: &[String]) -> Self {
        let out = std::process::Command::new(py)
            .args(args)
            .output()
            .expect("python runs");
        Printed {
            what: args.join(" "),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The value printed after `key` (which ends in a space).
    fn figure(&self, key: &str) -> f64 {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "python {} printed no {key}: {} {}",
                    self.what, self.stdout, self.stderr
                )
            })
    }
}

/// One pinned environment: its venv, the factory the adapter serves and
/// the in-process baseline of the same sequence.
struct Env {
    label: &'static str,
    venv: &'static str,
    script: &'static str,
    factory: &'static str,
    /// Extra argument of `isocheck_adapter.bench` for the baseline.
    mode: &'static str,
    baseline: &'static str,
}

const ENVS: [Env; 2] = [
    Env {
        label: "pydantic-deep 0.3.44 (backend API)",
        venv: "py-venv",
        script: "scripts/python-venv.sh",
        factory: "pattern-a",
        mode: "",
        baseline: "in-process StateBackend",
    },
    Env {
        label: "pydantic-deep 0.3.50 (workspace API)",
        venv: "py-venv-latest",
        script: "scripts/python-venv.sh latest",
        factory: "isocheck_adapter.bench:state_workspace",
        mode: "workspace",
        baseline: "in-process StateWorkspace (WorkspaceOps)",
    },
];

fn main() {
    for env in &ENVS {
        bench(env);
        println!();
    }
    agent_mode();
}

/// Agent-mode rounds of `mix` (6 operations each), one user.
const AGENT_ROUNDS: usize = 40;

fn agent_mode() {
    let root = env!("CARGO_MANIFEST_DIR");
    let py = format!("{root}/target/py-venv/bin/python");
    println!("== agent mode, pydantic-deep 0.3.44 (py-venv)");
    if !std::path::Path::new(&py).exists() {
        println!("skipped: {py} is missing (run scripts/python-venv.sh)");
        return;
    }
    let printed = Printed::run(&py, &["-m".into(), "isocheck_adapter.bench_agent".into()]);
    let figure = |key: &str| printed.figure(key);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let per_op = rt.block_on(async {
        let f = Arc::new(AdapterFactory::new(
            [
                py.as_str(),
                "-m",
                "isocheck_adapter",
                "--factory",
                "pattern-a",
                "--agent",
            ]
            .map(String::from)
            .to_vec(),
        ));
        f.start().await.unwrap();
        let t = f.create().await.unwrap();
        let s = t.open("user0").await.unwrap();
        // A first round builds the agent (0.3-1 s); not timed.
        mix(&s, 0).await;
        let start = Instant::now();
        let mut n = 0;
        for i in 1..=AGENT_ROUNDS {
            n += mix(&s, i).await;
        }
        let per_op = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
        t.shutdown().await.unwrap();
        f.stop().await.unwrap();
        per_op
    });
    println!(
        "agent mode through the adapter: {per_op:.1} ms per operation (goal <= 5 ms; {} operations)",
        AGENT_ROUNDS * 6
    );
    println!(
        "one run of a bare pydantic-ai Agent, one tool call: {:.1} ms (four calls: {:.1} ms)",
        figure("bare_1_ms "),
        figure("bare_4_ms ")
    );
    println!(
        "one run of create_deep_agent with agent mode's settings, one ls: {:.1} ms (four: {:.1} ms)",
        figure("deep_1_ms "),
        figure("deep_4_ms ")
    );
}

fn bench(env: &Env) {
    let root = env!("CARGO_MANIFEST_DIR");
    let py = format!("{root}/target/{}/bin/python", env.venv);
    println!("== {} ({})", env.label, env.venv);
    if !std::path::Path::new(&py).exists() {
        println!("skipped: {py} is missing (run {})", env.script);
        return;
    }
    let mut args = vec![
        "-m".to_string(),
        "isocheck_adapter.bench".into(),
        ROUNDS.to_string(),
    ];
    if !env.mode.is_empty() {
        args.push(env.mode.into());
    }
    let printed = Printed::run(&py, &args);
    let figure = |key: &str| printed.figure(key);
    let inproc = figure("ops_per_sec ");
    let inproc_cpu = figure("cpu_us_per_op ");
    let old_loop = (env.mode.is_empty()).then(|| figure("old_loop_ops_per_sec "));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rate, seq, py_cpu, rust_cpu) = rt.block_on(async {
        let f = Arc::new(AdapterFactory::new(
            [
                py.as_str(),
                "-m",
                "isocheck_adapter",
                "--factory",
                env.factory,
            ]
            .map(String::from)
            .to_vec(),
        ));
        f.start().await.unwrap();
        let t = f.create().await.unwrap();
        let mut sessions = Vec::new();
        for u in 0..8 {
            sessions.push(t.open(&format!("user{u}")).await.unwrap());
        }
        // Pipelined: the 8 users' operations in flight together.
        let pid = f.pid().expect("the adapter runs");
        let (py0, rust0) = (child_cpu(pid), own_cpu());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for s in sessions.clone() {
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                for i in 0..ROUNDS {
                    n += mix(&s, i).await;
                }
                n
            }));
        }
        let mut ops = 0;
        for t in tasks {
            ops += t.await.unwrap();
        }
        let rate = ops as f64 / start.elapsed().as_secs_f64();
        let py_cpu = (child_cpu(pid) - py0) * 1e6 / ops as f64;
        let rust_cpu = (own_cpu() - rust0) * 1e6 / ops as f64;
        // One request at a time (round-trip bound).
        let start = Instant::now();
        let mut n = 0;
        for i in 0..ROUNDS {
            n += mix(&sessions[0], i).await;
        }
        let seq = n as f64 / start.elapsed().as_secs_f64();
        t.shutdown().await.unwrap();
        f.stop().await.unwrap();
        (rate, seq, py_cpu, rust_cpu)
    });
    println!(
        "adapter ({}, 8 users pipelined): {rate:.0} ops/s",
        env.factory
    );
    println!("adapter (one request at a time): {seq:.0} ops/s");
    println!("{} (same sequence): {inproc:.0} ops/s", env.baseline);
    println!("adapter / in-process: {:.2} (goal >= 0.50)", rate / inproc);
    println!(
        "CPU per operation, pipelined: adapter process {py_cpu:.1} us, isocheck {rust_cpu:.1} us; \
         in-process {inproc_cpu:.1} us"
    );
    if let Some(old_loop) = old_loop {
        println!(
            "(the old in-process loop, 2 files per user instead of 16: {old_loop:.0} ops/s; \
             adapter / that: {:.2})",
            rate / old_loop
        );
    }
}
