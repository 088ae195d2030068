//! ISO101: a backend shared by all users.

use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::{CallSite, Model, Scope, Target};
use crate::lint::program::Ctx;
use crate::lint::summary;

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
    /// - created in a function that keeps it in a `global` or in `app.state.x`
    ///   (a FastAPI/Starlette `lifespan`, a startup handler, a lazy initialiser),
    ///   read per request in this module or another;
    /// - returned by a factory (`backend = make_backend()`, in this module or
    ///   another) called in one of those places;
    /// - returned by a cached factory with no user key (`@lru_cache def get_backend()`)
    ///   called on a per-request path;
    /// - built per request but rooted in a directory with no per-user part
    ///   (`LocalBackend(root_dir=REPO_ROOT)` inside a handler), or with no root at all.
    ///
    /// A backend bound to a module-level name counts as used where what it is
    /// given to is used: `docs = FilesystemBackend(...)` then
    /// `agent = create_deep_agent(backend=docs)`, with `agent` used per request.
    ///
    /// Not reported:
    /// - deepagents' `StateBackend`, which keeps nothing on the instance (its
    ///   state lives in the graph state of each thread);
    /// - a backend every deepagents agent it is given to makes read-only with
    ///   `permissions=`: a rule `FilesystemPermission(operations=[..., "write"],
    ///   paths=["/**"], mode="deny")` (shared reference files, by design). A
    ///   rule that denies writes under some paths only leaves the rest writable.
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

/// Whether the call is an argument (at any depth) of another call of one of `kinds`
/// in the same statement (a backend inside a `CompositeBackend` or deps).
pub fn inside_kind(m: &Model, call: &ruff_python_ast::ExprCall, kinds: &[Kind]) -> bool {
    enclosing(m, call, |outer| {
        outer.kind.is_some_and(|k| kinds.contains(&k))
    })
    .is_some()
}

/// The call of the same statement that `call` is an argument of (at any
/// depth) and that `which` accepts.
fn enclosing<'m, 'a>(
    m: &'m Model<'a>,
    call: &ruff_python_ast::ExprCall,
    which: impl Fn(&CallSite<'a>) -> bool,
) -> Option<&'m CallSite<'a>> {
    let r = ruff_text_size::Ranged::range(call);
    m.calls.iter().find(|outer| {
        let or = ruff_text_size::Ranged::range(outer.call);
        or.contains_range(r) && or != r && which(outer)
    })
}

/// The per-request function that uses a module- or class-level binding.
pub fn shared_use<'a>(m: &Model<'a>, scope: Scope<'a>, targets: &[Target<'a>]) -> Option<String> {
    targets.iter().find_map(|t| {
        let t = match scope {
            Scope::Class(_) => Target {
                name: t.name,
                attr: true,
                state: false,
                on_self: false,
            },
            _ => *t,
        };
        m.used_per_request(&t)
    })
}

/// Whether a cached factory (`@lru_cache def f()`) is called on a per-request
/// path (directly, through `Depends(f)`, or from another module).
pub fn cached_factory_used(m: &Model, factory: usize) -> Option<String> {
    let f = &m.functions[factory];
    let name = f.name;
    m.functions
        .iter()
        .find(|g| g.per_request && g.calls_funcs.contains(&name))
        .map(|g| g.name.to_string())
        .or_else(|| {
            f.per_request
                .then(|| f.reached_from.clone().unwrap_or_else(|| name.to_string()))
        })
}

/// An object every request shares: where it was created and who uses it.
pub struct Shared {
    /// `at module scope`, `at class level`, `` in `lifespan` and kept in global `x` ``,
    /// `` in cached factory `get()` with no user key ``.
    pub place: String,
    pub user: String,
}

/// Whether the object created at `cs` is one for all requests: created at
/// module or class level, in any function but kept in a global or in
/// `app.state`, or returned by a cached factory; and read on a per-request path.
pub fn shared_creation(m: &Model, cs: &CallSite) -> Option<Shared> {
    match cs.scope {
        Scope::Module | Scope::Class(_) => {
            let place = if matches!(cs.scope, Scope::Module) {
                "at module scope"
            } else {
                "at class level"
            };
            shared_use(m, cs.scope, &cs.targets).map(|user| Shared {
                place: place.to_string(),
                user,
            })
        }
        Scope::Func(i) => {
            if let Some(factory) = cs.in_cached {
                return cached_factory_used(m, factory).map(|user| Shared {
                    place: format!(
                        "in cached factory `{}()` with no user key",
                        m.functions[factory].name
                    ),
                    user,
                });
            }
            if cs.targets.is_empty() {
                return None;
            }
            let t = cs.targets[0];
            if t.on_self {
                return shared_instance(m, i);
            }
            let kept = if t.state {
                format!("`app.state.{}`", t.name)
            } else {
                format!("global `{}`", t.name)
            };
            shared_use(m, Scope::Module, &cs.targets).map(|user| Shared {
                place: format!("in `{}` and kept in {kept}", m.functions[i].name),
                user,
            })
        }
    }
}

/// `self.x = X()` in `C.__init__`: shared when one `C` is created once (at
/// module scope, or kept in a global or `app.state`) and used per request.
fn shared_instance(m: &Model, init: usize) -> Option<Shared> {
    let class = m.functions[init].class?;
    m.calls.iter().find_map(|cs| {
        let is_class =
            matches!(&*cs.call.func, ruff_python_ast::Expr::Name(n) if n.id.as_str() == class);
        if !is_class || cs.targets.iter().all(|t| t.on_self) {
            return None;
        }
        let inner = shared_creation(m, cs)?;
        Some(Shared {
            place: format!(
                "in `{class}.__init__` of the one `{class}` created {}",
                inner.place
            ),
            user: inner.user,
        })
    })
}

