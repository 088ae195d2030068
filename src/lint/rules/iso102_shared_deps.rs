//! ISO102: `DeepAgentDeps` shared by all users.

use super::iso101_shared_backend::shared_use;
use crate::lint::diagnostic::Finding;
use crate::lint::known::Kind;
use crate::lint::model::{Model, Scope};

declare_rule! {
    /// # ISO102 shared-deps
    ///
    /// Checklist item: C1 (a separate backend per user).
    ///
    /// ## What it does
    /// Finds `DeepAgentDeps(...)` (or `create_default_deps(...)`) created at module
    /// scope or as a class attribute and used on a per-request path, typically as
    /// `agent.run(..., deps=deps)` inside a route handler.
    ///
    /// ## Why is this bad
    /// The deps carry the backend, the todo list, uploads, subagents and the
    /// checkpoint store. One deps object for all requests means one state for all
    /// users: memory, plans, files and checkpoints leak between them.
    ///
    /// ## Example
    /// ```python
    /// deps = DeepAgentDeps(backend=StateBackend())
    ///
    /// @app.post("/chat")
    /// async def chat(message: str):
    ///     return await agent.run(message, deps=deps)
    /// ```
    ///
    /// ## Fix
    /// Build the deps inside the request path, from the user's own backend:
    /// ```python
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=backend_for(user_id))
    ///     return await agent.run(message, deps=deps)
    /// ```
    pub const RULE = ("ISO102", "shared-deps", "C1", High, "DeepAgentDeps created at module scope and used for per-request runs");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        if cs.kind != Some(Kind::DeepAgentDeps) || matches!(cs.scope, Scope::Func(_)) {
            continue;
        }
        if let Some(user) = shared_use(m, cs.scope, &cs.targets) {
            out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(cs.call),
                format!("`DeepAgentDeps` created at module scope is shared by every request (used in `{user}`)"),
            ));
        }
    }
}
