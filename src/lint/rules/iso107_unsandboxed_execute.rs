//! ISO107: code execution on the host from a per-request path.

use super::iso101_shared_backend::{cached_factory_used, shared_creation, shared_use};
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::{Model, Scope};

declare_rule! {
    /// # ISO107 unsandboxed-execute
    ///
    /// Checklist item: C5 (sandboxed execution of untrusted code).
    ///
    /// ## What it does
    /// Finds a backend that runs commands on the host used on a per-request path:
    /// pydantic-ai-backends `LocalBackend` with execution enabled (its default;
    /// `enable_execute=False` turns it off), deepagents `LocalShellBackend`, and
    /// the `LocalWorkspace` of pydantic-ai workspaces.
    ///
    /// ## Why is this bad
    /// The agent's shell tool then runs whatever a user's prompt (or a prompt
    /// injection in a fetched page) makes it run, as the server process, with
    /// access to every user's directory, the server's secrets and the network.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/chat/{user_id}")
    /// async def chat(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=LocalBackend(root_dir=user_dir(user_id)))
    /// ```
    ///
    /// ## Fix
    /// Run untrusted code in a sandbox (`DockerSandbox` through a `SessionManager`,
    /// `DockerWorkspace`), or turn execution off:
    /// `LocalBackend(root_dir=..., enable_execute=False)`.
    pub const RULE = ("ISO107", "unsandboxed-execute", "C5", High, "A backend that executes on the host (LocalBackend default, local shell) on a per-request path");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let Some(kind) = cs.kind else { continue };
        if !known::executes(kind, cs.call) {
            continue;
        }
        let user = match (cs.scope, cs.in_cached) {
            (_, Some(factory)) => cached_factory_used(m, factory),
            (Scope::Func(i), None) if m.functions[i].per_request => {
                Some(m.functions[i].name.to_string())
            }
            (Scope::Func(_), None) => shared_creation(m, cs).map(|s| s.user),
            (scope, None) => shared_use(m, scope, &cs.targets),
        };
        if let Some(user) = user {
            out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(cs.call),
                format!(
                    "`{}` runs commands on the host, unsandboxed, for requests (in `{user}`); use a Docker sandbox or disable execution",
                    kind.display()
                ),
            ));
        }
    }
}
