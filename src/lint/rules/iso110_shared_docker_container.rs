//! ISO110: a `DockerWorkspace` with a fixed `container_name` in a multi-user app.

use ruff_python_ast::Expr;

use crate::lint::diagnostic::{Finding, Severity};
use crate::lint::known;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO110 shared-docker-container
    ///
    /// Checklist item: C1 (separate backend per user).
    ///
    /// ## What it does
    /// Finds pydantic-ai-backends' `DockerWorkspace` (pydantic-deep 0.3.50's
    /// container workspace) given a `container_name` that does not depend on
    /// the user or session: a string literal, or an f-string with no
    /// interpolation.
    ///
    /// ## Why is this bad
    /// `container_name` means "one container for every run, named by you:
    /// created on first use, attached after" (its docstring). Every user's run
    /// attaches to the same container: files, memory notebooks, plans,
    /// evicted results and anything a command left behind are shared.
    ///
    /// ## Example
    /// ```python
    /// agent = create_deep_agent(workspace=DockerWorkspace(container_name="app-sandbox"))
    /// ```
    ///
    /// ## Fix
    /// Name the container per session (`container_name=f"app-{session_id}"`
    /// with a validated id), or leave `container_name` out and keep each
    /// conversation's workspace ref (it is recorded in the message history).
    pub const RULE = ("ISO110", "shared-docker-container", "C1", High, "DockerWorkspace with a fixed container_name: every user's run attaches to one container");
}

fn fixed(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(_) => true,
        Expr::FString(f) => known::fstring_exprs(f).next().is_none(),
        _ => false,
    }
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        let Some(qual) = cs.qual.as_deref() else {
            continue;
        };
        if !m.is_sym(qual, known::PAI, &["DockerWorkspace"]) {
            continue;
        }
        let Some(name) = known::keyword(cs.call, "container_name") else {
            continue;
        };
        if !fixed(name) {
            continue;
        }
        let f = Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "`DockerWorkspace(container_name={})`: every run attaches to this one container, so all users share it",
                known::snippet(m.source, name)
            ),
        );
        out.push(if m.has_entry {
            f
        } else {
            f.with_severity(Severity::Info)
        });
    }
}
