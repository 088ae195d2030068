//! ISO105: message histories shared between users.

use ruff_python_ast::Expr;

use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::{Func, Model};

declare_rule! {
    /// # ISO105 shared-message-history
    ///
    /// Checklist item: C3 (message histories per user).
    ///
    /// ## What it does
    /// Finds `message_history=` on a per-request path fed from a module-level list,
    /// or from a dict or cache read with a key that is not per request (a constant
    /// key, so not keyed by the user id): `HISTORY`, `histories["default"]`,
    /// `cache.get("history")`, also through a local variable assigned from those.
    ///
    /// ## Why is this bad
    /// The history is the conversation. Feeding one history to every user shows
    /// each user the others' messages, and the model answers with them.
    ///
    /// ## Example
    /// ```python
    /// history: list = []
    ///
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     result = await agent.run(message, deps=get_deps(user_id), message_history=history)
    /// ```
    ///
    /// ## Fix
    /// Key histories by the user (or session) id:
    /// ```python
    ///     history = histories.get(user_id, [])
    ///     result = await agent.run(message, deps=deps, message_history=history)
    ///     histories[user_id] = result.all_messages()
    /// ```
    pub const RULE = ("ISO105", "shared-message-history", "C3", High, "message_history fed from a module-level list or a store not keyed by the user");
}

/// Why the history expression is shared between users, if it is.
fn shared_source(m: &Model, f: &Func, v: &Expr, depth: u8) -> Option<String> {
    if depth > 3 {
        return None;
    }
    let module_level = |e: &Expr| match e {
        Expr::Name(n) => {
            !f.locals.contains(n.id.as_str()) && m.module_bindings.contains_key(n.id.as_str())
        }
        Expr::Attribute(_) => m.is_constant(e, Some(f)),
        _ => false,
    };
    match v {
        Expr::Name(n) if f.locals.contains(n.id.as_str()) => f
            .local_assigns
            .get(n.id.as_str())?
            .iter()
            .find_map(|e| shared_source(m, f, e, depth + 1)),
        Expr::Name(n) => {
            let b = m.module_bindings.get(n.id.as_str())?;
            let is_list = match b.value {
                Expr::List(_) | Expr::ListComp(_) => true,
                Expr::Call(c) => m
                    .qualify(&c.func)
                    .is_some_and(|q| m.is_builtin(&q, "list") || q == "collections.deque"),
                _ => false,
            };
            is_list.then(|| format!("module-level list `{}`", n.id))
        }
        Expr::Subscript(s) if module_level(&s.value) && m.is_constant(&s.slice, Some(f)) => {
            Some(format!(
                "`{}` read with key `{}` that is not the user's",
                known::snippet(m.source, &*s.value),
                known::snippet(m.source, &*s.slice)
            ))
        }
        Expr::Call(c) => {
            let Expr::Attribute(a) = &*c.func else {
                return None;
            };
            if !matches!(a.attr.id.as_str(), "get" | "setdefault" | "pop")
                || !module_level(&a.value)
            {
                return None;
            }
            let key = c.arguments.args.first()?;
            m.is_constant(key, Some(f)).then(|| {
                format!(
                    "`{}` read with key `{}` that is not the user's",
                    known::snippet(m.source, &*a.value),
                    known::snippet(m.source, key)
                )
            })
        }
        Expr::BinOp(b) => shared_source(m, f, &b.left, depth + 1)
            .or_else(|| shared_source(m, f, &b.right, depth + 1)),
        _ => None,
    }
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let Some(f) = m.func_of(cs.scope) else {
            continue;
        };
        if !f.per_request {
            continue;
        }
        let Some(v) = known::keyword(cs.call, "message_history") else {
            continue;
        };
        if let Some(why) = shared_source(m, f, v, 0) {
            out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(v),
                format!("`message_history` in `{}` comes from {why}: users see each other's conversations", f.name),
            ));
        }
    }
}
