//! The report for people: checklist first, then each finding with its trace.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{seen_in_text, Evidence, Kind, Report, Severity, Status, TraceLine};

/// The report as plain text (files, pipes, snapshots).
pub fn render_text(r: &Report) -> String {
    text(r, Paint(false))
}

/// The same text with ANSI colours, for a terminal: print it through
/// `anstream`, which strips them when standard output is not a terminal
/// or `NO_COLOR` is set.
pub fn render_text_styled(r: &Report) -> String {
    text(r, Paint(true))
}

/// Colours, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

const RED: Style = AnsiColor::Red.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

impl Paint {
    fn paint(self, style: Style, s: &str) -> String {
        if self.0 {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    }

    fn severity(self, sev: Severity) -> Style {
        match sev {
            Severity::Critical | Severity::High => RED,
            Severity::Medium => YELLOW,
            Severity::Low => BOLD,
        }
    }
}

fn text(r: &Report, p: Paint) -> String {
    let mut o = String::new();
    let part = r
        .partition
        .as_ref()
        .map(|p| format!(", partition {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "isocheck run: subject {}, seed {}{part}",
        r.subject, r.seed
    );
    if let Some(f) = &r.framework {
        let _ = writeln!(o, "framework: {}", f.describe());
    }
    if let Some(why) = &r.incomplete {
        let _ = writeln!(o, "{}", p.paint(YELLOW, &format!("INCOMPLETE: {why}")));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", p.paint(BOLD, "Checklist"));
    for c in &r.checklist {
        let status = match c.status {
            Status::Pass => p.paint(GREEN, "pass"),
            Status::Fail => p.paint(RED, "FAIL"),
            Status::NotTested => p.paint(DIM, "not tested"),
        };
        let note = c
            .note
            .as_deref()
            .map(|n| format!("  ({n})"))
            .unwrap_or_default();
        let _ = writeln!(o, "  {:<3} {:<48} {status}{note}", c.id, c.title);
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{}", p.paint(BOLD, "Scenarios"));
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
        for line in s.verdict_lines() {
            let _ = writeln!(o, "  {:<22} {line}", "");
        }
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
        let _ = writeln!(o, "{}", p.paint(BOLD, "Findings"));
    }
    for f in &r.findings {
        let _ = writeln!(o);
        let accepted = if f.baselined { "  (baselined)" } else { "" };
        let _ = writeln!(
            o,
            "  {}{accepted}",
            p.paint(p.severity(f.severity), &f.headline())
        );
        let _ = writeln!(o, "     cause:    {}", f.cause_text);
        let _ = writeln!(o, "     users:    {}", f.users.join(", "));
        for (i, line) in f.story.iter().enumerate() {
            let _ = writeln!(o, "     {}. {line}", i + 1);
        }
        let _ = writeln!(o, "     evidence: {}", evidence_line(&f.evidence));
        for e in &f.supporting {
            let _ = writeln!(o, "     also:     {}", evidence_line(e));
        }
        let places: Vec<&str> = f.seen_in.iter().map(|p| seen_in_text(p)).collect();
        let _ = writeln!(o, "     seen in:  {}", places.join("; "));
        let _ = writeln!(
            o,
            "     seen by:  {} (proof from {}; fingerprint {})",
            f.witnesses.join(", "),
            f.scenario,
            f.fingerprint
        );
        let _ = writeln!(o, "     trace ({} operations):", f.trace.len());
        for t in &f.trace {
            let line = trace_line(t);
            let line = if t.evidence {
                p.paint(YELLOW, &line)
            } else {
                line
            };
            let _ = writeln!(o, "       {line}");
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
    if !r.errors.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "Subject errors (recorded, never a pass)");
        for e in &r.errors {
            let _ = writeln!(o, "  {:>5} x {:<14} {}", e.count, e.operation, e.error);
        }
        let listed: usize = r.errors.iter().map(|e| e.count).sum();
        if listed < r.summary.subject_errors {
            let _ = writeln!(o, "  {:>5} x others", r.summary.subject_errors - listed);
        }
    }
    if let Some(f) = &r.subject_failure {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", p.paint(RED, &format!("SUBJECT FAILURE: {f}")));
        let _ = writeln!(o, "isolation could not be fully judged");
    }
    let s = &r.summary;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Summary: {} cases, {} operations, {} findings ({} critical, {} high, {} medium, {} low), {} subject errors, {} shrink runs",
        s.cases, s.operations, s.findings, s.critical, s.high, s.medium, s.low, s.subject_errors, s.shrink_runs
    );
    if s.baselined > 0 {
        let _ = writeln!(
            o,
            "Baseline: {} of {} findings accepted by {} (they do not fail the run)",
            s.baselined,
            s.findings,
            r.baseline.as_deref().unwrap_or("the baseline")
        );
    }
    let _ = writeln!(o, "Replay:  {}", r.replay);
    if let Some(why) = &r.incomplete {
        let _ = writeln!(o, "{}", p.paint(YELLOW, &format!("INCOMPLETE: {why}")));
    }
    o
}

/// One step of a trace: phase, step, user, operation, outcome, and a mark
/// on the observation that shows the problem.
pub(super) fn trace_line(t: &TraceLine) -> String {
    let mark = if t.evidence { "  <-- here" } else { "" };
    format!(
        "{:<5} {:>3}  {:<14} {} -> {}{mark}",
        t.phase, t.step, t.user, t.op, t.outcome
    )
}

/// One observation: who saw what, where, and whose data.
pub(super) fn evidence_line(e: &Evidence) -> String {
    let owner = match (e.owner.as_deref(), e.kind) {
        (Some(w), Kind::Interference) => format!(" (caused by {w})"),
        (Some(w), _) => format!(" (data of {w})"),
        (None, _) => String::new(),
    };
    let more = if e.occurrences > 1 {
        format!("; {} observations in all", e.occurrences)
    } else {
        String::new()
    };
    format!(
        "{}: {} at step {} in {}: {} -> {}{owner}{more}",
        e.kind.as_str(),
        e.observer,
        e.step,
        seen_in_text(e.seen_in),
        e.operation,
        e.detail
    )
}
