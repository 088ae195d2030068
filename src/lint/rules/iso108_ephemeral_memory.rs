//! ISO108: memory enabled but stored in a backend that dies with the request.

use crate::lint::diagnostic::Finding;
use crate::lint::known::Kind;
use crate::lint::model::Model;

declare_rule! {
    /// # ISO108 ephemeral-memory
    ///
    /// Checklist item: C4 (memory persistence matches the chosen pattern).
    ///
    /// ## What it does
    /// Reports, at info severity, memory enabled (`create_deep_agent(...)` without
    /// `include_memory=False`: memory is on by default) while each request gets a
    /// fresh in-memory backend (`StateBackend()`, `StateWorkspace()`) on a
    /// per-request path.
    ///
    /// ## Why is this bad
    /// This is the guide's Pattern A: isolated, but memory is written to a backend
    /// that is dropped when the request ends, so the agent never remembers
    /// anything across sessions. That is fine if intended; often it is not.
    ///
    /// ## Example
    /// ```python
    /// agent = create_deep_agent(include_memory=True)
    ///
    /// async def handle_request(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=StateBackend())
    ///     return await agent.run(message, deps=deps)
    /// ```
    ///
    /// ## Fix
    /// Either turn memory off (`include_memory=False`), or persist it per user:
    /// keep each user's backend across requests (a dict keyed by user id), or use a
    /// per-user `LocalBackend`/`DockerSandbox` (Patterns B and C).
    pub const RULE = ("ISO108", "ephemeral-memory", "C4", Info, "Memory enabled with a fresh in-memory backend per request: it never persists");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.memory_enabled {
        return;
    }
    for cs in &m.calls {
        if !matches!(cs.kind, Some(Kind::PabState | Kind::StateWorkspace)) {
            continue;
        }
        let Some(f) = m.fresh_per_request(cs) else {
            continue;
        };
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "memory is enabled but `{}` is created per request in `{f}`: memory is lost when the request ends",
                cs.kind.map_or("", |k| k.display())
            ),
        ));
    }
}
