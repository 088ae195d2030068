//! Shrinking a failing case to a minimal witness: greedy delta debugging
//! over users and operations, the two things a reader counts in a trace.
//!
//! Every candidate is a re-run against a fresh tenancy, so the cost of
//! shrinking is the number of candidates times the cost of a case (a few
//! ms on the built-in subjects, tens to hundreds through an adapter or a
//! container per user). The shrinker therefore tries the removals that cut
//! the most first: hostile ids replaced by plain ones (so that a store
//! plain ids share is never blamed on an id), whole users in chunks
//! halving down to one (fewer sessions), then chunks of a user's
//! operations, halving the chunk size down to single operations (ddmin),
//! and keeps going from where it was after a success instead of starting
//! over. Values inside operations (paths, contents) are not shrunk:
//! they are drawn from small pools already, and a smaller string does not
//! make a shorter story. The result is 1-minimal: removing any single user
//! (above two) or operation loses the finding.
//!
//! Deterministic: candidates are tried in a fixed order, within
//! `RunConfig::max_shrink_runs` re-runs per finding. A time limit
//! (`--budget`, `--timeout`) ends shrinking early with the smallest case
//! found so far.

use super::{Engine, Eval, Known};
use crate::canary::Minter;
use crate::check::Family;
use crate::drive::Fatal;
use crate::gen::{Scenario, UserIdSpec};

impl Engine<'_> {
    /// The smallest case found that still shows something new, starting
    /// from `scn` (whose evaluation is `best`).
    pub(super) fn shrink(
        &mut self,
        fam: &'static dyn Family,
        mut scn: Scenario,
        mut best: Eval,
        known: &Known,
        minter: &mut Minter,
    ) -> Result<Eval, Fatal> {
        let mut budget = self.cfg.max_shrink_runs;
        let mut changed = true;
        while changed && budget > 0 && self.clock.cut().is_none() {
            changed = false;
            // Hostile ids first: if a plain id shows the problem too, the
            // cause is the store, not the id (a shared store must not be
            // reported as an alias of whichever hostile id came first).
            // All at once first: on a shared store that is one run where
            // one per hostile user (a quarter of 64) would be as many.
            let hostile = scn
                .users
                .iter()
                .filter(|u| u.id != UserIdSpec::Plain)
                .count();
            if hostile > 1 {
                let mut c = scn.clone();
                c.users.iter_mut().for_each(|u| u.id = UserIdSpec::Plain);
                if let Some(ev) = self.try_candidate(fam, &c, known, minter, &mut budget)? {
                    (scn, best, changed) = (c, ev, true);
                }
            }
            for u in 0..scn.users.len() {
                if scn.users[u].id == UserIdSpec::Plain {
                    continue;
                }
                let mut c = scn.clone();
                c.users[u].id = UserIdSpec::Plain;
                if let Some(ev) = self.try_candidate(fam, &c, known, minter, &mut budget)? {
                    (scn, best, changed) = (c, ev, true);
                }
            }
            // Whole users, last first, in chunks halving down to one
            // (ddmin), never below two users: 64 users shrink in a few
            // dozen runs, not one per user.
            let mut size = scn.users.len().saturating_sub(2).div_ceil(2);
            while size > 0 && budget > 0 {
                let mut end = scn.users.len();
                while end > 0 && budget > 0 {
                    let start = end.saturating_sub(size);
                    if scn.users.len() - (end - start) < 2 {
                        end = start;
                        continue;
                    }
                    let mut c = scn.clone();
                    c.users.drain(start..end);
                    if let Some(ev) = self.try_candidate(fam, &c, known, minter, &mut budget)? {
                        (scn, best, changed) = (c, ev, true);
                    }
                    end = start;
                }
                size /= 2;
            }
            // Chunks of each user's operations, halving the chunk size.
            for u in 0..scn.users.len() {
                let mut size = scn.users[u].ops.len().div_ceil(2);
                while size > 0 && budget > 0 {
                    let mut start = 0;
                    while start < scn.users[u].ops.len() && budget > 0 {
                        let end = (start + size).min(scn.users[u].ops.len());
                        let mut c = scn.clone();
                        c.users[u].ops.drain(start..end);
                        match self.try_candidate(fam, &c, known, minter, &mut budget)? {
                            Some(ev) => (scn, best, changed) = (c, ev, true),
                            None => start = end,
                        }
                    }
                    size /= 2;
                }
            }
        }
        Ok(best)
    }

    /// Runs candidate `c`; `Some` if it still shows something new.
    fn try_candidate(
        &mut self,
        fam: &'static dyn Family,
        c: &Scenario,
        known: &Known,
        minter: &mut Minter,
        budget: &mut usize,
    ) -> Result<Option<Eval>, Fatal> {
        if *budget == 0 || self.clock.cut().is_some() {
            return Ok(None);
        }
        *budget -= 1;
        let ev = self.eval(fam, c, minter)?;
        self.summary.shrink_runs += 1;
        Ok(ev.has_new(known).then_some(ev))
    }
}
