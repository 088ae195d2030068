//! One finding per root cause across the whole run, ranked, with stable
//! fingerprints.
//!
//! Families find causes independently; the same shared memory store is
//! seen by cross-read, memory-collision and hostile-user-ids alike. Here
//! findings of one cause (checklist item, cause class, store) become one:
//! the strongest observation leads (a content leak over interference over
//! an existence leak; then the first scenario in run order), the others
//! become its supporting evidence and its witnesses. An id-alias or
//! id-replay cause on a store that plain ids already share is no separate
//! bug: it joins the shared-store finding as a witness.

use sha2::{Digest, Sha256};

use crate::check::cause::strength;
use crate::report::{Evidence, Finding};

/// The grouping key of a finding.
fn key(f: &Finding) -> (String, String, crate::check::Surface) {
    (f.checklist.clone(), f.cause.clone(), f.store)
}

/// Merges `findings` (in run order) into one per root cause, ranked by
/// severity then checklist item, with ids `F1`... and fingerprints.
pub fn group(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out.iter_mut().find(|g| key(g) == key(&f)) {
            Some(g) => absorb(g, f),
            None => out.push(f),
        }
    }
    // An id alias on a store plain ids share: a witness of the shared store.
    let shared: Vec<(String, crate::check::Surface)> = out
        .iter()
        .filter(|f| f.cause == "shared-store")
        .map(|f| (f.checklist.clone(), f.store))
        .collect();
    let mut kept: Vec<Finding> = Vec::new();
    let mut aliases: Vec<Finding> = Vec::new();
    for f in out {
        let by_id = f.cause.starts_with("id-alias/") || f.cause.starts_with("id-replay/");
        if by_id && shared.contains(&(f.checklist.clone(), f.store)) {
            aliases.push(f);
        } else {
            kept.push(f);
        }
    }
    for a in aliases {
        if let Some(g) = kept
            .iter_mut()
            .find(|g| g.cause == "shared-store" && g.checklist == a.checklist && g.store == a.store)
        {
            for w in a.witnesses {
                if !g.witnesses.contains(&w) {
                    g.witnesses.push(w);
                }
            }
        }
    }
    for f in &mut kept {
        f.fingerprint = fingerprint(f);
    }
    // Ranked: severity (critical first), item, then cause and store; the
    // sort is stable, so ties keep run order.
    kept.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.checklist.cmp(&b.checklist))
            .then_with(|| a.cause.cmp(&b.cause))
            .then_with(|| a.store.cmp(&b.store))
    });
    for (i, f) in kept.iter_mut().enumerate() {
        f.id = format!("F{}", i + 1);
    }
    kept
}

/// Folds `f` (same cause) into `g`: the stronger leads, the weaker's
/// evidence supports it, both scenarios witness it.
fn absorb(g: &mut Finding, mut f: Finding) {
    let stronger = (f.severity, strength(f.kind)) > (g.severity, strength(g.kind));
    if stronger {
        std::mem::swap(g, &mut f);
        // The earlier scenario still witnessed it first.
        let mut w = f.witnesses.clone();
        for x in std::mem::take(&mut g.witnesses) {
            if !w.contains(&x) {
                w.push(x);
            }
        }
        g.witnesses = w;
    } else {
        for x in &f.witnesses {
            if !g.witnesses.contains(x) {
                g.witnesses.push(x.clone());
            }
        }
    }
    for place in &f.seen_in {
        if !g.seen_in.contains(place) {
            g.seen_in.push(place);
        }
    }
    let mut add = |e: Evidence| {
        let dup = e.kind == g.evidence.kind || g.supporting.iter().any(|s| s.kind == e.kind);
        if !dup {
            g.supporting.push(e);
        }
    };
    add(f.evidence);
    for s in f.supporting {
        add(s);
    }
}

/// A stable id of the cause: item, cause class and store, plus the
/// scenario for a family's own kind of problem (for a leak the scenario is
/// only a witness, and which family saw it first can change with the seed).
pub fn fingerprint(f: &Finding) -> String {
    let leak = f.cause == "shared-store"
        || f.cause.starts_with("id-alias/")
        || f.cause.starts_with("id-replay/");
    let scenario = if leak { "" } else { f.scenario.as_str() };
    let store = serde_json::to_string(&f.store).unwrap_or_default();
    let text = format!(
        "isocheck-finding/v1|{}|{}|{}|{}",
        f.checklist, f.cause, store, scenario
    );
    let d = Sha256::digest(text.as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}
