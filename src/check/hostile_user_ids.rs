//! hostile-user-ids (checklist C1, C2, C3)
//!
//! What it checks: the file, memory, checkpoint and history operations of
//! the other families, with user ids drawn mostly from the hostile kinds:
//! traversal (`../bob`, `bob/..`, `alice/../bob`, `.`, `..`, empty),
//! nesting (`bob/alice` next to `bob`), case variants (`Bob` / `bob`),
//! Unicode normalization variants (NFC vs NFD of `renée`), trailing
//! whitespace (`bob `), a 300-character id and NUL (`bob\0alice`).
//! Isolation must hold between every pair of distinct ids, or the subject
//! must refuse the id with an error; a refusal is reported as such and is
//! not a leak. After the random search, every class not yet found gets a
//! directed search of its own, so one class found never hides another;
//! each class aliased is its own finding, and the report lists what every
//! class did (aliased, refused, isolated, not tried).
//!
//! Why it matters: user ids reach storage through paths, directory names
//! and dictionary keys, where `..` climbs, `/` nests, case-insensitive
//! filesystems and Unicode normalization merge, and C strings stop at NUL.
//!
//! Fix: map user ids to storage with an injective function of their exact
//! bytes (a hash, or an encoding with no separators), or validate them
//! against a strict pattern and refuse the rest.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, IdMix, Scenario};
use crate::subject::Capabilities;

pub struct HostileUserIds;

impl Family for HostileUserIds {
    fn name(&self) -> &'static str {
        "hostile-user-ids"
    }
    doc_from_file!("hostile_user_ids.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C1", "C2", "C3"]
    }
    fn surfaces(&self, caps: &Capabilities) -> Vec<super::Surface> {
        use super::Surface;
        let mut v = vec![Surface::Files];
        if caps.checkpoints {
            v.push(Surface::Checkpoints);
        }
        if caps.history {
            v.push(Surface::History);
        }
        v
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.files, "the subject offers no file backend")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        let cfg = GenConfig {
            ids: IdMix::Hostile,
            ..cfg.clone()
        };
        gen::scenario(&cfg, gen::all_store_ops())
    }
    fn directed(&self, cfg: &GenConfig) -> Vec<(&'static str, BoxedStrategy<Scenario>)> {
        gen::ID_CLASSES
            .iter()
            .enumerate()
            .map(|(k, (class, _))| {
                let cfg = GenConfig {
                    ids: IdMix::Only(k as u8),
                    ..cfg.clone()
                };
                (*class, gen::scenario(&cfg, gen::all_store_ops()))
            })
            .collect()
    }
}
