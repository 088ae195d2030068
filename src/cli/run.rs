//! `isocheck run`: flags to a run configuration, the run, its outputs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use isocheck::check::{self, Family};
use isocheck::engine::{self, RunConfig};
use isocheck::gen::{GenConfig, IdMix};
use isocheck::registry;
use isocheck::report::baseline::Baseline;
use isocheck::report::outputs::Outputs;
use isocheck::report::{render_text_styled, Format, Report, Severity};
use isocheck::subject::SubjectFactory;

use crate::usage_error;

/// Cases per family when neither `--cases` nor a subject's default
/// budget says otherwise.
const DEFAULT_CASES: u32 = 256;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The subject: `state`, `local` or `fixture:NAME` (see `isocheck list`).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "adapter",
        conflicts_with = "adapter"
    )]
    subject: Option<String>,
    /// Test your own app through an adapter process: "CMD ARGS" (see docs/adapter-protocol.md).
    #[arg(long, value_name = "CMD ARGS")]
    adapter: Option<String>,
    /// Generated cases per scenario family, whatever is found (hostile-user-ids
    /// adds N/32, at least 4, for each id class it aims at). Default 256; a
    /// subject slow by nature (docker) runs under a default --budget of its
    /// own unless --cases or --budget is given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    cases: Option<u32>,
    /// Seed of the run; the same seed reproduces the same report (default: random, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Users per case (default: 2 to 8, drawn per case; at most 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=64))]
    users: Option<u32>,
    /// Scenario families to run, comma-separated (default: all; see `isocheck list`).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Framework profile: where memory, plans, evicted results and context
    /// files live (`pydantic-deep`, `deepagents`, or the path of a TOML file).
    #[arg(long, value_name = "NAME|PATH", default_value = "pydantic-deep")]
    suite: String,
    /// The persistence pattern the app should have (default: what the subject declares).
    #[arg(long, value_enum, value_name = "PATTERN")]
    expect_persistence: Option<isocheck::subject::Persistence>,
    /// Plans per slug at which an id collision may reach 50% below which
    /// plan ids count as too short (plan-uniqueness).
    #[arg(long, value_name = "N", default_value_t = 1u64 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    plan_collision_threshold: u64,
    /// Evicted results a user may have left after the eviction scenario's
    /// sessions; more is a finding (default: reported, never a finding).
    #[arg(long, value_name = "N")]
    max_evicted_files: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// PATH: write the --format report there instead of standard output.
    /// FORMAT=PATH: also write that format there (text, json, markdown,
    /// junit, sarif). Repeatable; every path is checked before the run.
    #[arg(long, value_name = "[FORMAT=]PATH")]
    output: Vec<String>,
    /// Accept the findings whose fingerprints this file holds (made by
    /// --write-baseline): they stay in the report, marked baselined, but do
    /// not fail the run.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings to FILE (a baseline).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Run part I of N of every search's cases (1/4, 2/4, ...), so a CI
    /// matrix spreads one run over machines; `isocheck merge` joins the
    /// parts' JSON reports.
    #[arg(long, value_name = "I/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// Save each finding (not baselined) as DIR/FINGERPRINT.json, the run
    /// that replays it; `isocheck replay DIR` says which are fixed.
    #[arg(long, value_name = "DIR")]
    save_failures: Option<PathBuf>,
    /// The file SARIF results point at (say, the code that gives each user
    /// its backend), for code scanning; default: a logical location only.
    #[arg(long, value_name = "PATH")]
    sarif_artifact: Option<String>,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = Severity::Low, value_name = "SEVERITY")]
    fail_on: Severity,
    /// Longest one subject operation may take before the subject counts as hung (seconds).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    op_timeout: u64,
    /// Search rounds per scenario family: after a finding, each further
    /// round looks for a root cause not yet seen (1: stop at the first).
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    rounds: u32,
    /// Search time shared among the families (90s, 10m, 1h 30m): each
    /// searches for its share and is judged on the cases it ran; without
    /// it, a run does all of --cases (and stays fully determined by its seed).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    budget: Option<Duration>,
    /// The run's deadline: nothing starts after it, families not reached
    /// are aborted and the report is marked incomplete (exit 3, or 1 with
    /// findings).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// No progress bar and no summary line on stderr (errors still are).
    /// The bar is drawn only when stderr is a terminal and CI is unset.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// At most this many operations per user and case.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    max_ops: u32,
}

/// `I/N` with 1 <= I <= N, as (I - 1, N).
fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("'{text}' is not I/N with 1 <= I <= N (say 1/2)");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i - 1, n))
}

