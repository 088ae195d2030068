//! ISO102: `DeepAgentDeps` shared by all users.

use ruff_python_ast::Expr;

use super::iso101_shared_backend::shared_creation;
use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::Scope;
use crate::lint::program::Ctx;
use crate::lint::summary;

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

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let caller = match cs.scope {
            Scope::Func(i) => Some(i),
            _ => None,
        };
        let via = match cs.kind {
            Some(Kind::DeepAgentDeps) => None,
            Some(_) => continue,
            None => match summary::returned_kind(ctx, cs.call, caller) {
                Some((Kind::DeepAgentDeps, via)) => Some(via),
                _ => continue,
            },
        };
        let Some(shared) = shared_creation(m, cs) else {
            continue;
        };
        let what = match via {
            Some(v) => format!("`DeepAgentDeps` (returned by `{v}`)"),
            None => "`DeepAgentDeps`".to_string(),
        };
        // Deps hold what they are given: a backend built into them is shared too.
        let held = known::keyword(cs.call, "backend")
            .and_then(|b| match b {
                Expr::Call(c) => m
                    .calls
                    .iter()
                    .find(|x| std::ptr::eq(x.call, c))
                    .and_then(|x| x.kind),
                _ => None,
            })
            .filter(|k| k.holds_files() || *k == Kind::DaComposite)
            .map(|k| format!(", and so is the `{}` it holds", k.display()))
            .unwrap_or_default();
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "{what} created {} is shared by every request (used in `{}`){held}",
                shared.place, shared.user
            ),
        ));
    }
}