/// The module-scope call `cs` is the value of (or an argument of), bound to a
/// name that some other module-scope call takes as an argument: `docs` in
/// `agent = create_deep_agent(backend=docs)`. Returns those holders.
fn holders<'m, 'a>(m: &'m Model<'a>, cs: &CallSite<'a>) -> Vec<&'m CallSite<'a>> {
    let names: Vec<&str> = cs
        .targets
        .iter()
        .filter(|t| !t.attr && !t.state)
        .map(|t| t.name)
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let takes = |e: &ruff_python_ast::Expr| matches!(e, ruff_python_ast::Expr::Name(n) if names.contains(&n.id.as_str()));
    m.calls
        .iter()
        .filter(|o| matches!(o.scope, Scope::Module) && !std::ptr::eq(*o, cs))
        .filter(|o| {
            o.call.arguments.args.iter().any(takes)
                || o.call.arguments.keywords.iter().any(|k| takes(&k.value))
        })
        .collect()
}

/// Whether `call` is deepagents' `create_deep_agent(...)` with `permissions=`
/// rules that deny writes everywhere (`paths=["/**"]`), literally or through a
/// module-level name: the backend it is given is read-only for its users.
fn read_only_agent(m: &Model, cs: &CallSite) -> bool {
    use ruff_python_ast::Expr;
    if !da_agent(m, cs) {
        return false;
    }
    let Some(mut rules) = known::keyword(cs.call, "permissions") else {
        return false;
    };
    if let Expr::Name(n) = rules {
        match m.module_bindings.get(n.id.as_str()) {
            Some(b) => rules = b.value,
            None => return false,
        }
    }
    let Expr::List(list) = rules else {
        return false;
    };
    let strings = |e: Option<&Expr>| -> Vec<String> {
        match e {
            Some(Expr::List(l)) => l
                .elts
                .iter()
                .filter_map(|x| match x {
                    Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    list.elts.iter().any(|rule| {
        let Expr::Call(c) = rule else { return false };
        let named = m
            .qualify(&c.func)
            .is_some_and(|q| m.is_sym(&q, known::DA, &["FilesystemPermission"]));
        let deny = matches!(known::keyword(c, "mode"), Some(Expr::StringLiteral(s)) if s.value.to_str() == "deny");
        let ops = strings(known::keyword(c, "operations").or_else(|| c.arguments.args.first()));
        let paths = strings(known::keyword(c, "paths").or_else(|| c.arguments.args.get(1)));
        named && deny && ops.iter().any(|o| o == "write") && paths.iter().any(|p| p == "/**")
    })
}

/// Whether `cs` is deepagents' `create_deep_agent(...)`.
fn da_agent(m: &Model, cs: &CallSite) -> bool {
    cs.qual
        .as_deref()
        .is_some_and(|q| m.is_sym(q, known::DA, &["create_deep_agent"]))
}

/// A module-scope backend bound to a name and given to something kept at
/// module scope that a request uses (`agent = create_deep_agent(backend=docs)`),
/// unless every such agent makes it read-only.
fn given_to_shared(m: &Model, cs: &CallSite) -> Option<Shared> {
    if !matches!(cs.scope, Scope::Module) {
        return None;
    }
    holders(m, cs).into_iter().find_map(|h| {
        if read_only_agent(m, h) {
            return None;
        }
        let holder = h.targets.first()?.name;
        shared_use(m, Scope::Module, &h.targets).map(|user| Shared {
            place: format!("at module scope and given to `{holder}`"),
            user,
        })
    })
}

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let caller = match cs.scope {
            Scope::Func(i) => Some(i),
            _ => None,
        };
        // A factory's product counts where it is kept, not where it is built.
        let (kind, via) = match cs.kind {
            Some(k) => (k, None),
            None if cs.in_cached.is_some() || !cs.targets.is_empty() || caller.is_none() => {
                match summary::returned_kind(ctx, cs.call, caller) {
                    Some((k, via)) => (k, Some(via)),
                    None => continue,
                }
            }
            None => continue,
        };
        if !(kind.holds_files() || (kind == Kind::DaComposite && composite_over_files(m, cs.call)))
        {
            continue;
        }
        // One finding per object: not one per child of a CompositeBackend,
        // and a backend inside shared deps is reported with the deps (ISO102).
        if cs.kind.is_some() && inside_kind(m, cs.call, &[Kind::DaComposite, Kind::DeepAgentDeps]) {
            continue;
        }
        let name = match &via {
            Some(v) => format!("`{}` (returned by `{v}`)", kind.display()),
            None => format!("`{}`", kind.display()),
        };
        let range = ruff_text_size::Ranged::range(cs.call);
        if enclosing(m, cs.call, |o| da_agent(m, o)).is_some_and(|a| read_only_agent(m, a)) {
            continue;
        }
        let shared = shared_creation(m, cs).or_else(|| given_to_shared(m, cs));
        if let Some(shared) = shared {
            out.push(Finding::new(
                &RULE,
                range,
                format!(
                    "{name} created {} is shared by every request (used in `{}`); create one per user",
                    shared.place, shared.user
                ),
            ));
            continue;
        }
        let Some(f) = caller.map(|i| &m.functions[i]) else {
            continue;
        };
        if via.is_some() || !f.per_request || !kind.rooted() {
            continue;
        }
        match known::root_arg(kind, cs.call) {
            None => out.push(Finding::new(
                &RULE,
                range,
                format!("{name} built per request with no root directory: all users share the working directory"),
            )),
            Some(root) if m.is_constant(root, Some(f)) => out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(root),
                format!(
                    "{name} root `{}` has no per-user part: all users share one directory",
                    known::snippet(m.source, root)
                ),
            )),
            _ => {}
        }
    }
}
