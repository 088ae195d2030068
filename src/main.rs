use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use isocheck::check::{self, Family};
use isocheck::config::{self, Config};
use isocheck::engine::{self, RunConfig};
use isocheck::gen::{GenConfig, IdMix};
use isocheck::registry;
use isocheck::report::baseline::Baseline;
use isocheck::report::outputs::Outputs;
use isocheck::report::{Format, Report, Severity};

/// Exit code for usage and configuration errors.
const USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "isocheck",
    version,
    about = "Proves or disproves that a multi-user agent app keeps each user's state to that user",
    after_help = "Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or configuration error, 3 the subject failed (isolation could not be judged), 130 interrupted (a partial report marked incomplete is still written)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Defaults for `run` and `lint` from FILE: an isocheck.toml, or a
    /// pyproject.toml with [tool.isocheck] (default: either one in the
    /// current directory; flags given here override it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read no configuration file.
    #[arg(long, global = true, conflicts_with = "config")]
    no_config: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive property-based multi-user scenarios against a subject and report every leak.
    Run(RunArgs),
    /// List the subjects, scenario families and lint rules.
    List,
    /// Print the documentation of a scenario family or lint rule.
    Explain {
        /// A family name (`cross-read`) or a lint rule (`ISO106`, `user-id-in-path`).
        name: String,
    },
    /// Statically check Python application code against the multi-user checklist.
    Lint(isocheck::lint::LintArgs),
    /// Print a shell completion script (`isocheck completions bash > /etc/bash_completion.d/isocheck`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
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
    /// adds N/32, at least 4, for each id class it aims at).
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    cases: u32,
    /// Seed of the run; the same seed reproduces the same report (default: random, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Users per case (default: 2 to 8, drawn per case).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=8))]
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
    /// At most this many operations per user and case.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    max_ops: u32,
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

fn usage_error(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    USAGE
}

fn select_families(names: &[String]) -> Result<Vec<&'static dyn Family>, String> {
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

fn run(args: RunArgs) -> u8 {
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
    let profile = match isocheck::profile::Profile::load(&args.suite) {
        Ok(p) => std::sync::Arc::new(p),
        Err(e) => return usage_error(e),
    };
    let (factory, subject_name) = match (&args.subject, &args.adapter) {
        (_, Some(cmd)) => match isocheck::subject::adapter::adapter_factory(cmd) {
            Ok(f) => (f, format!("adapter:{cmd}")),
            Err(e) => return usage_error(e),
        },
        (Some(name), None) => match registry::subject(name, profile.clone()) {
            Ok(f) => (f, name.clone()),
            Err(e) => return usage_error(e),
        },
        (None, None) => return usage_error("one of --subject or --adapter is required"),
    };
    let families = match select_families(&args.scenarios) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let seed = args.seed.unwrap_or_else(random_seed);
    let mut cfg = RunConfig::new(&subject_name, seed);
    cfg.cases = args.cases as usize;
    cfg.gen = GenConfig {
        users: args.users.map(|u| u as usize),
        max_ops: args.max_ops as usize,
        ids: IdMix::Mixed,
    };
    cfg.drive.op_timeout = Duration::from_secs(args.op_timeout);
    cfg.scenarios = args.scenarios.clone();
    cfg.max_rounds = args.rounds as usize;
    cfg.budget = args.budget;
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
        print!("{}", report.render(args.format, artifact));
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
    if !what.is_empty() {
        eprintln!(
            "isocheck: {} findings{baselined}, {} (seed {})",
            s.findings,
            what.join(", "),
            report.seed
        );
    }
    Ok(())
}

fn list() -> u8 {
    println!("Subjects (--subject)");
    for s in registry::subjects() {
        println!("  {:<28} {}", s.name, s.description);
    }
    println!();
    println!("Scenario families (--scenarios)");
    for f in check::families() {
        let first = f.doc().lines().next().unwrap_or("");
        println!(
            "  {:<28} {}",
            f.name(),
            first
                .split_once(" (")
                .map(|(_, r)| format!("({r}"))
                .unwrap_or_default()
        );
    }
    let rules = isocheck::lint::rule_index();
    if !rules.is_empty() {
        println!();
        println!("Lint rules (isocheck lint)");
        for (code, name, item, summary) in rules {
            println!("  {code} {name:<30} {item}  {summary}");
        }
    }
    0
}

