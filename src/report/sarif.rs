//! The report as SARIF 2.1.0 (via `serde-sarif`), for code scanning.
//!
//! One rule per scenario family (its help is the family's documentation,
//! as `isocheck explain` prints it; tags carry the CWE and OWASP entries it
//! speaks for), one result per finding: level from severity, the finding's
//! fingerprint in `partialFingerprints`, and under `--baseline` a
//! `baselineState` (`unchanged` for an accepted finding, else `new`).
//!
//! A finding is a property of the running app, not of a line of code, so
//! every result has a logical location (the subject's store, such as
//! `fixture:shared-state/files`); with `--sarif-artifact PATH` it also has
//! a physical one at that file (the code that gives each user its state),
//! which code scanning needs to show an alert.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_sarif::sarif;

use super::text::trace_line;
use super::{Finding, Report, Severity};

/// CWE and OWASP tags of a family, and the GitHub `security-severity` of
/// the worst finding it can make.
fn family_meta(name: &str) -> (&'static [&'static str], &'static str) {
    const LEAK: &[&str] = &[
        "security",
        "external/cwe/cwe-668",
        "external/owasp-llm/LLM02:2025",
        "external/owasp-agentic/ASI06",
    ];
    match name {
        "checkpoints" => (
            &[
                "security",
                "external/cwe/cwe-668",
                "external/cwe/cwe-639",
                "external/owasp-llm/LLM02:2025",
                "external/owasp-agentic/ASI06",
            ],
            "9.1",
        ),
        "hostile-user-ids" => (
            &[
                "security",
                "external/cwe/cwe-22",
                "external/cwe/cwe-639",
                "external/owasp-llm/LLM02:2025",
                "external/owasp-agentic/ASI03",
            ],
            "9.1",
        ),
        "execute-escape" => (
            &[
                "security",
                "external/cwe/cwe-668",
                "external/cwe/cwe-78",
                "external/owasp-llm/LLM02:2025",
                "external/owasp-agentic/ASI05",
            ],
            "9.1",
        ),
        // Another user's identifier accepted: authorization bypass through
        // a user-controlled key (IDOR).
        "identifier-replay" => (
            &[
                "security",
                "external/cwe/cwe-639",
                "external/cwe/cwe-668",
                "external/owasp-llm/LLM02:2025",
                "external/owasp-agentic/ASI03",
            ],
            "9.1",
        ),
        "persistence" => (&["reliability", "external/owasp-agentic/ASI06"], "5.0"),
        "sandbox-hardening" => (
            &[
                "security",
                "external/cwe/cwe-668",
                "external/cwe/cwe-250",
                "external/cwe/cwe-770",
                "external/owasp-agentic/ASI05",
            ],
            "8.0",
        ),
        _ => (LEAK, "9.1"),
    }
}

/// Tags a finding adds to its rule's: an id that reaches another user's
/// storage is a path traversal and a user-controlled key.
fn finding_tags(f: &Finding) -> Vec<String> {
    if f.cause.starts_with("id-alias/") {
        vec![
            "external/cwe/cwe-22".into(),
            "external/cwe/cwe-639".into(),
            "external/owasp-agentic/ASI03".into(),
        ]
    } else if f.cause.starts_with("id-replay/") {
        vec![
            "external/cwe/cwe-639".into(),
            "external/owasp-agentic/ASI03".into(),
        ]
    } else {
        Vec::new()
    }
}

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
    }
}

fn text(s: impl Into<String>) -> sarif::MultiformatMessageString {
    sarif::MultiformatMessageString::builder()
        .text(s.into())
        .build()
}

fn bag(pairs: Vec<(&str, Value)>, tags: Vec<String>) -> sarif::PropertyBag {
    let map: BTreeMap<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let b = sarif::PropertyBag::builder().additional_properties(map);
    if tags.is_empty() {
        b.build()
    } else {
        b.tags(tags).build()
    }
}

/// The families with a rule: every scenario of the run, then any family a
/// finding names that is not among them.
fn rule_names(r: &Report) -> Vec<String> {
    let mut names: Vec<String> = r.scenarios.iter().map(|s| s.name.clone()).collect();
    for f in &r.findings {
        if !names.contains(&f.scenario) {
            names.push(f.scenario.clone());
        }
    }
    names
}

