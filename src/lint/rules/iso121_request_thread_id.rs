//! ISO121: a `thread_id` taken from the request into the config, no ownership check.

use ruff_python_ast::Expr;

use super::lg_common::{configurable_dicts, dict_get, names_user};
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::{Func, Model};

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

/// Whether `e` is an id the chat platform assigns, which the user cannot
/// choose: `message.chat.id`, `update.effective_user.id`,
/// `ctx.author.id`: the `id` of the sender or the chat.
fn platform_id(e: &Expr) -> bool {
    let (field, inner) = match e {
        Expr::Attribute(a) => (a.attr.id.as_str(), &*a.value),
        _ => return false,
    };
    if field != "id" {
        return false;
    }
    let owner = match inner {
        Expr::Attribute(a) => a.attr.id.as_str(),
        _ => return false,
    };
    matches!(
        owner,
        "chat"
            | "effective_chat"
            | "from_user"
            | "effective_user"
            | "sender"
            | "author"
            | "channel"
            | "guild"
    )
}

/// Whether `e` is a parameter's value as it came in: the parameter or a
/// field of it, through `x or default`, `a if c else b`, `str(x)`, and
/// local names assigned such a value (`tid = body.thread_id or
/// str(uuid4())`; a few assignments deep). An f-string or any other
/// computation is not "as it came in".
fn from_request(e: &Expr, f: &Func, params: &[&str], depth: u8) -> bool {
    match e {
        Expr::Name(n) if params.contains(&n.id.as_str()) => true,
        Expr::Name(n) => {
            depth < 4
                && f.local_assigns
                    .get(n.id.as_str())
                    .is_some_and(|rhs| rhs.iter().any(|r| from_request(r, f, params, depth + 1)))
        }
        Expr::Attribute(_) | Expr::Subscript(_) => {
            !platform_id(e) && root_name(e).is_some_and(|r| params.contains(&r))
        }
        Expr::BoolOp(b) => b.values.iter().any(|v| from_request(v, f, params, depth)),
        Expr::If(i) => {
            from_request(&i.body, f, params, depth) || from_request(&i.orelse, f, params, depth)
        }
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "str")
                && c.arguments.args.len() == 1
                && from_request(&c.arguments.args[0], f, params, depth)
        }
        _ => false,
    }
}

declare_rule! {
    /// # ISO121 request-thread-id
    ///
    /// Checklist item: C2 (a separate checkpoint store per user), and C3.
    ///
    /// ## What it does
    /// Finds a request handler that puts one of its own parameters, as it
    /// came in, into a LangGraph config as `thread_id` (the dict under
    /// `"configurable"` or `configurable=`; a response body is no config)
    /// (`{"configurable": {"thread_id": thread_id}}`, or a field of the
    /// request body: `body.thread_id`, also through a local such as
    /// `tid = body.thread_id or str(uuid4())`), in a handler that
    /// never mentions a user, owner or tenant: no ownership check is visible
    /// (what a user said, `user_message` or `user_input`, is no identity).
    /// An id the chat platform assigns (`message.chat.id`,
    /// `update.effective_user.id`) is not chosen by the user.
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
        for (d, _) in configurable_dicts(f) {
            let Some(v) = dict_get(d, "thread_id") else {
                continue;
            };
            if from_request(v, f, &params, 0) {
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
