//! ISO103: a checkpoint store shared by all users.

use ruff_python_ast::Expr;

use crate::lint::diagnostic::Finding;
use crate::lint::model::{Model, Scope};

declare_rule! {
    /// # ISO103 shared-checkpoint-store
    ///
    /// Checklist item: C2 (a separate checkpoint store per user).
    ///
    /// ## What it does
    /// Finds a checkpoint store created at module scope (pydantic-deep
    /// `InMemoryCheckpointStore`, `FileCheckpointStore` with a fixed directory, a
    /// LangGraph checkpointer such as `MemorySaver`/`SqliteSaver`) that is passed
    /// into per-request deps: `checkpoint_store=store` or `checkpointer=store`
    /// inside a function on a per-request path.
    ///
    /// ## Why is this bad
    /// Checkpoints hold whole conversations. One store for all users lets a user
    /// list, restore or fork another user's checkpoints.
    ///
    /// ## Example
    /// ```python
    /// store = FileCheckpointStore("/var/checkpoints")
    ///
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=StateBackend(), checkpoint_store=store)
    /// ```
    ///
    /// ## Fix
    /// Create a store per user, in a directory with a validated per-user part:
    /// ```python
    ///     store = FileCheckpointStore(CHECKPOINTS / safe_user_dir(user_id))
    /// ```
    pub const RULE = ("ISO103", "shared-checkpoint-store", "C2", High, "A module-level checkpoint store passed into per-request deps");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        if !cs.kind.is_some_and(|k| k.checkpoint_store()) || !matches!(cs.scope, Scope::Module) {
            continue;
        }
        let passed_in = m.calls.iter().find(|use_site| {
            m.func_of(use_site.scope).is_some_and(|f| {
                f.per_request
                    && ["checkpoint_store", "checkpointer"].iter().any(|k| {
                        crate::lint::known::keyword(use_site.call, k).is_some_and(|v| {
                            matches!(v, Expr::Name(n) if !f.locals.contains(n.id.as_str())
                                && cs.targets.iter().any(|t| !t.attr && t.name == n.id.as_str()))
                        })
                    })
            })
        });
        if let Some(site) = passed_in {
            let user = m.func_of(site.scope).map_or("?", |f| f.name);
            out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(cs.call),
                format!(
                    "checkpoint store `{}` created at module scope is passed into per-request deps in `{user}`: all users share checkpoints",
                    cs.kind.map_or("", |k| k.display())
                ),
            ));
        }
    }
}
