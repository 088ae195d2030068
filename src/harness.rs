//! The library's front door: a builder over [`engine::run`] for a Rust
//! backend's own tests (isocheck as a dev-dependency).
//!
//! ```no_run
//! use isocheck::{backends::memory::StateSubject, Harness};
//! let report = Harness::new(StateSubject::default())
//!     .cases(64)
//!     .seed(7)
//!     .scenarios(["cross-read", "history"])
//!     .run();
//! report.assert_isolated();
//! ```
//!
//! `run()` makes its own tokio runtime; inside an async test use
//! `run_async().await`, which runs the engine on a blocking thread.
//! A fixed seed gives the same report every time; `Report::redacted()`
//! hides the seed itself, for snapshots that should not change with it.

use std::sync::Arc;
use std::time::Duration;

use crate::check::{self, Family};
use crate::engine::{self, RunConfig};
use crate::report::Report;
use crate::subject::SubjectFactory;

/// A run under construction: the subject, the families and the options.
pub struct Harness {
    factory: Arc<dyn SubjectFactory>,
    families: Vec<&'static dyn Family>,
    cfg: RunConfig,
}

impl Harness {
    /// A run of every family against `factory`, 256 cases each, seed 0.
    pub fn new(factory: impl SubjectFactory + 'static) -> Self {
        Self::from_arc(Arc::new(factory))
    }

    /// As [`Harness::new`], for a factory already shared.
    pub fn from_arc(factory: Arc<dyn SubjectFactory>) -> Self {
        Harness {
            factory,
            families: check::families(),
            cfg: RunConfig::new("library", 0),
        }
    }

    /// The subject's name in the report (default `library`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.cfg.subject = name.into();
        self
    }

    /// Cases per family (default 256).
    pub fn cases(mut self, n: usize) -> Self {
        self.cfg.cases = n;
        self
    }

    /// The seed (default 0): the same seed gives the same report.
    pub fn seed(mut self, seed: u64) -> Self {
        self.cfg.seed = seed;
        self
    }

    /// A fixed number of users per case (default 2 to 8).
    ///
    /// # Panics
    /// When `n` is not 2 to [`crate::gen::MAX_USERS`] (64).
    pub fn users(mut self, n: usize) -> Self {
        assert!(
            (2..=crate::gen::MAX_USERS).contains(&n),
            "users({n}): a case has 2 to {} users",
            crate::gen::MAX_USERS
        );
        self.cfg.gen.users = Some(n);
        self
    }

    /// Only these families (`isocheck list` names them).
    ///
    /// # Panics
    /// On a name that is not a family, naming the ones there are.
    pub fn scenarios<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        self.families = names
            .into_iter()
            .map(|n| {
                check::family(n).unwrap_or_else(|| {
                    let all: Vec<_> = check::families().iter().map(|f| f.name()).collect();
                    panic!("unknown scenario {n:?} (there are: {})", all.join(", "))
                })
            })
            .collect();
        self.cfg.scenarios = self.families.iter().map(|f| f.name().to_string()).collect();
        self
    }

    /// Search rounds per family (default 32; 1 stops at the first finding).
    pub fn rounds(mut self, n: usize) -> Self {
        self.cfg.max_rounds = n.max(1);
        self
    }

    /// Search time shared among the families (`--budget`).
    pub fn budget(mut self, d: Duration) -> Self {
        self.cfg.budget = Some(d);
        self
    }

    /// The run's deadline (`--timeout`).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.cfg.timeout = Some(d);
        self
    }

    /// Any other option, on the run's configuration itself.
    pub fn configure(mut self, f: impl FnOnce(&mut RunConfig)) -> Self {
        f(&mut self.cfg);
        self
    }

    /// Runs it (on a tokio runtime of its own; not from inside one).
    pub fn run(self) -> Report {
        engine::run(self.factory, &self.families, &self.cfg)
    }

    /// Runs it from async code (the engine on a blocking thread).
    pub async fn run_async(self) -> Report {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .expect("the isocheck engine panicked")
    }
}
