//! plan-uniqueness (checklist C1, and X2 for weak ids)
//!
//! What it checks: many plan saves, concurrent, with titles that slugify
//! to the same slug (`Fix bug!`, `fix-bug`, `FIX   BUG???`), empty and
//! punctuation-only titles and non-ASCII ones, through the subject's own
//! `save_plan`. Every save must get a distinct path and read back as its
//! own; users must never see each other's plans (ls, glob, grep: C1). From
//! the ids observed in the returned paths (`/plans/{slug}-{id}.md`) it
//! estimates their entropy (alphabet size x length; a uuid counts as 128
//! bits) and the number of plans per slug at which a collision reaches 50%
//! (the birthday bound, about 1.18 x 2^(bits/2)). Below the threshold
//! (`--plan-collision-threshold`, default 2^30 plans) that is a finding (X2),
//! as is any repeated id.
//!
//! Why it matters: plans of one slug differ only by their id. Short random
//! ids collide, and a colliding save overwrites another plan: the user's
//! own on a per-user backend, another user's on a shared one.
//!
//! Fix: ids from a uuid4 (or 16+ random bytes), never a short prefix.

use std::collections::HashMap;

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, CheckCtx, Coverage, Family, Violation};
use crate::drive::{History, Obs};
use crate::gen::{self, GenConfig, Op, Scenario};
use crate::report::Kind;
use crate::subject::Capabilities;

pub struct PlanUniqueness;

/// The id part of a plan file name: a trailing uuid, else what follows the
/// last `-` of the stem.
pub fn plan_id(path: &str) -> Option<String> {
    let name = path.rsplit('/').next()?;
    let stem = name.strip_suffix(".md").unwrap_or(name);
    if stem.len() >= 36 {
        let tail = &stem[stem.len() - 36..];
        let is_uuid = tail.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
        if is_uuid {
            return Some(tail.replace('-', ""));
        }
    }
    stem.rsplit_once('-')
        .map(|(_, id)| id.to_string())
        .filter(|id| !id.is_empty())
}

/// Estimated bits of entropy of a set of ids: length x log2(alphabet),
/// the alphabet being the smallest usual class holding every character seen.
pub fn id_bits(ids: &[String]) -> Option<(f64, usize, u32)> {
    let len = ids.iter().map(|i| i.chars().count()).min()?;
    let all = ids.iter().flat_map(|i| i.chars());
    // Digits count as hex: a few random hex ids often hold no letter, and
    // a smaller alphabet would report a weakness that is not there.
    let mut class = 16u32;
    for c in all {
        let need = if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            16
        } else if c.is_ascii_lowercase() {
            36
        } else if c.is_ascii_alphanumeric() {
            62
        } else {
            64
        };
        class = class.max(need);
    }
    Some((len as f64 * (class as f64).log2(), len, class))
}

impl Family for PlanUniqueness {
    fn name(&self) -> &'static str {
        "plan-uniqueness"
    }
    doc_from_file!("plan_uniqueness.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Plans]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(
            caps.features.plans,
            "the subject offers no save_plan operation (plan ids come from the app)",
        )
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::plan_ops())
    }
    fn check(&self, h: &History, ctx: &CheckCtx, out: &mut Vec<Violation>, cov: &mut Coverage) {
        super::oracle::judge(h, out, cov);
        let mut ids: Vec<String> = Vec::new();
        let mut first: Option<usize> = None;
        let mut by_path: HashMap<String, usize> = HashMap::new();
        // Distinct titles the subject stored under one slug, from its paths.
        let mut slugs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (i, e) in h.entries.iter().enumerate() {
            let (Op::SavePlan { title, .. }, Ok(Obs::Path(p))) = (&e.op, &e.outcome) else {
                continue;
            };
            first.get_or_insert(i);
            if let Some(&j) = by_path.get(p) {
                let detail = format!(
                    "plans {:?} and {title:?} were both saved at {p}",
                    match &h.entries[j].op {
                        Op::SavePlan { title, .. } => title.as_str(),
                        _ => "",
                    }
                );
                let owner = (h.entries[j].user != e.user).then_some(h.entries[j].user);
                out.push(Violation::at(h, i, Kind::Collision, owner, detail));
            }
            by_path.insert(p.clone(), i);
            if let Some(id) = plan_id(p) {
                let name = p.rsplit('/').next().unwrap_or_default();
                if let Some(slug) = name.rsplit_once(&id[..id.len().min(6)]).map(|(s, _)| s) {
                    let titles = slugs
                        .entry(slug.trim_end_matches('-').to_string())
                        .or_default();
                    if !titles.contains(title) {
                        titles.push(title.clone());
                    }
                }
                ids.push(id);
            }
        }
        let (Some(i), Some((bits, len, class))) = (first, id_bits(&ids)) else {
            return;
        };
        let n50 = 1.1774 * 2f64.powf(bits / 2.0);
        let threshold = ctx.options.plan_collision_threshold;
        if n50 < threshold {
            let mut detail = format!(
                "plan ids carry about {bits:.0} bits ({len} characters of a {class}-symbol alphabet): \
                 a collision reaches 50% at about {n50:.0} plans per slug, below the threshold of {threshold:.0}"
            );
            if let Some((slug, titles)) = slugs.iter().find(|(_, t)| t.len() > 1) {
                let titles: Vec<String> = titles.iter().map(|t| format!("{t:?}")).collect();
                detail.push_str(&format!(
                    "; titles {} share the slug {slug:?}, so only the id tells their plans apart",
                    titles.join(" and ")
                ));
            }
            out.push(Violation::at(h, i, Kind::Collision, None, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_bits() {
        assert_eq!(
            plan_id("/plans/fix-bug-a1b2c3.md").as_deref(),
            Some("a1b2c3")
        );
        assert_eq!(
            plan_id("/plans/plan-123e4567-e89b-42d3-a456-426614174000.md").as_deref(),
            Some("123e4567e89b42d3a456426614174000")
        );
        let (bits, _, class) = id_bits(&["a1b2c3".into(), "ffee00".into()]).unwrap();
        assert_eq!((bits, class), (24.0, 16));
    }
}
