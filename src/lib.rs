//! isocheck proves or disproves that a multi-user AI-agent application keeps
//! each user's state to that user.
//!
//! The pipeline (after Jepsen): [`gen`] generates multi-user scenarios,
//! [`drive`] runs them concurrently against a [`subject`] and records a
//! history, [`check`] judges the history, [`report`] renders findings
//! mapped to the guide's checklist. [`engine`] ties them together with
//! proptest's search and shrinking.
//!
//! To test a Rust backend from your own tests, implement
//! [`subject::SubjectFactory`] and run it through a [`Harness`]
//! (`examples/library.rs` is a whole one):
//!
//! ```no_run
//! use isocheck::{backends::memory::StateSubject, Harness};
//! let report = Harness::new(StateSubject::default()).cases(64).seed(42).run();
//! report.assert_isolated();
//! ```

pub mod backends;
pub mod canary;
pub mod check;
pub mod config;
pub mod drive;
pub mod engine;
pub mod gen;
pub mod harness;
pub mod interrupt;
pub mod lint;
pub mod profile;
pub mod registry;
pub mod report;
pub mod subject;

pub use harness::Harness;

/// Deliberately leaky subjects: each proves a detector fires.
#[path = "../fixtures/subjects/mod.rs"]
pub mod fixtures;
