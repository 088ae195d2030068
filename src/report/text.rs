//! The report for people: checklist first, then each finding with its trace.

use std::fmt::Write;

use super::{Kind, Report, Status};

pub fn render_text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "isocheck run: subject {}, seed {}", r.subject, r.seed);
    if let Some(why) = &r.incomplete {
        let _ = writeln!(o, "INCOMPLETE: {why}");
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Checklist");
    for c in &r.checklist {
        let status = match c.status {
            Status::Pass => "pass".to_string(),
            Status::Fail => "FAIL".to_string(),
            Status::NotTested => "not tested".to_string(),
        };
        let note = c
            .note
            .as_deref()
            .map(|n| format!("  ({n})"))
            .unwrap_or_default();
        let _ = writeln!(o, "  {:<3} {:<48} {status}{note}", c.id, c.title);
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Scenarios");
    for s in &r.scenarios {
        // Why a scenario could not judge is said once, below.
        let note = match s.note.as_deref() {
            Some(_) if r.not_judged.iter().any(|n| n.scenario == s.name) => {
                "  (see could not judge)".to_string()
            }
            Some(n) => format!("  ({n})"),
            None => String::new(),
        };
        let _ = writeln!(
            o,
            "  {:<22} {:<11} {:>6} cases{note}",
            s.name, s.status, s.cases
        );
    }
    if !r.not_judged.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Could not judge (never counted as a pass)");
        for n in &r.not_judged {
            let _ = writeln!(o, "  {:<22} {}", n.scenario, n.reason);
        }
    }
    if !r.findings.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Findings");
    }
    for f in &r.findings {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "  {} [{}] {} {}: {}",
            f.id,
            f.severity.as_str(),
            f.checklist,
            f.scenario,
            f.title
        );
        let _ = writeln!(o, "     users:    {}", f.users.join(", "));
        let e = &f.evidence;
        let owner = match (e.owner.as_deref(), f.kind) {
            (Some(w), Kind::Interference) => format!(" (caused by {w})"),
            (Some(w), _) => format!(" (data of {w})"),
            (None, _) => String::new(),
        };
        let more = if e.occurrences > 1 {
            format!("; {} observations in all", e.occurrences)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "     evidence: {} at step {}: {} -> {}{owner}{more}",
            e.observer, e.step, e.operation, e.detail
        );
        let _ = writeln!(o, "     trace ({} operations):", f.trace.len());
        for t in &f.trace {
            let mark = if t.evidence { "  <-- here" } else { "" };
            let _ = writeln!(
                o,
                "       {:<5} {:>3}  {:<14} {} -> {}{mark}",
                t.phase, t.step, t.user, t.op, t.outcome
            );
        }
        let _ = writeln!(o, "     replay:   {}", f.replay);
    }
    if !r.refusals.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Refused user ids (not leaks)");
        for x in &r.refusals {
            let _ = writeln!(
                o,
                "  {:>4} ids, e.g. {:<26} {}",
                x.users, x.example, x.error
            );
        }
    }
    if let Some(f) = &r.subject_failure {
        let _ = writeln!(o);
        let _ = writeln!(o, "SUBJECT FAILURE: {f}");
        let _ = writeln!(o, "isolation could not be fully judged");
    }
    let s = &r.summary;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Summary: {} cases, {} operations, {} findings ({} critical, {} high, {} medium, {} low), {} subject errors, {} shrink runs",
        s.cases, s.operations, s.findings, s.critical, s.high, s.medium, s.low, s.subject_errors, s.shrink_runs
    );
    let _ = writeln!(o, "Replay:  {}", r.replay);
    if let Some(why) = &r.incomplete {
        let _ = writeln!(o, "INCOMPLETE: {why}");
    }
    o
}
