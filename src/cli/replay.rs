//! `isocheck replay [PATH...]`: re-runs saved failures (see
//! `isocheck::report::failures`) and says, per failure, FIXED (its family
//! ran, judged, and the finding's fingerprint is gone), STILL FAILING (the
//! same fingerprint again), NOT JUDGED (the family could not judge, so
//! nothing is known) or ERROR (the run could not be made).

use std::path::PathBuf;

use clap::{Args, Parser};

use isocheck::engine;
use isocheck::report::failures::{self, SavedFailure};

use super::run::{prepare, Prepared};
use crate::{usage_error, Cli, Command};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Saved failures: files, or directories of them (default:
    /// .isocheck/failures).
    paths: Vec<PathBuf>,
    /// Replay against this subject instead of the saved one.
    #[arg(long, value_name = "NAME", conflicts_with = "adapter")]
    subject: Option<String>,
    /// Replay through this adapter instead of the saved subject.
    #[arg(long, value_name = "CMD ARGS")]
    adapter: Option<String>,
}

/// The verdict on one saved failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Fixed,
    NotJudged,
    Error,
    StillFailing,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Fixed => "FIXED",
            Verdict::NotJudged => "NOT JUDGED",
            Verdict::Error => "ERROR",
            Verdict::StillFailing => "STILL FAILING",
        }
    }
}

pub(crate) fn replay(args: ReplayArgs) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".isocheck/failures")]
    } else {
        args.paths.clone()
    };
    let files = match failures::files(&paths) {
        Ok(f) if f.is_empty() => return usage_error("no saved failures to replay"),
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    // Every file is read before anything runs.
    let mut saved = Vec::new();
    for f in &files {
        match failures::load(f) {
            Ok(s) => saved.push((f, s)),
            Err(e) => return usage_error(e),
        }
    }
    let mut worst = Verdict::Fixed;
    for (file, s) in &saved {
        if isocheck::interrupt::requested() {
            eprintln!("isocheck: interrupted; the failures after this one were not replayed");
            return isocheck::interrupt::EXIT_INTERRUPTED;
        }
        let (verdict, why) = one(s, &args);
        println!(
            "{:<13}  {}  {} {}: {}{}",
            verdict.label(),
            file.display(),
            s.checklist,
            s.scenario,
            s.title,
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        );
        worst = worst.max(verdict);
    }
    match worst {
        Verdict::Fixed => 0,
        Verdict::StillFailing => 1,
        Verdict::NotJudged | Verdict::Error => 3,
    }
}

/// Replays one saved failure.
fn one(s: &SavedFailure, args: &ReplayArgs) -> (Verdict, Option<String>) {
    let mut words = vec!["isocheck".to_string(), "run".to_string()];
    let mut saved = s.run.iter();
    while let Some(w) = saved.next() {
        // The subject may be swapped; everything else is as saved.
        if (args.subject.is_some() || args.adapter.is_some())
            && (w == "--subject" || w == "--adapter")
        {
            saved.next();
            continue;
        }
        words.push(w.clone());
    }
    if let Some(name) = &args.subject {
        words.extend(["--subject".to_string(), name.clone()]);
    }
    if let Some(cmd) = &args.adapter {
        words.extend(["--adapter".to_string(), cmd.clone()]);
    }
    let run_args = match Cli::try_parse_from(&words) {
        Ok(Cli {
            command: Command::Run(a),
            ..
        }) => *a,
        Ok(_) => unreachable!("the words start with `run`"),
        Err(e) => return (Verdict::Error, Some(crate::clap_message(&e))),
    };
    let Prepared {
        factory,
        families,
        cfg,
        ..
    } = match prepare(&run_args) {
        Ok(p) => p,
        Err(e) => return (Verdict::Error, Some(e)),
    };
    let report = engine::run(factory, &families, &cfg);
    if report
        .findings
        .iter()
        .any(|f| f.fingerprint == s.fingerprint)
    {
        return (Verdict::StillFailing, None);
    }
    if let Some(failure) = &report.subject_failure {
        return (
            Verdict::Error,
            Some(failure.lines().next().unwrap_or("").to_string()),
        );
    }
    let scenario = report.scenarios.iter().find(|r| r.name == s.scenario);
    match scenario {
        Some(r) if r.status == "pass" || r.status == "fail" => (Verdict::Fixed, None),
        Some(r) => (
            Verdict::NotJudged,
            Some(format!(
                "{}: {}",
                r.status,
                r.note.clone().unwrap_or_default()
            )),
        ),
        None => (
            Verdict::NotJudged,
            Some(format!("{} did not run", s.scenario)),
        ),
    }
}
