//! `isocheck merge`: the reports of `--partition 1/n` ... `n/n` of one run
//! (same subject, seed and options) as one report. The CI matrix is the
//! distributed engine; this is its reduce step.
//!
//! - Findings: all partitions' findings regrouped by root cause (one per
//!   fingerprint, the others' observations as witnesses), ranked again.
//! - Scenarios: cases summed; `fail` if any part failed, else `aborted` if
//!   any part was cut short, else `pass` if any part passed (that part made
//!   the observations a pass needs), else `not-tested`. Id classes: aliased
//!   if any part found the alias, tried and refused ids summed; subject
//!   errors summed per operation and error.
//! - The checklist is judged again from the merged scenarios and findings.
//! - A subject failure or an incomplete part makes the merged report say
//!   so, naming the part.

use super::checklist::checklist;
use super::group;
use crate::check::{self, Family};
use crate::report::{
    ClassVerdict, IdentifierVerdict, Refusal, Report, ScenarioResult, SubjectErrors, Summary,
};

/// One report of `parts`, or why they are not the parts of one run.
pub fn merge(mut parts: Vec<Report>) -> Result<Report, String> {
    let n = check_parts(&mut parts)?;
    let first = &parts[0];
    let mut scenarios: Vec<ScenarioResult> = Vec::new();
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    let mut refusals: Vec<Refusal> = Vec::new();
    let mut errors: std::collections::BTreeMap<(String, String), usize> = Default::default();
    let mut not_judged = Vec::new();
    let mut subject_failure = None;
    let mut incomplete = None;
    for part in &parts {
        let name = part.partition.clone().unwrap_or_default();
        for s in &part.scenarios {
            match scenarios.iter_mut().find(|m| m.name == s.name) {
                Some(m) => join_scenario(m, s),
                None => scenarios.push(s.clone()),
            }
        }
        findings.extend(part.findings.iter().cloned());
        summary.cases += part.summary.cases;
        summary.operations += part.summary.operations;
        summary.shrink_runs += part.summary.shrink_runs;
        summary.subject_errors += part.summary.subject_errors;
        for r in &part.refusals {
            match refusals.iter_mut().find(|m| m.error == r.error) {
                Some(m) => m.users += r.users,
                None => refusals.push(r.clone()),
            }
        }
        for e in &part.errors {
            *errors
                .entry((e.operation.clone(), e.error.clone()))
                .or_default() += e.count;
        }
        for nj in &part.not_judged {
            if !not_judged.contains(nj) {
                not_judged.push(nj.clone());
            }
        }
        if let Some(f) = &part.subject_failure {
            subject_failure.get_or_insert(format!("partition {name}: {f}"));
        }
        if let Some(i) = &part.incomplete {
            incomplete.get_or_insert(format!("partition {name}: {i}"));
        }
    }
    // What a part could not judge but another part judged is judged.
    not_judged.retain(|nj| {
        scenarios
            .iter()
            .find(|s| s.name == nj.scenario)
            .is_none_or(|s| s.status != "pass")
    });
    let findings = group::group(findings);
    let families: Vec<&'static dyn Family> = scenarios
        .iter()
        .filter_map(|s| check::family(&s.name))
        .collect();
    let checklist = checklist(&findings, &scenarios, &families);
    summary.count(&findings);
    let part_flag = format!(" --partition 1/{n}");
    Ok(Report {
        schema: first.schema,
        subject: first.subject.clone(),
        framework: first.framework.clone(),
        seed: first.seed,
        summary,
        checklist,
        scenarios,
        findings,
        refusals,
        errors: SubjectErrors::from_counts(errors),
        not_judged,
        subject_failure,
        config_error: parts.iter().any(|p| p.config_error),
        start_failed: false,
        replay: first.replay.replace(&part_flag, ""),
        incomplete,
        baseline: None,
        partition: None,
    })
}

