//! ISO109: deepagents StoreBackend without a per-user namespace.

use ruff_python_ast::Expr;

use crate::lint::diagnostic::{Finding, Severity};
use crate::lint::known::{self, Kind};
use crate::lint::model::Model;

declare_rule! {
    /// # ISO109 store-without-user-namespace
    ///
    /// Checklist item: C1 (a separate backend per user).
    ///
    /// ## What it does
    /// Finds a deepagents `StoreBackend(...)` with no `namespace=` factory, or with
    /// one that does not involve the user (no `user` in the factory's code, e.g.
    /// `namespace=lambda rt: ("memories",)`). Reported at info severity in a file
    /// with no multi-user entry point (LangGraph deployments often have none in
    /// the file that builds the agent).
    ///
    /// ## Why is this bad
    /// A LangGraph store is shared by every thread and every user of the
    /// deployment. Without a per-user namespace, `/memories/` routed to the store
    /// is one directory for everybody: a user reads another's saved memories.
    ///
    /// ## Example
    /// ```python
    /// backend = lambda rt: CompositeBackend(
    ///     default=StateBackend(rt),
    ///     routes={"/memories/": StoreBackend(rt)},
    /// )
    /// ```
    ///
    /// ## Fix
    /// Give the store a namespace that includes the user id:
    /// ```python
    /// StoreBackend(namespace=lambda rt: ("memories", rt.context.user_id))
    /// ```
    pub const RULE = ("ISO109", "store-without-user-namespace", "C1", High, "deepagents StoreBackend without a namespace factory that includes the user");
}

/// Source text of a namespace factory: the expression, or the same-file function it names.
fn factory_text<'a>(m: &Model<'a>, ns: &Expr) -> &'a str {
    let text = |r: ruff_text_size::TextRange| m.source.get(r.to_std_range()).unwrap_or("");
    if let Expr::Name(n) = ns {
        if let Some(ids) = m.func_by_name.get(n.id.as_str()) {
            if let Some(&i) = ids.first() {
                return text(ruff_text_size::Ranged::range(m.functions[i].def));
            }
        }
    }
    text(ruff_text_size::Ranged::range(ns))
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        if cs.kind != Some(Kind::DaStore) {
            continue;
        }
        let message = match known::keyword(cs.call, "namespace") {
            None => "`StoreBackend` without `namespace=`: the store is shared by all users".to_string(),
            Some(ns) if !factory_text(m, ns).to_ascii_lowercase().contains("user") => format!(
                "`StoreBackend` namespace `{}` has no per-user part: the store is shared by all users",
                known::snippet(m.source, ns)
            ),
            Some(_) => continue,
        };
        let f = Finding::new(&RULE, ruff_text_size::Ranged::range(cs.call), message);
        out.push(if m.has_entry {
            f
        } else {
            f.with_severity(Severity::Info)
        });
    }
}
