//! ISO111: harness memory whose namespace does not include the user.

use ruff_python_ast::Expr;

use crate::lint::diagnostic::{Finding, Severity};
use crate::lint::known;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO111 memory-namespace-without-user
    ///
    /// Checklist item: C1 (separate backend per user).
    ///
    /// ## What it does
    /// Finds agent memory (pydantic-ai-harness `Memory`, as pydantic-deep
    /// 0.3.50 wires it) scoped by a namespace with no per-user part:
    /// `create_deep_agent(memory_namespace="...")`,
    /// `build_memory_capability(namespace="...")` or `Memory(..., namespace="...")`
    /// with a fixed string, and `Memory(store)` without a namespace over a
    /// store that lives outside the run's workspace (`SqliteMemoryStore`,
    /// `PostgresMemoryStore`, `InMemoryStore`, `FileStore(..., workspace=...)`).
    ///
    /// ## Why is this bad
    /// The notebook lives at `{namespace}/{agent}/MEMORY.md` in the store. With
    /// one store for the app and a fixed (or no) namespace, every user's agent
    /// reads and writes the same notebook, and `MEMORY.md` is injected into
    /// every user's prompt.
    ///
    /// ## Example
    /// ```python
    /// memory = Memory(SqliteMemoryStore(database="memory.db"))
    /// ```
    ///
    /// ## Fix
    /// Resolve the namespace from the run: `namespace=lambda ctx: ctx.deps.user_id`
    /// (a validated id: the harness refuses anything but letters, digits, `_ - .`).
    pub const RULE = ("ISO111", "memory-namespace-without-user", "C1", High, "Agent memory whose namespace has no per-user part: one notebook for every user");
}

const HARNESS: &[&str] = &["pydantic_ai_harness"];
const OUTSIDE_STORES: &[&str] = &["SqliteMemoryStore", "PostgresMemoryStore", "InMemoryStore"];

fn fixed(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(_) => true,
        Expr::FString(f) => known::fstring_exprs(f).next().is_none(),
        _ => false,
    }
}

/// A store call that keeps memory outside the run's workspace.
fn outside_store(m: &Model, e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    let Some(qual) = m.qualify(&c.func) else {
        return false;
    };
    m.is_sym(&qual, HARNESS, OUTSIDE_STORES)
        || (m.is_sym(&qual, HARNESS, &["FileStore"]) && known::keyword(c, "workspace").is_some())
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        let Some(qual) = cs.qual.as_deref() else {
            continue;
        };
        let (key, what) = if m.is_sym(qual, known::PD, &["create_deep_agent"]) {
            ("memory_namespace", "create_deep_agent")
        } else if m.is_sym(qual, known::PD, &["build_memory_capability"]) {
            ("namespace", "build_memory_capability")
        } else if m.is_sym(qual, HARNESS, &["Memory"]) {
            ("namespace", "Memory")
        } else {
            continue;
        };
        let message = match known::keyword(cs.call, key) {
            Some(ns) if fixed(ns) => format!(
                "`{what}({key}={})` has no per-user part: every user's agent shares one memory notebook",
                known::snippet(m.source, ns)
            ),
            None if what == "Memory"
                && known::arg(cs.call, 0, &["store"]).is_some_and(|s| outside_store(m, s)) =>
            {
                "`Memory` over a store outside the run's workspace without `namespace=`: every user's agent shares one memory notebook".to_string()
            }
            _ => continue,
        };
        let f = Finding::new(&RULE, ruff_text_size::Ranged::range(cs.call), message);
        out.push(if m.has_entry {
            f
        } else {
            f.with_severity(Severity::Info)
        });
    }
}
