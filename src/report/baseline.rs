//! Baselines: the fingerprints of accepted findings. `--write-baseline`
//! writes one from a run; under `--baseline` a finding whose fingerprint it
//! holds stays in the report, marked `baselined`, and does not fail the run.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Finding, Report};

/// The version of the baseline file format.
pub const VERSION: u32 = 1;

/// One accepted finding. Only `fingerprint` is matched; the rest says what
/// it was to a reader of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    pub item: String,
    pub severity: String,
    pub title: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

impl Baseline {
    /// The baseline of a report's findings, in the report's order.
    pub fn of(report: &Report) -> Self {
        let mut seen = BTreeSet::new();
        let findings = report
            .findings
            .iter()
            .filter(|f| seen.insert(f.fingerprint.as_str()))
            .map(entry)
            .collect();
        Baseline {
            version: VERSION,
            findings,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Parses a baseline; the error is one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        if b.version != VERSION {
            return Err(format!(
                "version {} is not supported (accepted: {VERSION})",
                b.version
            ));
        }
        if let Some(bad) = b.findings.iter().find(|e| !is_fingerprint(&e.fingerprint)) {
            return Err(format!(
                "fingerprint {:?} is not 16 hex digits",
                one_line(&bad.fingerprint)
            ));
        }
        Ok(b)
    }

    /// Reads and parses a baseline file; the error is one line naming it.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("the baseline {} is not valid: {e}", path.display()))
    }

    /// Marks the report's findings the baseline holds as baselined.
    pub fn apply(&self, report: &mut Report, name: &str) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        for f in &mut report.findings {
            f.baselined = known.contains(f.fingerprint.as_str());
        }
        report.summary.baselined = report.findings.iter().filter(|f| f.baselined).count();
        report.baseline = Some(name.to_string());
    }
}

fn entry(f: &Finding) -> Entry {
    Entry {
        fingerprint: f.fingerprint.clone(),
        item: f.checklist.clone(),
        severity: f.severity.as_str().to_string(),
        title: f.title.clone(),
    }
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The text on one line (newlines and other control characters as spaces).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_baselines_are_one_line_errors() {
        for (text, says) in [
            ("", "EOF"),
            ("{\"version\": 1}", "findings"),
            ("{\"version\": 2, \"findings\": []}", "version 2"),
            ("[1, 2]", "invalid type"),
            (
                "{\"version\": 1, \"findings\": [{\"fingerprint\": \"xyz\", \"item\": \"C1\", \"severity\": \"high\", \"title\": \"t\"}]}",
                "not 16 hex",
            ),
            (
                "{\"version\": 1, \"findings\": [], \"extra\": true}",
                "unknown field",
            ),
        ] {
            let e = Baseline::parse(text).expect_err(text);
            assert!(!e.contains('\n'), "{e}");
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn a_written_baseline_parses_back() {
        let b = Baseline {
            version: VERSION,
            findings: vec![Entry {
                fingerprint: "0123456789abcdef".into(),
                item: "C1".into(),
                severity: "critical".into(),
                title: "a user read data written by another user (files)".into(),
            }],
        };
        assert_eq!(Baseline::parse(&b.to_json()), Ok(b));
    }
}
