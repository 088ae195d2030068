//! history (checklist C3: message histories per user)
//!
//! What it checks: users append messages to their history and read it back,
//! concurrently; then every user reads its whole history. A history must
//! hold exactly the user's own messages: another user's message is a
//! content leak, a missing own message is interference (if another user
//! wrote in between) or an integrity finding.
//!
//! Why it matters: the history is passed to the model as `message_history=`
//! on every turn. A list or cache shared across users, or keyed by
//! something other than the user, puts one user's conversation into
//! another user's prompt.
//!
//! Fix: keep histories in a store keyed by the authenticated user id (and
//! session), never in a module-level list.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, Scenario};
use crate::subject::Capabilities;

pub struct HistoryFamily;

impl Family for HistoryFamily {
    fn name(&self) -> &'static str {
        "history"
    }
    doc_from_file!("history.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C3"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::History]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.history, "the subject has no message-history store")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        gen::scenario(cfg, gen::history_ops())
    }
}