/// Checks that `parts` are partitions 1/n ... n/n of one run (sorting
/// them by partition); returns n.
fn check_parts(parts: &mut [Report]) -> Result<usize, String> {
    let Some(first) = parts.first() else {
        return Err("no reports to merge".into());
    };
    let parse = |p: &Report| -> Result<(usize, usize), String> {
        let text = p.partition.as_deref().ok_or_else(|| {
            format!(
                "a report of subject {} is not a partition (run with --partition I/N)",
                p.subject
            )
        })?;
        let (i, n) = text.split_once('/').ok_or("a malformed partition")?;
        Ok((
            i.parse().map_err(|_| "a malformed partition")?,
            n.parse().map_err(|_| "a malformed partition")?,
        ))
    };
    let (_, n) = parse(first)?;
    let (subject, seed, schema) = (first.subject.clone(), first.seed, first.schema);
    // The run's options, as its replay line spells them (partition aside).
    let options = |p: &Report| {
        let (i, n) = parse(p).unwrap_or((0, 0));
        p.replay.replace(&format!(" --partition {i}/{n}"), "")
    };
    let want = options(first);
    for p in parts.iter() {
        let (_, pn) = parse(p)?;
        if p.subject != subject || p.seed != seed || p.schema != schema || pn != n {
            return Err(format!(
                "the reports are not parts of one run: {} seed {} (of {n}) and {} seed {} (of {pn})",
                subject, seed, p.subject, p.seed
            ));
        }
        if options(p) != want {
            return Err(format!(
                "the reports are not parts of one run: `{want}` and `{}`",
                options(p)
            ));
        }
    }
    parts.sort_by_key(|p| parse(p).map(|(i, _)| i).unwrap_or(0));
    let have: Vec<usize> = parts
        .iter()
        .filter_map(|p| parse(p).ok())
        .map(|(i, _)| i)
        .collect();
    let all: Vec<usize> = (1..=n).collect();
    if have != all {
        let missing: Vec<String> = all
            .iter()
            .filter(|i| !have.contains(i))
            .map(|i| format!("{i}/{n}"))
            .collect();
        return Err(if missing.is_empty() {
            format!("a partition is given twice (have {have:?} of {n})")
        } else {
            format!("partitions missing: {}", missing.join(", "))
        });
    }
    Ok(n)
}

/// `m` (merged so far) joined with the same family's result `s`.
fn join_scenario(m: &mut ScenarioResult, s: &ScenarioResult) {
    m.cases += s.cases;
    let rank = |st: &str| match st {
        "fail" => 3,
        "aborted" => 2,
        "pass" => 1,
        _ => 0,
    };
    if rank(&s.status) > rank(&m.status) {
        m.status = s.status.clone();
        m.note = s.note.clone();
    } else if s.status == m.status && m.note != s.note {
        // Budget notes and the like: keep the first part's.
        if m.note.is_none() {
            m.note = s.note.clone();
        }
    }
    for c in &s.id_classes {
        match m.id_classes.iter_mut().find(|x| x.class == c.class) {
            Some(x) => join_class(x, c),
            None => m.id_classes.push(c.clone()),
        }
    }
    for c in &s.identifiers {
        match m.identifiers.iter_mut().find(|x| x.kind == c.kind) {
            Some(x) => join_identifier(x, c),
            None => m.identifiers.push(c.clone()),
        }
    }
}

/// One identifier kind over parts: the counts add up, the strongest
/// verdict wins (a bypass found in any part is a bypass).
fn join_identifier(x: &mut IdentifierVerdict, c: &IdentifierVerdict) {
    x.presented += c.presented;
    x.judged += c.judged;
    let rank = |v: &str| match v {
        "bypassed" => 3,
        "shared-store" => 2,
        "enforced" => 1,
        _ => 0,
    };
    if rank(&c.verdict) > rank(&x.verdict) {
        x.verdict = c.verdict.clone();
    }
}

fn join_class(x: &mut ClassVerdict, c: &ClassVerdict) {
    x.ids_tried += c.ids_tried;
    x.ids_refused += c.ids_refused;
    let rank = |v: &str| match v {
        "aliased" => 4,
        "shared-store" => 3,
        "isolated" => 2,
        "refused" => 1,
        _ => 0,
    };
    x.verdict = if rank(&c.verdict) > rank(&x.verdict) {
        c.verdict.clone()
    } else {
        x.verdict.clone()
    };
    if x.verdict == "isolated" || x.verdict == "refused" {
        // Recomputed from the sums: refused only if every id was.
        x.verdict = if x.ids_tried > 0 && x.ids_refused == x.ids_tried {
            "refused".into()
        } else if x.ids_tried > 0 {
            "isolated".into()
        } else {
            "not-tried".into()
        };
    }
}
