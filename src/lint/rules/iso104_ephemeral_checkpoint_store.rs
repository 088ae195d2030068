//! ISO104: an in-memory checkpoint store created per request.

use crate::lint::diagnostic::Finding;
use crate::lint::known::Kind;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO104 ephemeral-checkpoint-store
    ///
    /// Checklist item: C2 (a separate checkpoint store per user, that keeps them).
    ///
    /// ## What it does
    /// Finds an in-memory checkpoint store (`InMemoryCheckpointStore()`, LangGraph
    /// `MemorySaver()`/`InMemorySaver()`) created inside a per-request path while
    /// checkpoints are enabled (`include_checkpoints=True`; always for LangGraph
    /// checkpointers). Not one made in a function that runs once for the app
    /// wherever it is called from: a factory whose every call ends in a
    /// global, application state, a cache or module scope (`_graph =
    /// build_graph()` under `global _graph`), across modules.
    ///
    /// ## Why is this bad
    /// The store lives only as long as the request: every request starts with no
    /// checkpoints and the ones it saves are dropped when it ends. Rewind and fork
    /// silently find nothing. The store is isolated, but it is useless.
    ///
    /// ## Example
    /// ```python
    /// agent = create_deep_agent(include_checkpoints=True)
    ///
    /// def get_deps(user_id: str) -> DeepAgentDeps:
    ///     return DeepAgentDeps(backend=..., checkpoint_store=InMemoryCheckpointStore())
    /// ```
    ///
    /// ## Fix
    /// Keep one store per user across requests: a `FileCheckpointStore` in a
    /// validated per-user directory, or an `InMemoryCheckpointStore` kept in a dict
    /// keyed by the user id.
    pub const RULE = ("ISO104", "ephemeral-checkpoint-store", "C2", Medium, "An in-memory checkpoint store created per request while checkpoints are enabled");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        let applies = match cs.kind {
            Some(Kind::InMemoryCheckpointStore) => m.include_checkpoints,
            Some(Kind::LgMemorySaver) => true,
            _ => false,
        };
        let Some(f) = m.fresh_per_request(cs).filter(|_| applies) else {
            continue;
        };
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "new `{}` per request in `{f}` while checkpoints are enabled: every request starts with none and they are lost",
                cs.kind.map_or("", |k| k.display())
            ),
        ));
    }
}
