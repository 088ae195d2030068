//! The progress bar of `isocheck run`: drawn on stderr with indicatif when
//! stderr is a terminal, `CI` is unset and `--quiet` was not given, and
//! only once the run has taken a second (a quick run prints no bar at
//! all). Nothing of it reaches standard output or any report.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use isocheck::engine::progress::Progress;
use isocheck::report::ScenarioResult;

/// How long a run goes before the bar appears.
const GRACE: Duration = Duration::from_secs(1);

/// Whether a bar may be drawn: stderr is a terminal, not in CI, not quiet.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    shown: AtomicBool,
    /// The failing families so far, for the message.
    failing: AtomicUsize,
}

impl Bar {
    /// With a `--budget`, time bounds the run, not `--cases`: the bar then
    /// counts cases without a length and shows the budget.
    pub fn new(budget: Option<Duration>) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let template = match budget {
            Some(b) => format!(
                "{{spinner}} {{prefix:.bold}} {{pos}} cases {{msg}} ({{elapsed}} of a {} budget)",
                humantime::format_duration(b)
            ),
            None => {
                "{spinner} {prefix:.bold} [{bar:30}] {pos}/{len} cases {msg} ({elapsed})".into()
            }
        };
        bar.set_style(
            ProgressStyle::with_template(&template)
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Bar {
            bar,
            started: Instant::now(),
            shown: AtomicBool::new(false),
            failing: AtomicUsize::new(0),
        }
    }

    /// Starts drawing once the grace period is over.
    fn show_if_due(&self) {
        if !self.shown.load(Ordering::Relaxed)
            && self.started.elapsed() >= GRACE
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
    }
}

impl Progress for Bar {
    fn family_started(&self, name: &str, index: usize, families: usize, cases: usize) {
        self.bar.set_prefix(format!("[{index}/{families}] {name}"));
        self.bar.set_length(cases as u64);
        self.bar.set_position(0);
        let failing = self.failing.load(Ordering::Relaxed);
        self.bar.set_message(if failing > 0 {
            format!("· {failing} families failing so far")
        } else {
            String::new()
        });
        self.show_if_due();
    }

    fn case_done(&self, cases: usize, findings: usize) {
        // Directed id-class cases come on top of the random search's.
        if Some(cases as u64) > self.bar.length() {
            self.bar.set_length(cases as u64);
        }
        self.bar.set_position(cases as u64);
        if findings > 0 {
            self.bar.set_message(format!("· {findings} findings"));
        }
        self.show_if_due();
    }

    fn family_done(&self, result: &ScenarioResult) {
        if result.status == "fail" {
            self.failing.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}
