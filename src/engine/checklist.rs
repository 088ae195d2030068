//! The checklist verdict of a run, from its findings and scenario results.

use crate::check::Family;
use crate::report::*;

/// The checklist: an item fails with a finding; passes when a scenario
/// covering it passed (every store that scenario speaks for judged), with
/// the covering scenarios that could not judge named in its note; and is
/// otherwise not tested, with the reason.
pub fn checklist(
    findings: &[Finding],
    scenarios: &[ScenarioResult],
    families: &[&'static dyn Family],
) -> Vec<ChecklistEntry> {
    CHECKLIST
        .iter()
        .map(|(id, title)| {
            let covering: Vec<&ScenarioResult> = scenarios
                .iter()
                .filter(|s| {
                    families
                        .iter()
                        .any(|f| f.name() == s.name && f.items().contains(id))
                })
                .collect();
            let unjudged: Vec<String> = covering
                .iter()
                .filter(|s| s.status != "pass" && s.status != "fail")
                .map(|s| format!("{}: {}", s.name, s.note.clone().unwrap_or_default()))
                .collect();
            let (status, note) = if findings.iter().any(|f| f.checklist == *id) {
                (Status::Fail, None)
            } else if covering.iter().any(|s| s.status == "pass") {
                let note =
                    (!unjudged.is_empty()).then(|| format!("not tested: {}", unjudged.join("; ")));
                (Status::Pass, note)
            } else if covering.is_empty() {
                (
                    Status::NotTested,
                    Some("no selected scenario covers it".to_string()),
                )
            } else if unjudged.is_empty() {
                // Every covering scenario failed, on other items: none
                // passed to speak for this one.
                let failed: Vec<&str> = covering.iter().map(|s| s.name.as_str()).collect();
                (
                    Status::NotTested,
                    Some(format!(
                        "{} failed on other items; no covering scenario passed to speak for this one",
                        failed.join(", ")
                    )),
                )
            } else {
                (Status::NotTested, Some(unjudged.join("; ")))
            };
            ChecklistEntry {
                id: id.to_string(),
                title: title.to_string(),
                status,
                note,
            }
        })
        .collect()
}