fn rule(name: &str) -> sarif::ReportingDescriptor {
    let doc = crate::check::family(name)
        .map(|f| f.doc().to_string())
        .unwrap_or_else(|| format!("{name}: a scenario family of isocheck run"));
    let short = doc.lines().next().unwrap_or(name).to_string();
    // The paragraph that says what the family checks.
    let full = doc
        .split("\n\n")
        .find(|p| p.starts_with("What it checks"))
        .unwrap_or(&short)
        .replace('\n', " ");
    let (tags, security_severity) = family_meta(name);
    sarif::ReportingDescriptor::builder()
        .id(name)
        .name(name)
        .short_description(text(short))
        .full_description(text(full))
        .help(text(doc))
        .properties(bag(
            vec![("security-severity", security_severity.into())],
            tags.iter().map(|t| t.to_string()).collect(),
        ))
        .build()
}

/// The result's message: headline, cause, story, trace and replay line.
fn message(f: &Finding) -> String {
    let mut lines = vec![f.headline(), format!("Cause: {}", f.cause_text)];
    lines.extend(f.story.iter().cloned());
    lines.push(format!("Trace ({} operations):", f.trace.len()));
    lines.extend(f.trace.iter().map(|t| format!("  {}", trace_line(t))));
    lines.push(format!("Replay: {}", f.replay));
    lines.join("\n")
}

fn location(r: &Report, f: &Finding, artifact: Option<&str>) -> sarif::Location {
    let store = f.store.as_str();
    let logical = sarif::LogicalLocation::builder()
        .name(store)
        .fully_qualified_name(format!("{}/{store}", r.subject))
        .kind("resource")
        .build();
    let mut loc = sarif::Location::builder()
        .logical_locations(vec![logical])
        .build();
    if let Some(path) = artifact {
        loc.physical_location = Some(
            sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(path.replace('\\', "/"))
                        .build(),
                )
                .build(),
        );
    }
    loc
}

fn result(r: &Report, f: &Finding, index: usize, artifact: Option<&str>) -> sarif::Result {
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert("isocheck/v1".to_string(), f.fingerprint.clone());
    let mut res = sarif::Result::builder()
        .rule_id(f.scenario.as_str())
        .rule_index(index as i64)
        .level(level(f.severity))
        .message(sarif::Message::builder().text(message(f)).build())
        .locations(vec![location(r, f, artifact)])
        .partial_fingerprints(fingerprints)
        .properties(bag(
            vec![
                ("id", f.id.as_str().into()),
                ("severity", f.severity.as_str().into()),
                ("checklist", f.checklist.as_str().into()),
                ("cause", f.cause.as_str().into()),
                ("kind", f.kind.as_str().into()),
                ("store", f.store.as_str().into()),
                ("users", f.users.clone().into()),
                ("witnesses", f.witnesses.clone().into()),
                ("replay", f.replay.as_str().into()),
            ],
            finding_tags(f),
        ))
        .build();
    if r.baseline.is_some() {
        let state = if f.baselined { "unchanged" } else { "new" };
        res.baseline_state = Some(state.into());
    }
    res
}

/// Whether the run judged everything it set out to, and if not, why.
fn invocation(r: &Report) -> sarif::Invocation {
    let notes: Vec<sarif::Notification> = [r.subject_failure.as_deref(), r.incomplete.as_deref()]
        .into_iter()
        .flatten()
        .map(|why| {
            sarif::Notification::builder()
                .level(Value::String("error".into()))
                .message(sarif::Message::builder().text(why).build())
                .build()
        })
        .collect();
    let ok = notes.is_empty();
    let mut inv = sarif::Invocation::builder()
        .execution_successful(ok)
        .build();
    if !ok {
        inv.tool_execution_notifications = Some(notes);
    }
    inv
}

/// SARIF 2.1.0 with one run. `artifact`: the file every result points at
/// (`--sarif-artifact`), if any.
pub fn render_sarif(r: &Report, artifact: Option<&str>) -> String {
    let names = rule_names(r);
    let rules: Vec<sarif::ReportingDescriptor> = names.iter().map(|n| rule(n)).collect();
    let results: Vec<sarif::Result> = r
        .findings
        .iter()
        .map(|f| {
            let index = names.iter().position(|n| *n == f.scenario).unwrap_or(0);
            result(r, f, index, artifact)
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("isocheck")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/isocheck/isocheck/blob/main/README.md")
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .invocations(vec![invocation(r)])
        .results(results)
        .properties(bag(
            vec![
                ("subject", r.subject.as_str().into()),
                ("seed", r.seed.into()),
                ("cases", r.summary.cases.into()),
                ("replay", r.replay.as_str().into()),
            ],
            Vec::new(),
        ))
        .build();
    let log = sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(Value::String("2.1.0".into()))
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}
