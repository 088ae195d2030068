//! ISO124: a module-level LangGraph store read or written per request under a namespace without the user.

use ruff_python_ast::Expr;

use super::lg_common::{exprs, literal};
use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::{Model, Scope};

declare_rule! {
    /// # ISO124 store-key-without-user
    ///
    /// Checklist item: C1 (a separate backend per user).
    ///
    /// ## What it does
    /// Finds a LangGraph store created at module scope (`InMemoryStore()`,
    /// `PostgresStore(...)`) that a function on a per-request path reads or
    /// writes (`put`, `get`, `search`, `delete`, and their `a...` forms) under
    /// a namespace made of constants only (`("memories",)`).
    ///
    /// ## Why is this bad
    /// One store serves every thread and every user of the app; the namespace
    /// is the only thing that separates them. A constant namespace is one
    /// drawer for everybody: what one user's run saves, the next user's run
    /// finds.
    ///
    /// ## Example
    /// ```python
    /// store = InMemoryStore()
    ///
    /// @app.post("/remember")
    /// async def remember(user_id: str, fact: str):
    ///     await store.aput(("memories",), str(uuid4()), {"fact": fact})
    /// ```
    ///
    /// ## Fix
    /// Put the authenticated user in the namespace: `("memories", user_id)`.
    pub const RULE = ("ISO124", "store-key-without-user", "C1", High, "A module-level LangGraph store used per request under a namespace with no per-user part");
}

const METHODS: &[&str] = &[
    "put", "aput", "get", "aget", "search", "asearch", "delete", "adelete",
];

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    let stores: Vec<&str> = m
        .calls
        .iter()
        .filter(|cs| cs.kind == Some(Kind::LgStore) && matches!(cs.scope, Scope::Module))
        .flat_map(|cs| cs.targets.iter().filter(|t| !t.attr).map(|t| t.name))
        .collect();
    if stores.is_empty() {
        return;
    }
    for f in m.functions.iter().filter(|f| f.per_request) {
        for e in exprs(f) {
            let Expr::Call(c) = e else { continue };
            let Expr::Attribute(a) = &*c.func else {
                continue;
            };
            let Expr::Name(obj) = &*a.value else { continue };
            if !stores.contains(&obj.id.as_str()) || f.locals.contains(obj.id.as_str()) {
                continue;
            }
            if !METHODS.contains(&a.attr.id.as_str()) {
                continue;
            }
            let ns = known::arg(c, 0, &["namespace", "namespace_prefix"]);
            let Some(Expr::Tuple(t)) = ns else { continue };
            if t.elts.iter().all(literal) {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(t),
                    format!(
                        "module-level store `{}` used in `{}` under the namespace {}: no per-user part, every user shares it",
                        obj.id,
                        f.name,
                        known::snippet(m.source, t)
                    ),
                ));
            }
        }
    }
}
