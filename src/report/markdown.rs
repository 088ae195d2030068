//! The report as Markdown, for a GitHub step summary (`$GITHUB_STEP_SUMMARY`)
//! or a pull-request comment: a header line, the checklist table, then the
//! findings in the report's rank, each with its trace and replay line
//! folded in a `<details>` block.
//!
//! Everything that comes from the subject (user ids, paths, canaries,
//! errors) is escaped, so a hostile id can neither break the table nor
//! inject HTML into the page.

use std::fmt::Write;

use super::text::{evidence_line, trace_line};
use super::{seen_in_text, Finding, Report, Status};

pub fn render_markdown(r: &Report) -> String {
    let mut o = String::new();
    header(&mut o, r);
    checklist(&mut o, r);
    if !r.findings.is_empty() {
        let _ = writeln!(o, "### Findings");
        for f in &r.findings {
            let _ = writeln!(o);
            finding(&mut o, f);
        }
        let _ = writeln!(o);
    }
    scenarios(&mut o, r);
    o
}

fn header(o: &mut String, r: &Report) {
    let s = &r.summary;
    let _ = writeln!(
        o,
        "## isocheck run: subject {}, seed {}, {} cases",
        esc(&r.subject),
        r.seed,
        s.cases
    );
    let _ = writeln!(o);
    let failing = r.findings.iter().filter(|f| !f.baselined).count();
    let verdict = if failing > 0 {
        "❌"
    } else if r.subject_failure.is_some() || r.incomplete.is_some() {
        "⚠️"
    } else {
        "✅"
    };
    let baselined = if s.baselined > 0 {
        format!(", {} accepted by the baseline", s.baselined)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "{verdict} **{} findings** ({} critical, {} high, {} medium, {} low{baselined}) in {} operations; {} subject errors",
        s.findings, s.critical, s.high, s.medium, s.low, s.operations, s.subject_errors
    );
    if let Some(f) = &r.framework {
        let _ = writeln!(o);
        let _ = writeln!(o, "Framework: {}", esc(&f.describe()));
    }
    for (what, why) in [
        ("Incomplete", r.incomplete.as_deref()),
        ("Subject failure", r.subject_failure.as_deref()),
    ] {
        if let Some(why) = why {
            let _ = writeln!(o);
            let _ = writeln!(
                o,
                "> **{what}:** {} (isolation could not be fully judged)",
                esc(why)
            );
        }
    }
    let _ = writeln!(o);
}

fn checklist(o: &mut String, r: &Report) {
    let _ = writeln!(o, "| item | check | status | reason |");
    let _ = writeln!(o, "|---|---|---|---|");
    for c in &r.checklist {
        let status = match c.status {
            Status::Pass => "✅ pass",
            Status::Fail => "❌ fail",
            Status::NotTested => "⚪ not tested",
        };
        let reason = match c.status {
            Status::Fail => r
                .findings
                .iter()
                .filter(|f| f.checklist == c.id)
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => esc(c.note.as_deref().unwrap_or("")),
        };
        let _ = writeln!(o, "| {} | {} | {status} | {reason} |", c.id, esc(&c.title));
    }
    let _ = writeln!(o);
}

fn finding(o: &mut String, f: &Finding) {
    let accepted = if f.baselined {
        " (baselined: does not fail the run)"
    } else {
        ""
    };
    let _ = writeln!(o, "#### {}{accepted}", esc(&f.headline()));
    let _ = writeln!(o);
    let _ = writeln!(o, "**Cause:** {}  ", esc(&f.cause_text));
    let _ = writeln!(o, "**Users:** {}", esc(&f.users.join(", ")));
    let _ = writeln!(o);
    for (i, line) in f.story.iter().enumerate() {
        let _ = writeln!(o, "{}. {}", i + 1, esc(line));
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "**Evidence:** {}  ", esc(&evidence_line(&f.evidence)));
    for e in &f.supporting {
        let _ = writeln!(o, "**Also:** {}  ", esc(&evidence_line(e)));
    }
    let places: Vec<&str> = f.seen_in.iter().map(|p| seen_in_text(p)).collect();
    let _ = writeln!(o, "**Seen in:** {}  ", esc(&places.join("; ")));
    let _ = writeln!(
        o,
        "**Seen by:** {} (proof from {}; fingerprint `{}`)",
        esc(&f.witnesses.join(", ")),
        esc(&f.scenario),
        f.fingerprint
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "<details><summary>Trace ({} operations) and replay</summary>",
        f.trace.len()
    );
    let _ = writeln!(o);
    let trace: Vec<String> = f.trace.iter().map(trace_line).collect();
    code_block(o, "text", &trace.join("\n"));
    let _ = writeln!(o);
    code_block(o, "sh", &f.replay);
    let _ = writeln!(o);
    let _ = writeln!(o, "</details>");
}

/// The scenario families, folded: what ran, how it went, and why not.
fn scenarios(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<details><summary>Scenarios ({} families)</summary>",
        r.scenarios.len()
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "| scenario | status | cases | note |");
    let _ = writeln!(o, "|---|---|---:|---|");
    for s in &r.scenarios {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            esc(&s.name),
            esc(&s.status),
            s.cases,
            esc(s.note.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "</details>");
    let _ = writeln!(o);
    let _ = writeln!(o, "Replay: `{}`", r.replay.replace('`', "'"));
}

/// A fenced code block whose fence is longer than any run of backticks in
/// `text`, so that the text cannot close it.
fn code_block(o: &mut String, lang: &str, text: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(o, "{fence}{lang}");
    let _ = writeln!(o, "{}", printable(text));
    let _ = writeln!(o, "{fence}");
}

/// Control characters (other than newlines) as `\u{..}`: they have no
/// place in a page.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Text safe in a Markdown paragraph or table cell: HTML metacharacters
/// as entities, Markdown punctuation escaped, one line.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_hostile_text_inert() {
        assert_eq!(
            esc("a|b <script>`x` *y*\nz"),
            "a\\|b &lt;script&gt;\\`x\\` \\*y\\* z"
        );
        assert_eq!(esc("bob\0alice"), "bob\\\\u{0}alice");
        let mut o = String::new();
        code_block(&mut o, "text", "a ``` b");
        assert_eq!(o, "````text\na ``` b\n````\n");
    }
}
