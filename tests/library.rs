//! Using isocheck as a library, as a Rust backend's own tests would.

use std::sync::Arc;

use async_trait::async_trait;
use isocheck::backends::memory::{fresh_session, MemoryHistory, StateSubject};
use isocheck::check;
use isocheck::engine::{run, RunConfig};
use isocheck::subject::*;

/// A backend of "our own" with a subtle bug: histories are keyed by the
/// lowercased user id, so `Bob` and `bob` share one.
struct CaseFoldedHistories;

struct T(std::sync::Mutex<std::collections::HashMap<String, Arc<MemoryHistory>>>);

#[async_trait]
impl Tenancy for T {
    async fn open(&self, user: &str) -> SubjectResult<Session> {
        let h = self
            .0
            .lock()
            .unwrap()
            .entry(user.to_lowercase())
            .or_default()
            .clone();
        Ok(Session {
            history: Some(h),
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
        Ok(Box::new(T(Default::default())))
    }
}

#[test]
fn a_correct_backend_passes() {
    let mut cfg = RunConfig::new("state", 3);
    cfg.cases = 64;
    run(Arc::new(StateSubject::default()), &check::families(), &cfg).assert_isolated();
}

#[test]
fn a_case_folding_backend_is_caught_through_hostile_ids() {
    let mut cfg = RunConfig::new("case-folded", 3);
    cfg.cases = 256;
    let report = run(
        Arc::new(CaseFoldedHistories),
        &[check::family("history").unwrap()],
        &cfg,
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.checklist == "C3")
        .expect("a C3 finding");
    // The two users differ by case only.
    assert_eq!(
        f.users[0].to_lowercase(),
        f.users[1].to_lowercase(),
        "{f:#?}"
    );
    assert_ne!(f.users[0], f.users[1]);
    let panicked = std::panic::catch_unwind(|| report.assert_isolated());
    assert!(panicked.is_err());
}

/// The builder, and a report snapshot as a backend's own test would keep
/// one: with a fixed seed the redacted JSON is the same on every run.
#[test]
fn the_harness_builder_and_a_report_snapshot() {
    let report = isocheck::Harness::new(CaseFoldedHistories)
        .name("case-folded")
        .cases(64)
        .seed(3)
        .scenarios(["history"])
        .run();
    assert_eq!(report.exit_code(isocheck::report::Severity::Low), 1);
    let again = isocheck::Harness::new(CaseFoldedHistories)
        .name("case-folded")
        .cases(64)
        .seed(3)
        .scenarios(["history"])
        .run();
    assert_eq!(report.redacted(), again.redacted());
    let text = report.redacted().to_string();
    assert!(!text.contains("--seed 3"), "the seed is redacted: {text}");
    insta::assert_json_snapshot!("harness_case_folded_history", report.redacted());
}

#[test]
fn the_harness_runs_from_async_code() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(
        isocheck::Harness::new(StateSubject::default())
            .cases(16)
            .seed(1)
            .scenarios(["cross-read"])
            .run_async(),
    );
    report.assert_isolated();
    assert_eq!(report.scenarios[0].status, "pass");
}

#[test]
#[should_panic(expected = "unknown scenario \"nope\"")]
fn an_unknown_scenario_names_the_families() {
    let _ = isocheck::Harness::new(StateSubject::default()).scenarios(["nope"]);
}
