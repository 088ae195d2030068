//! ISO123: a deepagents backend whose `execute` runs `subprocess(..., shell=True)`.

use ruff_python_ast::Expr;

use super::lg_common::exprs;
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO123 shell-true-execute
    ///
    /// Checklist item: C5 (sandboxed execution of untrusted code).
    ///
    /// ## What it does
    /// Finds a method `execute` (or `aexecute`) of a class in a file that
    /// imports deepagents (a backend implementing `SandboxBackendProtocol`,
    /// typically a `BaseSandbox` subclass) that calls `subprocess.run`,
    /// `Popen`, `call`, `check_call` or `check_output` with `shell=True`.
    ///
    /// ## Why is this bad
    /// deepagents' `execute` tool hands the model's command string to the
    /// backend. A backend that runs it with a host shell is no sandbox:
    /// every user's prompt runs with the server's rights, sees every other
    /// user's files and the server's secrets.
    ///
    /// ## Example
    /// ```python
    /// class MySandbox(BaseSandbox):
    ///     def execute(self, command, *, timeout=None):
    ///         p = subprocess.run(command, shell=True, capture_output=True, text=True)
    /// ```
    ///
    /// ## Fix
    /// Run the command inside a per-user container or remote sandbox
    /// (`docker exec`, a sandbox provider's API), never in a host shell.
    pub const RULE = ("ISO123", "shell-true-execute", "C5", High, "A deepagents backend whose execute runs the command in a host shell (subprocess, shell=True)");
}

const SPAWN: &[&str] = &["run", "Popen", "call", "check_call", "check_output"];

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    let deepagents = m
        .imports
        .values()
        .any(|q| q == "deepagents" || q.starts_with("deepagents."));
    if !deepagents {
        return;
    }
    for f in &m.functions {
        if f.class.is_none() || !matches!(f.name, "execute" | "aexecute") {
            continue;
        }
        for e in exprs(f) {
            let Expr::Call(c) = e else { continue };
            let callee = match &*c.func {
                Expr::Attribute(a) => a.attr.id.as_str(),
                Expr::Name(n) => n.id.as_str(),
                _ => continue,
            };
            if !SPAWN.contains(&callee) {
                continue;
            }
            let shell = known::keyword(c, "shell")
                .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value));
            if shell {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(c),
                    format!(
                        "`{}.{}` runs the agent's command in a host shell (`{}`): no sandbox between users and the server",
                        f.class.unwrap_or(""),
                        f.name,
                        known::snippet(m.source, c)
                    ),
                ));
            }
        }
    }
}
