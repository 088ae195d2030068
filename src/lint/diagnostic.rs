//! Diagnostics and severities.

use serde::Serialize;

use super::rules::RuleMeta;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One finding, positions 1-based (columns count characters, like ruff).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    /// For taint findings: source, steps and sink, possibly across files.
    pub flow: Vec<FlowStep>,
}

/// One location of a taint flow, resolved to a file and 1-based positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowStep {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
}

/// Where a flow point is: a byte range in the file being checked, or a resolved step elsewhere.
#[derive(Debug, Clone)]
pub enum FlowPoint {
    Here {
        range: ruff_text_size::TextRange,
        message: String,
    },
    There(FlowStep),
}

impl Diagnostic {
    /// Sort key: path, line, column, rule.
    pub fn sort_key(&self) -> (&str, usize, usize, &'static str) {
        (&self.path, self.line, self.column, self.rule.code)
    }
}

/// A finding inside one file before positions are resolved: a byte range.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub start: u32,
    pub end: u32,
    pub message: String,
    pub flow: Vec<FlowPoint>,
}

impl Finding {
    pub fn new(rule: &'static RuleMeta, range: ruff_text_size::TextRange, message: String) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            start: range.start().to_u32(),
            end: range.end().to_u32(),
            message,
            flow: Vec::new(),
        }
    }

    pub fn with_flow(mut self, flow: Vec<FlowPoint>) -> Self {
        self.flow = flow;
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}
