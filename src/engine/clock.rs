//! Time limits of a run (off by default: without them a run is fully
//! determined by its seed).
//!
//! - `--budget D` shares D of search among the families: each family may
//!   search for what is left of the budget divided by the families still
//!   to run, so time a quick family leaves over goes to the later ones. A
//!   family with directed id-class searches gives half of its share to its
//!   random search and splits the rest among the classes still to try.
//!   When its share is spent the family's search ends and it is judged on
//!   the cases it ran (a `pass` still needs its observations); shrinking
//!   stops too, keeping the smallest failing case found so far. The report
//!   is complete; the family's note says the budget ended its search.
//! - `--timeout D` is the run's deadline. The case under way finishes (each
//!   of its operations is bounded by `--op-timeout`), nothing more starts,
//!   families not reached are `aborted`, and the report is marked
//!   incomplete (exit 3, or 1 if findings were made).
//!
//! Both are checked between cases and between shrink runs.

use std::time::{Duration, Instant};

/// Why a search ended before its cases were spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Ctrl-C or SIGTERM.
    Interrupt,
    /// `--timeout`: the run's deadline passed.
    Timeout,
    /// `--budget`: this family's share of the time budget is spent.
    Budget,
}

/// The run's time limits.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    budget_end: Option<Instant>,
    deadline: Option<Instant>,
    /// The end of the current search's share of the budget.
    until: Option<Instant>,
}

impl Clock {
    pub(crate) fn new(budget: Option<Duration>, timeout: Option<Duration>) -> Self {
        let now = Instant::now();
        Clock {
            budget_end: budget.map(|b| now + b),
            deadline: timeout.map(|t| now + t),
            until: None,
        }
    }

    /// The end of one family's share of what is left of the budget, with
    /// `families` (this one included) still to run; none without a budget.
    pub(crate) fn family_end(&self, families: usize) -> Option<Instant> {
        part(self.budget_end, families, 1.0)
    }

    /// Sets the end of the current search (`None`: no budget).
    pub(crate) fn search_until(&mut self, until: Option<Instant>) {
        self.until = until;
    }

    /// Why no further case or shrink run may start, if one may not.
    pub(crate) fn cut(&self) -> Option<Cut> {
        let now = Instant::now();
        if crate::interrupt::requested() {
            Some(Cut::Interrupt)
        } else if self.deadline.is_some_and(|d| now >= d) {
            Some(Cut::Timeout)
        } else if self.until.is_some_and(|u| now >= u) {
            Some(Cut::Budget)
        } else {
            None
        }
    }

    /// Whether the run as a whole must end (interrupt or timeout).
    pub(crate) fn run_over(&self) -> Option<Cut> {
        self.cut().filter(|c| *c != Cut::Budget)
    }
}

/// `fraction` of one of `ways` equal parts of the time left until `end`
/// (none without an end).
pub(crate) fn part(end: Option<Instant>, ways: usize, fraction: f64) -> Option<Instant> {
    let end = end?;
    let now = Instant::now();
    let left = end.saturating_duration_since(now);
    Some(now + left.div_f64(ways.max(1) as f64).mul_f64(fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limits_never_cut() {
        let c = Clock::new(None, None);
        assert_eq!(c.cut(), None);
        assert_eq!(c.family_end(3), None);
    }

    #[test]
    fn a_spent_share_cuts_the_search_not_the_run() {
        let mut c = Clock::new(Some(Duration::from_secs(3600)), None);
        c.search_until(Some(Instant::now()));
        assert_eq!(c.cut(), Some(Cut::Budget));
        assert_eq!(c.run_over(), None);
        // Shares: what is left over the searches still to run.
        let s = part(c.family_end(2), 2, 0.5).unwrap();
        let d = s.saturating_duration_since(Instant::now());
        assert!(
            d <= Duration::from_secs(450) && d > Duration::from_secs(440),
            "{d:?}"
        );
    }

    #[test]
    fn a_passed_deadline_ends_the_run() {
        let c = Clock::new(None, Some(Duration::ZERO));
        assert_eq!(c.cut(), Some(Cut::Timeout));
        assert_eq!(c.run_over(), Some(Cut::Timeout));
    }
}
