//! `isocheck merge PART.json...`: the JSON reports of `run --partition
//! 1/n` ... `n/n` as one report (see `isocheck::engine::merge`), in any
//! format, with the exit code a whole run would have had.

use std::path::PathBuf;

use clap::Args;

use isocheck::report::outputs::Outputs;
use isocheck::report::{Format, Report, Severity};

use crate::usage_error;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The parts' JSON reports (run --partition I/N --format json).
    #[arg(required = true, value_name = "PART.json")]
    parts: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// PATH or FORMAT=PATH, as for `run` (repeatable).
    #[arg(long, value_name = "[FORMAT=]PATH")]
    output: Vec<String>,
    /// The file SARIF results point at (as for `run`).
    #[arg(long, value_name = "PATH")]
    sarif_artifact: Option<String>,
    /// Lowest severity that makes the merged run fail (exit 1).
    #[arg(long, value_enum, default_value_t = Severity::Low, value_name = "SEVERITY")]
    fail_on: Severity,
}

pub(crate) fn merge(args: MergeArgs) -> u8 {
    let outputs =
        match Outputs::parse(&args.output, args.format).and_then(|o| o.check(None).map(|()| o)) {
            Ok(o) => o,
            Err(e) => return usage_error(e),
        };
    let mut parts = Vec::new();
    for path in &args.parts {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage_error(format!("cannot read {}: {e}", path.display())),
        };
        match serde_json::from_str::<Report>(&text) {
            Ok(r) if r.schema == isocheck::report::SCHEMA => parts.push(r),
            Ok(r) => {
                return usage_error(format!(
                    "{}: schema {} (this isocheck reads {})",
                    path.display(),
                    r.schema,
                    isocheck::report::SCHEMA
                ))
            }
            Err(e) => {
                return usage_error(format!(
                    "{} is not an isocheck JSON report: {e}",
                    path.display()
                ))
            }
        }
    }
    let report = match isocheck::engine::merge(parts) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let artifact = args.sarif_artifact.as_deref();
    for (format, path) in &outputs.files {
        if let Err(e) = std::fs::write(path, report.render(*format, artifact)) {
            return usage_error(format!(
                "cannot write the report to {}: {e}",
                path.display()
            ));
        }
    }
    if outputs.stdout {
        let text = match args.format {
            Format::Text => isocheck::report::render_text_styled(&report),
            f => report.render(f, artifact),
        };
        super::run::print_stdout(&text);
    }
    if let Some(why) = &report.incomplete {
        eprintln!("isocheck: {why}");
    }
    report.exit_code(args.fail_on)
}
