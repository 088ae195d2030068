//! `isocheck lint`: static checks of Python agent apps against the checklist.
//! (placeholder: the lint implementation lands in its own change)

use clap::Args;

/// Arguments of `isocheck lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or directories to check (default: the current directory).
    pub paths: Vec<std::path::PathBuf>,
}

/// Runs the linter and returns the process exit code (0 clean, 1 findings, 2 usage error).
pub fn run(_args: &LintArgs) -> i32 {
    eprintln!("error: isocheck lint is not implemented yet");
    2
}

/// The documentation of a rule, by code (`ISO106`) or name (`user-id-in-path`).
pub fn explain(_rule: &str) -> Option<String> {
    None
}

/// One line per rule for `isocheck list`: (code, name, checklist item, summary).
pub fn rule_index() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    Vec::new()
}
