use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "isocheck",
    version,
    about = "Proves or disproves that a multi-user agent app keeps each user's state to that user"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Statically check Python application code against the multi-user checklist.
    Lint(isocheck::lint::LintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Lint(args) => isocheck::lint::run(&args),
    };
    ExitCode::from(code as u8)
}
