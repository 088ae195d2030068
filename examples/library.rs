//! isocheck as a dev-dependency: a Rust backend's own isolation test.
//!
//! `cargo run --example library` runs it. The backend below keeps message
//! histories keyed by the lowercased user id, a quiet bug: `Bob` and `bob`
//! share one history. isocheck finds it through its hostile user ids and
//! prints the minimal trace; the reference `StateSubject` passes.
//!
//! In your crate, put the same in a `#[test]` and end it with
//! `report.assert_isolated()`, or snapshot `report.redacted()` with insta.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use isocheck::backends::memory::{fresh_session, MemoryHistory, StateSubject};
use isocheck::report::render_text;
use isocheck::subject::{Capabilities, Session, SubjectFactory, SubjectResult, Tenancy};
use isocheck::Harness;

/// The app's per-user histories, keyed by the lowercased id (the bug).
struct CaseFoldedHistories;

struct Histories(Mutex<HashMap<String, Arc<MemoryHistory>>>);

#[async_trait]
impl Tenancy for Histories {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        let mut by_user = self.0.lock().expect("not poisoned");
        let history = by_user.entry(user.to_lowercase()).or_default().clone();
        Ok(Session {
            history: Some(history),
            ..fresh_session()
        })
    }
}

#[async_trait]
impl SubjectFactory for CaseFoldedHistories {
    fn capabilities(&self) -> Capabilities {
        Capabilities::stores()
    }
    async fn create(&self) -> SubjectResult<Box<dyn Tenancy>> {
        Ok(Box::new(Histories(Mutex::new(HashMap::new()))))
    }
}

fn main() {
    let clean = Harness::new(StateSubject::default())
        .name("state")
        .cases(32)
        .seed(7)
        .scenarios(["history", "hostile-user-ids"])
        .run();
    println!(
        "reference subject: {} findings (exit code {})",
        clean.findings.len(),
        clean.exit_code(isocheck::report::Severity::Low)
    );

    let leaky = Harness::new(CaseFoldedHistories)
        .name("case-folded histories")
        .cases(256)
        .seed(7)
        .scenarios(["history"])
        .run();
    print!("{}", render_text(&leaky));
    std::process::exit(i32::from(leaky.exit_code(isocheck::report::Severity::Low)));
}
