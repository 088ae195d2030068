use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use isocheck::check;
use isocheck::config::{self, Config};
use isocheck::registry;

mod cli;

/// The lint's parser and models allocate many small nodes from two
/// threads; glibc's malloc spent about a third of `isocheck lint`'s time on
/// the pinned corpus in allocation, page faults and lock contention, and
/// mimalloc cuts the run by about 40% (`cargo bench --bench lint`). ruff
/// ships a replacement allocator for the same reason (jemalloc on Linux).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Run(Box<cli::run::RunArgs>),
    /// Re-run saved failures (run --save-failures DIR) and say, for each,
    /// FIXED or STILL FAILING.
    Replay(cli::replay::ReplayArgs),
    /// Merge the JSON reports of `run --partition 1/N` ... `N/N` into one.
    Merge(cli::merge::MergeArgs),
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

fn usage_error(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    USAGE
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
            cli::run::run(*args)
        }
        Command::Merge(args) => cli::merge::merge(args),
        Command::Replay(args) => {
            isocheck::interrupt::install();
            cli::replay::replay(args)
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
