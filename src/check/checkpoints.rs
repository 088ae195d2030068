//! checkpoints (checklist C2: a separate checkpoint store per user)
//!
//! What it checks: users save checkpoints under the same labels
//! (`auto-1`, `auto-2`, `before-edit`), get them by id and by label, list,
//! count, remove their own and each other's ids, remove the oldest and
//! clear, concurrently; then every user lists, counts and fetches every
//! id and label. A user must see only its own checkpoints (an id or message
//! of another user in get/get_by_label/list_all is a content leak, a count
//! above its own an existence leak), and one user's remove, remove_oldest
//! or clear must never touch another user's checkpoints (interference).
//!
//! Why it matters: pydantic-deep keeps checkpoints in a `CheckpointStore`
//! separate from the backend. A store shared by all users lets one user
//! rewind into another user's conversation, and one user's clear wipes
//! everybody's.
//!
//! Fix: create the checkpoint store per user (a `FileCheckpointStore` whose
//! directory is derived safely from the user id, or one in-memory store per
//! session when checkpoints need not persist).

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, Scenario};
use crate::subject::Capabilities;

pub struct Checkpoints;

impl Family for Checkpoints {
    fn name(&self) -> &'static str {
        "checkpoints"
    }
    doc_from_file!("checkpoints.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C2"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Checkpoints]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.checkpoints, "the subject has no checkpoint store")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::checkpoint_ops())
    }
}
