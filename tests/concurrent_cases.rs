//! Cases of a subject whose tenancies are independent run in batches at
//! the same time (`engine/case.rs`). The batch is taken in order and a
//! finding stops it where a sequential search would stop, so the report is
//! the sequential one, byte for byte, whatever the timing.

use isocheck::check;
use isocheck::engine::{run, RunConfig};
use isocheck::registry;

fn report(subject: &str, seed: u64, batch: usize) -> String {
    let entry = registry::subjects()
        .into_iter()
        .find(|s| s.name == subject)
        .expect("a built-in subject");
    let mut cfg = RunConfig::new(subject, seed);
    cfg.cases = 48;
    cfg.concurrent_cases = batch;
    let r = run((entry.make)(Default::default()), &check::families(), &cfg);
    serde_json::to_string_pretty(&r).expect("a report")
}

#[test]
fn batches_of_cases_report_what_one_case_at_a_time_reports() {
    let independent: Vec<&str> = registry::subjects()
        .into_iter()
        .filter(|s| (s.make)(Default::default()).independent_tenancies())
        .map(|s| s.name)
        .collect();
    // The in-memory references and fixtures, findings and passes both.
    assert!(independent.contains(&"state"), "{independent:?}");
    assert!(
        independent.contains(&"fixture:shared-state"),
        "{independent:?}"
    );
    assert!(independent.len() >= 5, "{independent:?}");
    // Host directories and shells share the host: one case at a time.
    for name in ["local", "fixture:raw-user-root", "fixture:exec-escape"] {
        let entry = registry::subjects()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        assert!(
            !(entry.make)(Default::default()).independent_tenancies(),
            "{name}"
        );
    }
    for name in independent {
        for seed in [1, 2] {
            let one = report(name, seed, 1);
            assert!(one.contains("\"findings\""), "{name}");
            for batch in [3, 8] {
                assert!(
                    one == report(name, seed, batch),
                    "{name}, seed {seed}: a batch of {batch} differs from one case at a time"
                );
            }
        }
    }
}
