//! Report formats: text (ruff-like), JSON and SARIF 2.1.0.

use std::collections::HashMap;

use annotate_snippets::{Level, Renderer, Snippet};
use serde::Serialize;
use serde_sarif::sarif;

use super::diagnostic::{Diagnostic, FlowStep, Severity};
use super::rules;

/// The JSON schema tag.
pub const JSON_SCHEMA: &str = "isocheck.lint/v1";

fn level(s: Severity) -> Level {
    match s {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info => Level::Note,
    }
}

/// The source line of a diagnostic, read once per file.
struct Sources {
    files: HashMap<String, Option<String>>,
}

impl Sources {
    fn line(&mut self, path: &str, line: usize) -> Option<String> {
        let text = self
            .files
            .entry(path.to_string())
            .or_insert_with(|| std::fs::read_to_string(path).ok());
        let text = text.as_deref()?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        text.lines().nth(line.checked_sub(1)?).map(str::to_string)
    }
}

/// ruff-like text: `path:line:col: CODE [severity] message`, a snippet, a summary.
/// `styled`: with ANSI colours, for a terminal (printed through
/// `anstream`, which strips them elsewhere and under `NO_COLOR`).
pub fn text(diagnostics: &[Diagnostic], files: usize, snippets: bool, styled: bool) -> String {
    let mut out = String::new();
    let mut sources = Sources {
        files: HashMap::new(),
    };
    let renderer = if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    for d in diagnostics {
        out.push_str(&format!(
            "{}:{}:{}: {} [{}] {}\n",
            d.path,
            d.line,
            d.column,
            d.rule.code,
            d.severity.as_str(),
            d.message
        ));
        if !snippets || d.rule.code == "ISO000" {
            continue;
        }
        let Some(line) = sources.line(&d.path, d.line) else {
            continue;
        };
        // Byte span of the finding on its first line.
        let start = char_to_byte(&line, d.column - 1);
        let end = if d.end_line == d.line {
            char_to_byte(&line, d.end_column.saturating_sub(1)).max(start + 1)
        } else {
            line.len()
        }
        .min(line.len().max(start + 1));
        let label = format!("{} {}", d.rule.code, d.rule.name);
        let message = Level::Note.title("").snippet(
            Snippet::source(&line)
                .line_start(d.line)
                .annotation(level(d.severity).span(start..end).label(&label)),
        );
        let rendered = renderer.render(message).to_string();
        // Drop the empty title line annotate-snippets prints first.
        for l in rendered.lines().skip(1) {
            out.push_str(l);
            out.push('\n');
        }
        out.push('\n');
    }
    let n = diagnostics.len();
    if n == 0 {
        out.push_str(&format!("All checks passed! ({files} files)\n"));
    } else {
        let mut counts: Vec<(Severity, usize)> = Vec::new();
        for d in diagnostics {
            match counts.iter_mut().find(|(s, _)| *s == d.severity) {
                Some((_, c)) => *c += 1,
                None => counts.push((d.severity, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.0));
        let parts: Vec<String> = counts
            .iter()
            .map(|(s, c)| format!("{c} {}", s.as_str()))
            .collect();
        out.push_str(&format!(
            "Found {n} diagnostic{} in {files} files ({}).\n",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        ));
    }
    out
}

fn char_to_byte(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i)
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'a str,
    name: &'a str,
    checklist: &'a str,
    severity: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    /// ISO106: the taint flow, source first, sink last (possibly across files).
    #[serde(skip_serializing_if = "<[FlowStep]>::is_empty")]
    flow: &'a [FlowStep],
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'a str,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// `{"schema":"isocheck.lint/v1","diagnostics":[...]}`, pretty-printed.
pub fn json(diagnostics: &[Diagnostic]) -> String {
    let report = JsonReport {
        schema: JSON_SCHEMA,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                rule: d.rule.code,
                name: d.rule.name,
                checklist: d.rule.checklist,
                severity: d.severity.as_str(),
                path: &d.path,
                line: d.line,
                column: d.column,
                end_line: d.end_line,
                end_column: d.end_column,
                message: &d.message,
                flow: &d.flow,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

fn sarif_level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low | Severity::Info => sarif::ResultLevel::Note,
    }
}

fn property_bag(pairs: &[(&str, &str)], tags: &[&str]) -> sarif::PropertyBag {
    let map: std::collections::BTreeMap<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let bag = sarif::PropertyBag::builder().additional_properties(map);
    if tags.is_empty() {
        bag.build()
    } else {
        bag.tags(tags.iter().map(|t| t.to_string()).collect::<Vec<_>>())
            .build()
    }
}

fn sarif_location(
    path: &str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
) -> sarif::Location {
    let region = sarif::Region::builder()
        .start_line(line as i64)
        .start_column(column as i64)
        .end_line(end_line as i64)
        .end_column(end_column.max(1) as i64)
        .build();
    sarif::Location::builder()
        .physical_location(
            sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(path.replace('\\', "/"))
                        .build(),
                )
                .region(region)
                .build(),
        )
        .build()
}

/// A SARIF code flow: one thread flow, source to sink.
fn code_flow(flow: &[FlowStep]) -> sarif::CodeFlow {
    let locations: Vec<sarif::ThreadFlowLocation> = flow
        .iter()
        .map(|s| {
            let mut loc = sarif_location(&s.path, s.line, s.column, s.end_line, s.end_column);
            loc.message = Some(sarif::Message::builder().text(s.message.clone()).build());
            sarif::ThreadFlowLocation::builder().location(loc).build()
        })
        .collect();
    sarif::CodeFlow::builder()
        .thread_flows(vec![sarif::ThreadFlow::builder()
            .locations(locations)
            .build()])
        .build()
}

/// SARIF 2.1.0 with one run, every rule in the driver, one result per diagnostic.
pub fn sarif(diagnostics: &[Diagnostic]) -> String {
    let rule_descriptors: Vec<sarif::ReportingDescriptor> = rules::ALL
        .iter()
        .map(|r| {
            sarif::ReportingDescriptor::builder()
                .id(r.code)
                .name(r.name)
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(r.summary)
                        .build(),
                )
                .full_description(
                    sarif::MultiformatMessageString::builder()
                        .text(r.doc_text())
                        .build(),
                )
                .help(
                    sarif::MultiformatMessageString::builder()
                        .text(r.doc_text())
                        .build(),
                )
                .default_configuration(
                    sarif::ReportingConfiguration::builder()
                        .level(serde_json::to_value(sarif_level(r.severity)).unwrap_or_default())
                        .build(),
                )
                .properties(property_bag(
                    &[
                        ("checklist", r.checklist),
                        ("severity", r.severity.as_str()),
                        ("security-severity", rules::security_severity(r.severity)),
                    ],
                    rules::tags(r.code),
                ))
                .build()
        })
        .collect();
    let results: Vec<sarif::Result> = diagnostics
        .iter()
        .map(|d| {
            let index = rules::ALL
                .iter()
                .position(|r| r.code == d.rule.code)
                .unwrap_or(0);
            let location = sarif_location(&d.path, d.line, d.column, d.end_line, d.end_column);
            let mut result = sarif::Result::builder()
                .rule_id(d.rule.code)
                .rule_index(index as i64)
                .level(sarif_level(d.severity))
                .message(sarif::Message::builder().text(d.message.clone()).build())
                .locations(vec![location])
                .properties(property_bag(
                    &[
                        ("severity", d.severity.as_str()),
                        ("checklist", d.rule.checklist),
                    ],
                    &[],
                ))
                .build();
            if !d.flow.is_empty() {
                result.code_flows = Some(vec![code_flow(&d.flow)]);
            }
            result
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("isocheck")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/isocheck/isocheck/blob/main/docs/lint.md")
        .rules(rule_descriptors)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .column_kind(serde_json::Value::String("unicodeCodePoints".into()))
        .build();
    let log = sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(serde_json::Value::String("2.1.0".into()))
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}