/// A duration: `90` (seconds), `90s`, `2m`, `1h 30m`; not zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = match text.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text.trim())
            .map_err(|e| format!("{e} (say 90, 90s, 2m or 1h 30m)"))?,
    };
    if d.is_zero() {
        return Err("a duration must be more than zero".into());
    }
    Ok(d)
}

pub(crate) fn select_families(names: &[String]) -> Result<Vec<&'static dyn Family>, String> {
    if names.is_empty() {
        return Ok(check::families());
    }
    names
        .iter()
        .map(|n| {
            check::family(n.trim()).ok_or_else(|| {
                let all: Vec<_> = check::families().iter().map(|f| f.name()).collect();
                format!("unknown scenario '{n}' (accepted: {})", all.join(", "))
            })
        })
        .collect()
}

fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ (std::process::id() as u64).rotate_left(32)
}

/// What a run needs: the subject, the families, the configuration, and
/// the words that reproduce the run (for saved failures).
pub(crate) struct Prepared {
    pub factory: Arc<dyn SubjectFactory>,
    pub families: Vec<&'static dyn Family>,
    pub cfg: RunConfig,
    pub words: Vec<String>,
}

/// Turns the flags into a run; an error is a usage error.
pub(crate) fn prepare(args: &RunArgs) -> Result<Prepared, String> {
    let profile = Arc::new(isocheck::profile::Profile::load(&args.suite)?);
    let (factory, subject_name) = match (&args.subject, &args.adapter) {
        (_, Some(cmd)) => (
            isocheck::subject::adapter::adapter_factory(cmd)?,
            format!("adapter:{cmd}"),
        ),
        (Some(name), None) => (registry::subject(name, profile.clone())?, name.clone()),
        (None, None) => return Err("one of --subject or --adapter is required".into()),
    };
    let families = select_families(&args.scenarios)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut cfg = RunConfig::new(&subject_name, seed);
    cfg.cases = args.cases.unwrap_or(DEFAULT_CASES) as usize;
    cfg.gen = GenConfig {
        users: args.users.map(|u| u as usize),
        max_ops: args.max_ops as usize,
        ids: IdMix::Mixed,
        ..GenConfig::default()
    };
    cfg.drive.op_timeout = Duration::from_secs(args.op_timeout);
    cfg.scenarios = args.scenarios.clone();
    cfg.max_rounds = args.rounds as usize;
    cfg.budget = args.budget;
    if let (None, None, Some(b)) = (args.budget, args.cases, factory.default_budget()) {
        // A slow subject's default run ends in bounded time; the report's
        // families say the budget ended their searches, and how many cases ran.
        cfg.budget = Some(b);
        if !args.quiet {
            eprintln!(
                "isocheck: {subject_name} is slow by nature: a budget of {} applies \
                 (--cases N or --budget D to choose)",
                humantime::format_duration(b)
            );
        }
    }
    cfg.partition = args.partition;
    if let Some((i, n)) = args.partition {
        cfg.replay_args.push(format!("--partition {}/{n}", i + 1));
    }
    cfg.timeout = args.timeout;
    if args.rounds != 32 {
        cfg.replay_args.push(format!("--rounds {}", args.rounds));
    }
    cfg.drive.profile = profile;
    cfg.options.expect_persistence = args.expect_persistence;
    cfg.options.plan_collision_threshold = args.plan_collision_threshold as f64;
    cfg.options.max_evicted_files = args.max_evicted_files;
    if args.suite != "pydantic-deep" {
        cfg.replay_args.push(format!("--suite {}", args.suite));
    }
    if let Some(p) = args.expect_persistence {
        cfg.replay_args.push(format!(
            "--expect-persistence {}",
            if p == isocheck::subject::Persistence::Ephemeral {
                "ephemeral"
            } else {
                "persistent"
            }
        ));
    }
    if args.plan_collision_threshold != 1 << 30 {
        cfg.replay_args.push(format!(
            "--plan-collision-threshold {}",
            args.plan_collision_threshold
        ));
    }
    if let Some(n) = args.max_evicted_files {
        cfg.replay_args.push(format!("--max-evicted-files {n}"));
    }
    if let Some(u) = args.users {
        cfg.replay_args.push(format!("--users {u}"));
    }
    if args.max_ops != 8 {
        cfg.replay_args.push(format!("--max-ops {}", args.max_ops));
    }
    let mut words: Vec<String> = match (&args.subject, &args.adapter) {
        (_, Some(cmd)) => vec!["--adapter".into(), cmd.clone()],
        (Some(name), _) => vec!["--subject".into(), name.clone()],
        (None, None) => Vec::new(),
    };
    words.extend([
        "--seed".into(),
        seed.to_string(),
        "--cases".into(),
        cfg.cases.to_string(),
    ]);
    for w in &cfg.replay_args {
        let (flag, value) = w.split_once(' ').unwrap_or((w, ""));
        words.push(flag.to_string());
        words.push(value.to_string());
    }
    if args.op_timeout != 30 {
        words.extend(["--op-timeout".into(), args.op_timeout.to_string()]);
    }
    Ok(Prepared {
        factory,
        families,
        cfg,
        words,
    })
}

