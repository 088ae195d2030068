//! ISO120: a constant or default LangGraph `thread_id` on a per-request path.

use super::lg_common::{configurable_dicts, dict_get, literal, probe_only};
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO120 constant-thread-id
    ///
    /// Checklist item: C2 (a separate checkpoint store per user), and C3.
    ///
    /// ## What it does
    /// Finds a LangGraph config whose `thread_id` is a literal
    /// (`{"configurable": {"thread_id": "1"}}`, the quickstart's config) in a
    /// function on a per-request path, and a request handler whose
    /// `thread_id` parameter has a literal default (`thread_id: str = "default"`).
    /// Not a config that is only handed to checkpointer reads
    /// (`await checkpointer.aget_tuple({"configurable": {"thread_id":
    /// "health_check"}})` in a health check): it reaches no conversation.
    ///
    /// ## Why is this bad
    /// A checkpointer keys everything by `thread_id`: every request that runs
    /// the graph with the same thread id continues the same conversation.
    /// With a constant, every user reads and extends everybody's history and
    /// checkpoints; with a default, every client that sends none shares one.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/chat")
    /// async def chat(user: User, message: str):
    ///     config = {"configurable": {"thread_id": "1"}}
    ///     return await graph.ainvoke({"messages": [message]}, config)
    /// ```
    ///
    /// ## Fix
    /// Derive the thread id from the authenticated user (and the
    /// conversation): `{"thread_id": f"{user.id}:{conversation_id}"}`, or
    /// keep a server-side map from the user to their threads.
    pub const RULE = ("ISO120", "constant-thread-id", "C2", High, "A LangGraph thread_id that is a constant (or a literal default) on a per-request path");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for f in m.functions.iter().filter(|f| f.per_request) {
        for (d, config) in configurable_dicts(f) {
            let Some(v) = dict_get(d, "thread_id") else {
                continue;
            };
            if literal(v) && !probe_only(f, config) {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(v),
                    format!(
                        "`thread_id` is the constant {} in `{}`: every user of this path shares one LangGraph thread (history and checkpoints)",
                        known::snippet(m.source, v),
                        f.name
                    ),
                ));
            }
        }
        if !f.entry {
            continue;
        }
        for p in f.params() {
            let name = p.parameter.name.id.as_str();
            let Some(default) = p.default.as_deref() else {
                continue;
            };
            if name.to_ascii_lowercase().contains("thread") && literal(default) {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(default),
                    format!(
                        "`{name}` defaults to {} in handler `{}`: every request without one shares that LangGraph thread",
                        known::snippet(m.source, default),
                        f.name
                    ),
                ));
            }
        }
    }
}
