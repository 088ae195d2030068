//! ISO101: a backend shared by all users.

use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::{Model, Scope, Target};

declare_rule! {
    /// # ISO101 shared-backend
    ///
    /// Checklist item: C1 (a separate backend per user).
    ///
    /// ## What it does
    /// Finds a backend that holds files (pydantic-ai-backends `StateBackend`,
    /// `LocalBackend`, `DockerSandbox`, pydantic-ai workspaces such as
    /// `LocalWorkspace`/`StateWorkspace`/`DockerWorkspace`; deepagents
    /// `FilesystemBackend`, `LocalShellBackend`, a `CompositeBackend` over one of
    /// those) that every request shares:
    /// - created at module scope or as a class attribute and used on a per-request path;
    /// - returned by a cached factory with no user key (`@lru_cache def get_backend()`)
    ///   called on a per-request path;
    /// - built per request but rooted in a directory with no per-user part
    ///   (`LocalBackend(root_dir=REPO_ROOT)` inside a handler), or with no root at all.
    ///
    /// deepagents' `StateBackend` keeps nothing on the instance (its state lives in
    /// the graph state of each thread), so a module-level one is not reported.
    ///
    /// ## Why is this bad
    /// All stateful features (memory, plans, evicted files, uploads) write to the
    /// backend. Two users sharing one backend share all of it: one user's memory
    /// file is read into the other user's prompt.
    ///
    /// ## Example
    /// ```python
    /// backend = StateBackend()
    ///
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     return await agent.run(message, deps=DeepAgentDeps(backend=backend))
    /// ```
    ///
    /// ## Fix
    /// Create the backend per user or per session (or look it up in a dict keyed by
    /// the user id), and root host directories in a validated per-user directory:
    /// ```python
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=StateBackend())
    ///     return await agent.run(message, deps=deps)
    /// ```
    pub const RULE = ("ISO101", "shared-backend", "C1", High, "A file-holding backend shared by all requests (module scope, cached factory, fixed root)");
}

/// A deepagents CompositeBackend with a file-holding backend inside.
fn composite_over_files(m: &Model, call: &ruff_python_ast::ExprCall) -> bool {
    m.calls.iter().any(|cs| {
        cs.kind
            .is_some_and(|k| matches!(k, Kind::DaFilesystem | Kind::DaLocalShell))
            && cs.call.range_start > call.range_start
            && ruff_text_size::Ranged::range(cs.call).end()
                <= ruff_text_size::Ranged::range(call).end()
    })
}

/// The per-request function that uses a module- or class-level binding.
pub fn shared_use<'a>(m: &Model<'a>, scope: Scope<'a>, targets: &[Target<'a>]) -> Option<&'a str> {
    targets.iter().find_map(|t| {
        let t = match scope {
            Scope::Class(_) => Target {
                name: t.name,
                attr: true,
            },
            _ => *t,
        };
        m.used_per_request(&t)
    })
}

/// Whether a cached factory (`@lru_cache def f()`) is called on a per-request path.
pub fn cached_factory_used<'a>(m: &Model<'a>, factory: usize) -> Option<&'a str> {
    let name = m.functions[factory].name;
    m.functions
        .iter()
        .find(|g| g.per_request && g.calls_funcs.contains(&name))
        .map(|g| g.name)
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let Some(kind) = cs.kind else { continue };
        if !(kind.holds_files() || (kind == Kind::DaComposite && composite_over_files(m, cs.call)))
        {
            continue;
        }
        let name = kind.display();
        let range = ruff_text_size::Ranged::range(cs.call);
        match cs.scope {
            Scope::Module | Scope::Class(_) => {
                if let Some(user) = shared_use(m, cs.scope, &cs.targets) {
                    let place = if matches!(cs.scope, Scope::Module) {
                        "module scope"
                    } else {
                        "class level"
                    };
                    out.push(Finding::new(
                        &RULE,
                        range,
                        format!("`{name}` created at {place} is shared by every request (used in `{user}`); create one per user"),
                    ));
                }
            }
            Scope::Func(i) => {
                if let Some(factory) = cs.in_cached {
                    if let Some(user) = cached_factory_used(m, factory) {
                        out.push(Finding::new(
                            &RULE,
                            range,
                            format!(
                                "`{name}` returned by cached factory `{}()` with no user key is one instance for all users (called in `{user}`)",
                                m.functions[factory].name
                            ),
                        ));
                    }
                    continue;
                }
                let f = &m.functions[i];
                if !f.per_request || !kind.rooted() {
                    continue;
                }
                match known::root_arg(kind, cs.call) {
                    None => out.push(Finding::new(
                        &RULE,
                        range,
                        format!("`{name}` built per request with no root directory: all users share the working directory"),
                    )),
                    Some(root) if m.is_constant(root, Some(f)) => out.push(Finding::new(
                        &RULE,
                        ruff_text_size::Ranged::range(root),
                        format!(
                            "`{name}` root `{}` has no per-user part: all users share one directory",
                            known::snippet(m.source, root)
                        ),
                    )),
                    _ => {}
                }
            }
        }
    }
}