pub(crate) fn run(args: RunArgs) -> u8 {
    // Every output path and the baseline are checked before the run.
    let outputs = match Outputs::parse(&args.output, args.format)
        .and_then(|o| o.check(args.write_baseline.as_deref()).map(|()| o))
    {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let baseline = match args.baseline.as_deref().map(Baseline::load).transpose() {
        Ok(b) => b,
        Err(e) => return usage_error(e),
    };
    if let Some(dir) = &args.save_failures {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return usage_error(format!("cannot create {}: {e}", dir.display()));
        }
    }
    let Prepared {
        factory,
        families,
        cfg,
        words,
    } = match prepare(&args) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let mut cfg = cfg;
    if super::progress::wanted(args.quiet) {
        cfg.progress =
            engine::progress::Watcher(std::sync::Arc::new(super::progress::Bar::new(args.budget)));
    }
    let mut report = engine::run(factory, &families, &cfg);
    if report.start_failed {
        // Nothing ran: one line, no report of items nobody could test.
        if let Some(why) = &report.subject_failure {
            eprintln!("isocheck: {}", why.lines().next().unwrap_or(why));
        }
        return report.exit_code(args.fail_on);
    }
    if let (Some(b), Some(path)) = (&baseline, &args.baseline) {
        b.apply(&mut report, &path.display().to_string());
    }
    if let Err(e) = write_outputs(&report, &args, &outputs) {
        return usage_error(e);
    }
    if let Some(dir) = &args.save_failures {
        match isocheck::report::failures::save(&report, dir, &words) {
            Ok(files) if !files.is_empty() => eprintln!(
                "isocheck: {} failures saved in {dir} (isocheck replay {dir} re-runs them)",
                files.len(),
                dir = dir.display()
            ),
            Ok(_) => {}
            Err(e) => return usage_error(e),
        }
    }
    if let Some(why) = &report.incomplete {
        eprintln!("isocheck: {why}");
        if isocheck::interrupt::requested() {
            return isocheck::interrupt::EXIT_INTERRUPTED;
        }
    }
    if report.config_error {
        // The report says it too; this is the one line a script sees.
        if let Some(why) = &report.subject_failure {
            eprintln!("isocheck: {}", why.lines().next().unwrap_or(why));
        }
    }
    report.exit_code(args.fail_on)
}

/// Writes the reports and the baseline, prints the `--format` report on
/// standard output unless a plain `--output` took it, and says on stderr
/// what went where.
fn write_outputs(report: &Report, args: &RunArgs, outputs: &Outputs) -> Result<(), String> {
    let artifact = args.sarif_artifact.as_deref();
    let mut written = Vec::new();
    for (format, path) in &outputs.files {
        std::fs::write(path, report.render(*format, artifact))
            .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))?;
        written.push(path.display().to_string());
    }
    if let Some(path) = &args.write_baseline {
        std::fs::write(path, Baseline::of(report).to_json())
            .map_err(|e| format!("cannot write the baseline to {}: {e}", path.display()))?;
    }
    if outputs.stdout {
        let text = match args.format {
            Format::Text => render_text_styled(report),
            f => report.render(f, artifact),
        };
        print_stdout(&text);
    }
    let s = &report.summary;
    let baselined = if s.baselined > 0 {
        format!(" ({} baselined)", s.baselined)
    } else {
        String::new()
    };
    let mut what = match written.len() {
        0 => Vec::new(),
        1 => vec![format!("report written to {}", written[0])],
        _ => vec![format!("reports written to {}", written.join(", "))],
    };
    if let Some(path) = &args.write_baseline {
        what.push(format!("baseline written to {}", path.display()));
    }
    if !what.is_empty() && !args.quiet {
        eprintln!(
            "isocheck: {} findings{baselined}, {} (seed {})",
            s.findings,
            what.join(", "),
            report.seed
        );
    }
    Ok(())
}

/// Prints a report on standard output, through `anstream`: ANSI colours
/// reach a terminal only, and never under `NO_COLOR`; a closed pipe
/// (`| head`) is not worth a panic.
pub(crate) fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
