//! ISO121: a `thread_id` taken from the request into the config, no ownership check.

use ruff_python_ast::Expr;

use super::lg_common::{dict_get, exprs, names_user};
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::Model;

/// The parameter a value comes straight from: `thread_id`, `body.thread_id`,
/// `payload["thread_id"]`.
fn root_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => root_name(&a.value),
        Expr::Subscript(s) => root_name(&s.value),
        _ => None,
    }
}

declare_rule! {
    /// # ISO121 request-thread-id
    ///
    /// Checklist item: C2 (a separate checkpoint store per user), and C3.
    ///
    /// ## What it does
    /// Finds a request handler that puts one of its own parameters, as it
    /// came in, into a LangGraph config as `thread_id`
    /// (`{"configurable": {"thread_id": thread_id}}`, or a field of the
    /// request body: `body.thread_id`), in a handler that
    /// never mentions a user, owner or tenant: no ownership check is visible.
    ///
    /// ## Why is this bad
    /// LangGraph's threat model says it: checkpointers index by `thread_id`,
    /// and without application-level authorization any caller who presents a
    /// valid thread id reads and extends that thread's state. Thread ids leak
    /// (URLs, logs, shared links) and some are guessable.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/threads/{thread_id}/runs")
    /// async def run(thread_id: str, message: str):
    ///     return await graph.ainvoke({"messages": [message]},
    ///                                {"configurable": {"thread_id": thread_id}})
    /// ```
    ///
    /// ## Fix
    /// Check that the authenticated user owns the thread before using it
    /// (a table of thread owners, or LangGraph Platform's auth handlers), or
    /// scope it: `{"thread_id": f"{user.id}:{thread_id}"}`.
    pub const RULE = ("ISO121", "request-thread-id", "C2", Medium, "A thread_id taken from the request into the LangGraph config with no ownership check in sight");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for f in m.functions.iter().filter(|f| f.entry) {
        let params: Vec<&str> = f.params().map(|p| p.parameter.name.id.as_str()).collect();
        // A handler that names the user somewhere may check ownership.
        if f.loads
            .iter()
            .chain(f.attr_loads.iter())
            .chain(params.iter())
            .any(|n| names_user(n))
        {
            continue;
        }
        for e in exprs(f) {
            let Expr::Dict(d) = e else { continue };
            let Some(v) = dict_get(d, "thread_id") else {
                continue;
            };
            let Some(root) = root_name(v) else { continue };
            if params.contains(&root) {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(v),
                    format!(
                        "`thread_id` is the request's `{}` as it came in, in handler `{}`, which never checks who owns the thread: whoever presents a thread id gets its history",
                        known::snippet(m.source, v),
                        f.name
                    ),
                ));
            }
        }
    }
}
