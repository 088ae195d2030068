//! The report as JUnit XML (via `quick-junit`): a test suite per scenario
//! family, a test case per family × checklist item it covers (its own
//! items, and any item a finding it witnessed is on).
//!
//! - A finding the family saw on the item (and no baseline accepts) is a
//!   failure: the message is the finding's headline, the text its story,
//!   evidence, trace and replay line (every such finding when there are
//!   several).
//! - A family that was not tested or was cut short is skipped, with its
//!   reason; so is an item of a family that failed on other items only
//!   (it did not pass, so it does not speak for this one, as in the
//!   checklist).
//! - Otherwise the case passes; findings the baseline accepts are named in
//!   its system-out.
//!
//! A subject failure is one more suite, `subject`, with an error. No
//! timings or timestamps: the output is byte-identical for a seed.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::text::{evidence_line, trace_line};
use super::{item_title, Finding, Report, ScenarioResult, CHECKLIST, EXTRA};

pub fn render_junit(r: &Report) -> String {
    let mut report = quick_junit::Report::new(format!(
        "isocheck run: subject {}, seed {}",
        r.subject, r.seed
    ));
    for s in &r.scenarios {
        report.add_test_suite(suite(r, s));
    }
    if let Some(why) = &r.subject_failure {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(why.lines().next().unwrap_or(why).to_string());
        status.set_type("subject-failure");
        status.set_description(format!("{why}\nisolation could not be fully judged"));
        let mut case = TestCase::new("the subject ran to the end", status);
        case.set_classname("subject");
        let mut suite = TestSuite::new("subject");
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    without_root_skipped(&report.to_string().unwrap_or_default())
}

/// quick-junit puts a `skipped` count on `<testsuites>`, which the
/// de-facto JUnit schema (Jenkins' junit-10.xsd, which Jenkins and pytest
/// validate against) does not allow there; each `<testsuite>` keeps its
/// own count, so dropping it loses nothing.
fn without_root_skipped(xml: &str) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml.to_string();
    };
    let end = start + xml[start..].find('>').unwrap_or(0);
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml.to_string();
    };
    let len = tag[at + 10..].find('"').map_or(0, |q| q + 11);
    format!("{}{}", &xml[..start + at], &xml[start + at + len..])
}

/// The items a family's test cases cover, in checklist order.
fn items(r: &Report, s: &ScenarioResult) -> Vec<&'static str> {
    let own = crate::check::family(&s.name)
        .map(|f| f.items())
        .unwrap_or(&[]);
    CHECKLIST
        .iter()
        .chain(EXTRA.iter())
        .map(|(id, _)| *id)
        .filter(|id| {
            own.contains(id)
                || r.findings
                    .iter()
                    .any(|f| f.checklist == *id && f.witnesses.contains(&s.name))
        })
        .collect()
}

fn suite(r: &Report, s: &ScenarioResult) -> TestSuite {
    let mut suite = TestSuite::new(s.name.as_str());
    suite.add_property(Property::new("status", s.status.as_str()));
    suite.add_property(Property::new("cases", s.cases.to_string()));
    for item in items(r, s) {
        let mut case = TestCase::new(format!("{item} {}", item_title(item)), status(r, s, item));
        case.set_classname(s.name.as_str());
        let accepted: Vec<String> = on_item(r, s, item)
            .filter(|f| f.baselined)
            .map(|f| format!("accepted by the baseline: {}", f.headline()))
            .collect();
        if !accepted.is_empty() {
            case.set_system_out(accepted.join("\n"));
        }
        suite.add_test_case(case);
    }
    suite
}

/// The findings this family witnessed on this item, in rank order.
fn on_item<'a>(
    r: &'a Report,
    s: &'a ScenarioResult,
    item: &'a str,
) -> impl Iterator<Item = &'a Finding> {
    r.findings
        .iter()
        .filter(move |f| f.checklist == item && f.witnesses.contains(&s.name))
}

fn status(r: &Report, s: &ScenarioResult, item: &str) -> TestCaseStatus {
    let failing: Vec<&Finding> = on_item(r, s, item).filter(|f| !f.baselined).collect();
    if let Some(first) = failing.first() {
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let more = match failing.len() {
            1 => String::new(),
            2 => " (and 1 more finding)".to_string(),
            n => format!(" (and {} more findings)", n - 1),
        };
        st.set_message(format!("{}{more}", first.headline()));
        st.set_type(first.kind.as_str());
        let text: Vec<String> = failing.iter().map(|f| describe(f)).collect();
        st.set_description(text.join("\n\n"));
        return st;
    }
    let skip = |why: String| {
        let mut st = TestCaseStatus::skipped();
        st.set_message(why);
        st
    };
    match s.status.as_str() {
        "pass" => TestCaseStatus::success(),
        "fail" if on_item(r, s, item).next().is_some() => TestCaseStatus::success(),
        "fail" => {
            let other: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| f.witnesses.contains(&s.name) && !f.baselined)
                .map(|f| f.checklist.as_str())
                .collect();
            let other = if other.is_empty() {
                "other items".to_string()
            } else {
                let mut o = other;
                o.sort_unstable();
                o.dedup();
                o.join(", ")
            };
            skip(format!(
                "not tested: {} failed on {other}; it does not speak for {item}",
                s.name
            ))
        }
        status => skip(format!(
            "{}: {}",
            status.replace('-', " "),
            s.note.as_deref().unwrap_or("no reason given")
        )),
    }
}

/// A finding for a failure's text: headline, cause, story, evidence, trace
/// and the replay line.
fn describe(f: &Finding) -> String {
    let mut lines = vec![
        f.headline(),
        format!("cause:    {}", f.cause_text),
        format!("users:    {}", f.users.join(", ")),
    ];
    for (i, line) in f.story.iter().enumerate() {
        lines.push(format!("{}. {line}", i + 1));
    }
    lines.push(format!("evidence: {}", evidence_line(&f.evidence)));
    for e in &f.supporting {
        lines.push(format!("also:     {}", evidence_line(e)));
    }
    lines.push(format!(
        "seen by:  {} (proof from {}; fingerprint {})",
        f.witnesses.join(", "),
        f.scenario,
        f.fingerprint
    ));
    lines.push(format!("trace ({} operations):", f.trace.len()));
    for t in &f.trace {
        lines.push(format!("  {}", trace_line(t)));
    }
    lines.push(format!("replay:   {}", f.replay));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_skipped_count_goes_and_the_suites_keep_theirs() {
        let xml = "<?xml?>\n<testsuites name=\"x\" tests=\"2\" skipped=\"1\" failures=\"0\">\n\
                   <testsuite name=\"a\" skipped=\"1\">";
        assert_eq!(
            super::without_root_skipped(xml),
            "<?xml?>\n<testsuites name=\"x\" tests=\"2\" failures=\"0\">\n<testsuite name=\"a\" skipped=\"1\">"
        );
    }
}
