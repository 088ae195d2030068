//! The report as one self-contained HTML page (`--format html`): the
//! checklist, a user × user leak matrix (who saw whose data, coloured by
//! the worst severity), then each finding's story, evidence, trace and
//! replay line, the scenarios, and what could not be judged.
//!
//! The page has no external resources (styles and the one small script
//! are inline), no timestamps and no temp paths: the same seed gives the
//! same bytes. Everything from the subject (user ids, paths, canaries,
//! errors) is escaped, and control characters are shown as `\u{..}`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::text::{evidence_line, trace_line};
use super::{seen_in_text, Evidence, Finding, Report, Severity, Status};

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1f2328}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font:12px/1.4 ui-monospace,"SFMono-Regular",Menlo,monospace}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.not-tested,.aborted{color:#6e7781}
.sev{display:inline-block;padding:0 .5em;border-radius:1em;color:#fff;font-size:12px}
.critical{background:#a40e26}.high{background:#cf222e}.medium{background:#bf8700}.low{background:#57606a}
#leak-matrix td.cell{text-align:center;min-width:3em}#leak-matrix td.cell a{color:#fff}
#leak-matrix td.none{background:#f6f8fa}#leak-matrix td.self{background:#eaeef2}
.finding{border:1px solid #d0d7de;border-radius:6px;padding:.2em 1em 1em;margin:1em 0}
.baselined{opacity:.7}.note{color:#57606a}.banner{border-left:4px solid #bf8700;padding:.3em .8em;background:#fff8c5}
tr.evidence td{background:#ffebe9;font-weight:600}
"#;

/// After load, the script records what the browser actually laid out
/// (`data-matrix` on `<html>`: the matrix's size and the colour of its
/// worst cell), so that a headless browser can check the page renders.
const SCRIPT: &str = r#"
addEventListener("load",function(){var m=document.getElementById("leak-matrix");if(!m){document.documentElement.dataset.matrix="absent";return}
var r=m.getBoundingClientRect(),c=m.querySelectorAll("td.cell[data-severity]"),w=m.querySelector("td.cell[data-worst]");
document.documentElement.dataset.matrix="width="+Math.round(r.width)+" height="+Math.round(r.height)+" cells="+c.length+" worst="+(w?getComputedStyle(w).backgroundColor:"none")});
"#;

pub fn render_html(r: &Report) -> String {
    let mut o = String::new();
    let title = format!("isocheck run: {}", r.subject);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n<body>\n",
        esc(&title)
    );
    header(&mut o, r);
    checklist(&mut o, r);
    matrix(&mut o, r);
    if !r.findings.is_empty() {
        let _ = writeln!(o, "<h2>Findings</h2>");
        for f in &r.findings {
            finding(&mut o, f);
        }
    }
    scenarios(&mut o, r);
    let _ = writeln!(o, "</body>\n</html>");
    o
}

fn header(o: &mut String, r: &Report) {
    let s = &r.summary;
    let _ = writeln!(o, "<h1>isocheck run: {}</h1>", esc(&r.subject));
    let part = r
        .partition
        .as_ref()
        .map(|p| format!(", partition {}", esc(p)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<p>seed {}{part}, {} cases, {} operations, {} subject errors</p>",
        r.seed, s.cases, s.operations, s.subject_errors
    );
    if let Some(f) = &r.framework {
        let _ = writeln!(o, "<p>framework: {}</p>", esc(&f.describe()));
    }
    let baselined = if s.baselined > 0 {
        format!(", {} accepted by the baseline", s.baselined)
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "<p><strong>{} findings</strong>: {} critical, {} high, {} medium, {} low{baselined}</p>",
        s.findings, s.critical, s.high, s.medium, s.low
    );
    for (what, why) in [
        ("Incomplete", r.incomplete.as_deref()),
        ("Subject failure", r.subject_failure.as_deref()),
    ] {
        if let Some(why) = why {
            let _ = writeln!(
                o,
                "<p class=\"banner\"><strong>{what}:</strong> {} (isolation could not be fully judged)</p>",
                esc(why)
            );
        }
    }
}

fn checklist(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Checklist</h2>\n<table id=\"checklist\">");
    let _ = writeln!(
        o,
        "<tr><th>item</th><th>check</th><th>status</th><th>reason</th></tr>"
    );
    for c in &r.checklist {
        let reason = match c.status {
            Status::Fail => r
                .findings
                .iter()
                .filter(|f| f.checklist == c.id)
                .map(|f| format!("<a href=\"#{0}\">{0}</a>", esc(&f.id)))
                .collect::<Vec<_>>()
                .join(", "),
            _ => esc(c.note.as_deref().unwrap_or("")),
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{reason}</td></tr>",
            esc(&c.id),
            esc(&c.title),
            c.status.as_str(),
            c.status.as_str().replace('-', " ")
        );
    }
    let _ = writeln!(o, "</table>");
}

/// One cell of the leak matrix: the findings in which `observer` saw data
/// of (or lost data to) `owner`, and the worst of their severities.
#[derive(Default)]
struct Cell {
    worst: Option<Severity>,
    findings: BTreeSet<(usize, String)>,
}

/// (observer, owner) → cell. A finding with no other user (integrity,
/// collision, accumulation, persistence) sits on the diagonal.
fn cells(r: &Report) -> BTreeMap<(String, String), Cell> {
    let mut out: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for (rank, f) in r.findings.iter().enumerate() {
        for e in std::iter::once(&f.evidence).chain(&f.supporting) {
            let key = pair(e);
            let cell = out.entry(key).or_default();
            cell.worst = cell.worst.max(Some(f.severity));
            cell.findings.insert((rank, f.id.clone()));
        }
    }
    out
}

fn pair(e: &Evidence) -> (String, String) {
    let owner = e.owner.clone().unwrap_or_else(|| e.observer.clone());
    (e.observer.clone(), owner)
}

fn matrix(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Who saw whose data</h2>");
    let cells = cells(r);
    if cells.is_empty() {
        let _ = writeln!(
            o,
            "<p id=\"no-leaks\">No user saw, lost or shared another user's data in this run.</p>"
        );
        return;
    }
    // Ids as the report prints them (quoted when unusual).
    let users: BTreeSet<&String> = cells.keys().flat_map(|(a, b)| [a, b]).collect();
    let worst = cells.values().filter_map(|c| c.worst).max();
    let _ = writeln!(
        o,
        "<p class=\"note\">A row is the user who observed, a column the user whose data it was \
         (for interference: whose operation removed the row's data). The diagonal holds a \
         user's own data lost or colliding. Each cell links to its findings.</p>"
    );
    let _ = writeln!(o, "<table id=\"leak-matrix\">");
    let _ = write!(o, "<tr><th>observer \\ owner</th>");
    for u in &users {
        let _ = write!(o, "<th>{}</th>", esc(u));
    }
    let _ = writeln!(o, "</tr>");
    let mut marked = false;
    for row in &users {
        let _ = write!(o, "<tr><th>{}</th>", esc(row));
        for col in &users {
            match cells.get(&((*row).clone(), (*col).clone())) {
                Some(c) => {
                    let sev = c.worst.unwrap_or(Severity::Low).as_str();
                    let worst_attr = if !marked && c.worst == worst {
                        marked = true;
                        " data-worst=\"1\""
                    } else {
                        ""
                    };
                    let links: Vec<String> = c
                        .findings
                        .iter()
                        .map(|(_, id)| format!("<a href=\"#{0}\">{0}</a>", esc(id)))
                        .collect();
                    let _ = write!(
                        o,
                        "<td class=\"cell {sev}\" data-severity=\"{sev}\"{worst_attr}>{}</td>",
                        links.join(" ")
                    );
                }
                None if row == col => {
                    let _ = write!(o, "<td class=\"cell self\"></td>");
                }
                None => {
                    let _ = write!(o, "<td class=\"cell none\"></td>");
                }
            }
        }
        let _ = writeln!(o, "</tr>");
    }
    let _ = writeln!(o, "</table>");
}

fn finding(o: &mut String, f: &Finding) {
    let class = if f.baselined {
        "finding baselined"
    } else {
        "finding"
    };
    let _ = writeln!(o, "<section class=\"{class}\" id=\"{}\">", esc(&f.id));
    let accepted = if f.baselined {
        " <em>(baselined: does not fail the run)</em>"
    } else {
        ""
    };
    let _ = writeln!(
        o,
        "<h3>{} <span class=\"sev {sev}\">{sev}</span> {} {}: {}{accepted}</h3>",
        esc(&f.id),
        esc(&f.checklist),
        esc(&f.cause),
        esc(&f.title),
        sev = f.severity.as_str()
    );
    let _ = writeln!(
        o,
        "<p><strong>Cause:</strong> {}<br><strong>Users:</strong> {}</p>",
        esc(&f.cause_text),
        esc(&f.users.join(", "))
    );
    let _ = writeln!(o, "<ol>");
    for line in &f.story {
        let _ = writeln!(o, "<li>{}</li>", code_spans(&esc(line)));
    }
    let _ = writeln!(o, "</ol>");
    let _ = writeln!(
        o,
        "<p><strong>Evidence:</strong> {}</p>",
        esc(&evidence_line(&f.evidence))
    );
    for e in &f.supporting {
        let _ = writeln!(
            o,
            "<p><strong>Also:</strong> {}</p>",
            esc(&evidence_line(e))
        );
    }
    let places: Vec<&str> = f.seen_in.iter().map(|p| seen_in_text(p)).collect();
    let _ = writeln!(
        o,
        "<p><strong>Seen in:</strong> {}<br><strong>Seen by:</strong> {} (proof from {}; fingerprint <code>{}</code>)</p>",
        esc(&places.join("; ")),
        esc(&f.witnesses.join(", ")),
        esc(&f.scenario),
        esc(&f.fingerprint)
    );
    let _ = writeln!(
        o,
        "<details open><summary>Trace ({} operations)</summary>\n<table class=\"trace\">",
        f.trace.len()
    );
    let _ = writeln!(
        o,
        "<tr><th>phase</th><th>step</th><th>user</th><th>operation</th><th>outcome</th></tr>"
    );
    for t in &f.trace {
        let class = if t.evidence {
            " class=\"evidence\""
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            t.phase,
            t.step,
            esc(&t.user),
            esc(&t.op),
            esc(&t.outcome)
        );
    }
    let _ = writeln!(o, "</table>\n</details>");
    // The plain-text trace too, for copying into an issue.
    let text: Vec<String> = f.trace.iter().map(trace_line).collect();
    let _ = writeln!(
        o,
        "<details><summary>As text</summary><pre>{}</pre></details>",
        esc(&text.join("\n"))
    );
    let _ = writeln!(o, "<p>Replay:</p><pre>{}</pre>", esc(&f.replay));
    let _ = writeln!(o, "</section>");
}

fn scenarios(o: &mut String, r: &Report) {
    let _ = writeln!(o, "<h2>Scenarios</h2>\n<table id=\"scenarios\">");
    let _ = writeln!(
        o,
        "<tr><th>scenario</th><th>status</th><th>cases</th><th>note</th></tr>"
    );
    for s in &r.scenarios {
        let mut note = esc(s.note.as_deref().unwrap_or(""));
        for line in s.verdict_lines() {
            if !note.is_empty() {
                note.push_str("<br>");
            }
            note.push_str(&esc(&line));
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{note}</td></tr>",
            esc(&s.name),
            esc(&s.status),
            esc(&s.status),
            s.cases,
        );
    }
    let _ = writeln!(o, "</table>");
    if !r.not_judged.is_empty() {
        let _ = writeln!(o, "<h2>Could not judge</h2>\n<ul>");
        for n in &r.not_judged {
            let _ = writeln!(o, "<li>{}: {}</li>", esc(&n.scenario), esc(&n.reason));
        }
        let _ = writeln!(o, "</ul>");
    }
    if !r.refusals.is_empty() {
        let _ = writeln!(o, "<h2>Refused user ids</h2>\n<ul>");
        for x in &r.refusals {
            let _ = writeln!(
                o,
                "<li>{} ids (e.g. {}): {}</li>",
                x.users,
                esc(&x.example),
                esc(&x.error)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    if !r.errors.is_empty() {
        let _ = writeln!(o, "<h2>Subject errors</h2>\n<ul>");
        for e in &r.errors {
            let _ = writeln!(
                o,
                "<li>{} &times; <code>{}</code>: {}</li>",
                e.count,
                esc(&e.operation),
                esc(&e.error)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "<h2>Replay</h2>\n<pre>{}</pre>", esc(&r.replay));
}

/// `a` spans of escaped text as `<code>a</code>`, when the backticks pair
/// up (the stories quote operations so).
fn code_spans(escaped: &str) -> String {
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escaped.to_string();
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{p}</code>");
        } else {
            out.push_str(p);
        }
    }
    out
}

/// Text safe in HTML content and attribute values; control characters
/// (other than newlines and tabs) as `\u{..}`.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_hostile_text_inert() {
        assert_eq!(code_spans("a `b` c"), "a <code>b</code> c");
        assert_eq!(code_spans("a `b c"), "a `b c");
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\"\0"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;\\u{0}"
        );
    }
}
