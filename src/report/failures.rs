//! Saved failures (`run --save-failures DIR`), one JSON file per finding,
//! named by its fingerprint, holding the command-line words that replay
//! it; `isocheck replay` re-runs them and says FIXED or STILL FAILING.
//!
//! A run is determined by its seed and options, so a finding is saved as
//! the run that made it, narrowed to the finding's scenario family, not as
//! a case: replaying it regenerates the same cases, and the finding's
//! fingerprint (scenario, item, root cause, store; never the seed) says
//! whether the same problem is still there.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Report;

/// The format's version.
pub const VERSION: u32 = 1;

/// One saved failure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SavedFailure {
    pub version: u32,
    pub fingerprint: String,
    pub scenario: String,
    pub checklist: String,
    pub severity: super::Severity,
    pub title: String,
    /// `isocheck run` words that reproduce it (`--subject`, `--seed`,
    /// `--cases`, `--scenarios`, the generation options).
    pub run: Vec<String>,
}

/// Writes one file per finding of `report` not accepted by a baseline to
/// `dir` (created if needed); `run` is the words of the run without
/// `--scenarios`. Returns the files written.
pub fn save(report: &Report, dir: &Path, run: &[String]) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for f in report.findings.iter().filter(|f| !f.baselined) {
        let mut words = run.to_vec();
        words.extend(["--scenarios".to_string(), f.scenario.clone()]);
        let saved = SavedFailure {
            version: VERSION,
            fingerprint: f.fingerprint.clone(),
            scenario: f.scenario.clone(),
            checklist: f.checklist.clone(),
            severity: f.severity,
            title: f.title.clone(),
            run: words,
        };
        let path = dir.join(format!("{}.json", f.fingerprint));
        let text = serde_json::to_string_pretty(&saved).expect("a saved failure serializes") + "\n";
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Reads one saved failure.
pub fn load(path: &Path) -> Result<SavedFailure, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let saved: SavedFailure = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a saved failure: {e}", path.display()))?;
    if saved.version != VERSION {
        return Err(format!(
            "{}: saved failure version {} (this isocheck reads {VERSION})",
            path.display(),
            saved.version
        ));
    }
    Ok(saved)
}

/// The saved failures `paths` name: files as given, directories for their
/// `*.json` files (sorted).
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            in_dir.sort();
            out.extend(in_dir);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{} does not exist", p.display()));
        }
    }
    Ok(out)
}
