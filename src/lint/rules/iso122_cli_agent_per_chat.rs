//! ISO122: deepagents-cli's agent built per chat with a constant assistant and a host shell.

use ruff_python_ast::Expr;

use super::lg_common::literal;
use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::{Model, Scope};

declare_rule! {
    /// # ISO122 cli-agent-per-chat
    ///
    /// Checklist item: C5 (sandboxed execution of untrusted code), and C1.
    ///
    /// ## What it does
    /// Finds deepagents-cli's `create_cli_agent(model, assistant_id, ...)`
    /// called on a per-request path (a chat or bot handler) without a
    /// `sandbox=` and without `enable_shell=False`.
    ///
    /// ## Why is this bad
    /// The CLI agent is made for one developer at a terminal: its shell tool
    /// runs commands on the host (enable_shell defaults to True), and its
    /// memory lives under `~/.deepagents/{assistant_id}/`. Served to many
    /// users, every user's prompt drives a shell on the server, and with a
    /// constant `assistant_id` every user reads and writes one memory.
    ///
    /// ## Example
    /// ```python
    /// @bot.message_handler()
    /// def chat(message):
    ///     agent = create_cli_agent(model, "agent")
    /// ```
    ///
    /// ## Fix
    /// Pass a per-user sandbox (`sandbox=...`) or `enable_shell=False`, and an
    /// assistant id per user; better, build the server agent with
    /// `create_deep_agent` and per-user backends.
    pub const RULE = ("ISO122", "cli-agent-per-chat", "C5", High, "deepagents-cli's create_cli_agent on a per-request path with a host shell");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        if cs.kind != Some(Kind::DaCliAgent) {
            continue;
        }
        let Scope::Func(i) = cs.scope else { continue };
        if !m.functions[i].per_request {
            continue;
        }
        let shell_off = known::keyword(cs.call, "enable_shell")
            .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if !b.value));
        let sandboxed =
            known::keyword(cs.call, "sandbox").is_some_and(|v| !v.is_none_literal_expr());
        if shell_off || sandboxed {
            continue;
        }
        let shared = known::arg(cs.call, 1, &["assistant_id"]).is_some_and(literal);
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "`create_cli_agent` in `{}` runs a shell on the host for every chat (no sandbox, enable_shell not False){}",
                m.functions[i].name,
                if shared {
                    "; its constant assistant_id gives every user one memory directory"
                } else {
                    ""
                }
            ),
        ));
    }
}