fn explain(name: &str) -> u8 {
    if let Some(f) = check::family(name) {
        println!("{}", f.doc());
        return 0;
    }
    if let Some(doc) = isocheck::lint::explain(name) {
        println!("{doc}");
        return 0;
    }
    let fams: Vec<_> = check::families().iter().map(|f| f.name()).collect();
    let rules: Vec<_> = isocheck::lint::rule_index()
        .into_iter()
        .map(|r| r.0)
        .collect();
    usage_error(format!(
        "nothing is called '{name}' (accepted: the families {} or a lint rule code{})",
        fams.join(", "),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" such as {}", rules.join(", "))
        }
    ))
}

fn main() -> ExitCode {
    // Like every Unix filter: `isocheck list | head` ends quietly instead of
    // panicking on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread
    // starts has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let argv: Vec<OsString> = std::env::args_os().collect();
    let argv = match with_config(argv) {
        Ok(a) => a,
        Err(e) => return ExitCode::from(usage_error(e)),
    };
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => return clap_failure(e),
    };
    let code = match cli.command {
        Command::Run(args) => {
            isocheck::interrupt::install();
            run(args)
        }
        Command::List => list(),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "isocheck",
                &mut std::io::stdout(),
            );
            0
        }
        Command::Explain { name } => explain(&name),
        Command::Lint(args) => {
            isocheck::interrupt::install();
            isocheck::lint::run(&args) as u8
        }
    };
    ExitCode::from(code)
}

/// One line for a command-line error (help and version print in full).
fn clap_failure(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind::*;
    match e.kind() {
        DisplayHelp | DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => ExitCode::from(usage_error(format!(
            "{} (see 'isocheck --help')",
            clap_message(&e)
        ))),
    }
}

/// What was wrong and what is accepted, on one line.
fn clap_message(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let accepted = match (
        e.get(ContextKind::ValidValue),
        e.get(ContextKind::InvalidArg),
    ) {
        (Some(ContextValue::Strings(v)), _) => format!(" (accepted: {})", v.join(", ")),
        (None, Some(ContextValue::Strings(v)))
            if e.kind() == ErrorKind::MissingRequiredArgument =>
        {
            format!(" {}", v.join(", "))
        }
        _ => String::new(),
    };
    format!("{}{accepted}", first.trim_end_matches(':'))
}

/// Puts the configuration file's flags for `run` or `lint` (see
/// [`isocheck::config`]) on the command line, right after the subcommand,
/// leaving out those the command line sets itself. Each is checked alone
/// first, so that a bad value is reported with the file and table it came
/// from.
fn with_config(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    // A first look, forgiving: `run` may need the file's `subject`.
    let Ok(pre) = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(&argv)
    else {
        return Ok(argv);
    };
    let Some((name, given)) = pre.subcommand() else {
        return Ok(argv);
    };
    if !config::TABLES.contains(&name)
        || given.try_get_one::<bool>("no_config").ok().flatten() == Some(&true)
    {
        return Ok(argv);
    }
    let named = given.try_get_one::<PathBuf>("config").ok().flatten();
    let config = match named {
        Some(path) => Config::load(path)?,
        None => match Config::discover(Path::new(""))? {
            Some(c) => c,
            None => return Ok(argv),
        },
    };
    // Every table is checked, not only the one for this command: a typo in
    // [lint] should not wait for the next lint to show.
    let command = Cli::command();
    let mut words = Vec::new();
    for table in config.tables() {
        let Some(sub) = command.find_subcommand(table) else {
            continue;
        };
        // All of the file's values are checked, those the command line
        // overrides too.
        for word in &config.args_for(table, sub, None)? {
            let alone = [argv[0].clone(), OsString::from(table), word.clone()];
            match Cli::command().try_get_matches_from(alone) {
                Ok(_) => {}
                Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {}
                Err(e) => return Err(format!("{}: {}", config.place(table), clap_message(&e))),
            }
        }
        if table == name {
            words = config.args_for(table, sub, Some(given))?;
        }
    }
    let at = argv.iter().position(|a| a == name).unwrap_or(1);
    let mut merged = argv[..=at].to_vec();
    merged.extend(words);
    merged.extend_from_slice(&argv[at + 1..]);
    Ok(merged)
}
