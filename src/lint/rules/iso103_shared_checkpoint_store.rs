//! ISO103: a checkpoint store shared by all users.

use ruff_python_ast::Expr;

use super::iso101_shared_backend::shared_creation;
use crate::lint::diagnostic::Finding;
use crate::lint::known::{self, Kind};
use crate::lint::model::{CallSite, Scope};
use crate::lint::program::Ctx;

declare_rule! {
    /// # ISO103 shared-checkpoint-store
    ///
    /// Checklist item: C2 (a separate checkpoint store per user).
    ///
    /// ## What it does
    /// Finds a checkpoint store created at module scope (pydantic-deep
    /// `InMemoryCheckpointStore`, `FileCheckpointStore` with a fixed directory, a
    /// LangGraph checkpointer such as `MemorySaver`/`SqliteSaver`) that is passed
    /// into per-request deps: `checkpoint_store=store` or `checkpointer=store`
    /// inside a function on a per-request path. A pydantic-deep store created in a
    /// lifespan or init function and kept in a `global` or `app.state.x` counts the same.
    ///
    /// Also finds per-request `DeepAgentDeps(...)` without `checkpoint_store=` while an
    /// agent of the program has `include_checkpoints=True`: the deps then fall back
    /// to the agent's own store, one for every user.
    ///
    /// ## Why is this bad
    /// Checkpoints hold whole conversations. One store for all users lets a user
    /// list, restore or fork another user's checkpoints.
    ///
    /// ## Example
    /// ```python
    /// store = FileCheckpointStore("/var/checkpoints")
    ///
    /// @app.post("/chat")
    /// async def chat(user_id: str, message: str):
    ///     deps = DeepAgentDeps(backend=StateBackend(), checkpoint_store=store)
    /// ```
    ///
    /// ## Fix
    /// Create a store per user, in a directory with a validated per-user part:
    /// ```python
    ///     store = FileCheckpointStore(CHECKPOINTS / safe_user_dir(user_id))
    /// ```
    pub const RULE = ("ISO103", "shared-checkpoint-store", "C2", High, "A module-level checkpoint store passed into per-request deps");
}

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    if !m.has_entry {
        return;
    }
    for cs in &m.calls {
        let Some(kind) = cs.kind.filter(|k| k.checkpoint_store()) else {
            continue;
        };
        // Created at module scope, or in an init function and kept in a global
        // or `app.state` (pydantic-deep stores; a LangGraph saver is shared by
        // design and keyed by thread id).
        let place = match cs.scope {
            Scope::Module => "at module scope".to_string(),
            Scope::Func(_)
                if !cs.targets.is_empty()
                    && matches!(
                        kind,
                        Kind::InMemoryCheckpointStore | Kind::FileCheckpointStore
                    ) =>
            {
                match shared_creation(m, cs) {
                    Some(s) => s.place,
                    None => continue,
                }
            }
            _ => continue,
        };
        let passed_in = m.calls.iter().find(|use_site| {
            m.func_of(use_site.scope).is_some_and(|f| {
                f.per_request
                    && ["checkpoint_store", "checkpointer"].iter().any(|k| {
                        known::keyword(use_site.call, k).is_some_and(|v| match v {
                            Expr::Name(n) => {
                                !f.locals.contains(n.id.as_str())
                                    && cs
                                        .targets
                                        .iter()
                                        .any(|t| !t.attr && t.name == n.id.as_str())
                            }
                            Expr::Attribute(a) => cs
                                .targets
                                .iter()
                                .any(|t| (t.state || t.on_self) && t.name == a.attr.id.as_str()),
                            _ => false,
                        })
                    })
            })
        });
        if let Some(site) = passed_in {
            let user = m.func_of(site.scope).map_or("?", |f| f.name);
            out.push(Finding::new(
                &RULE,
                ruff_text_size::Ranged::range(cs.call),
                format!(
                    "checkpoint store `{}` created {place} is passed into per-request deps in `{user}`: all users share checkpoints",
                    kind.display()
                ),
            ));
        }
    }
    fallback_store(ctx, out);
}

/// pydantic-deep: deps built per request without `checkpoint_store=` and run
/// with an agent created with `include_checkpoints=True` all use the agent's
/// one fallback store.
fn fallback_store(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    if !ctx.models.iter().any(|o| o.include_checkpoints) {
        return;
    }
    for cs in &m.calls {
        if cs.kind != Some(Kind::DeepAgentDeps) || !m.in_request(cs.scope) {
            continue;
        }
        let kws = &cs.call.arguments.keywords;
        let passes_store = kws.iter().any(|k| {
            k.arg.is_none()
                || k.arg
                    .as_ref()
                    .is_some_and(|a| a.id.as_str() == "checkpoint_store")
        });
        if passes_store || !run_with_checkpoints(ctx, cs) {
            continue;
        }
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            "deps without `checkpoint_store=` run by an agent with `include_checkpoints=True`: every user's checkpoints go to the agent's one fallback store".to_string(),
        ));
    }
}

/// Whether the deps built at `cs` are passed to `agent.run*(..., deps=...)` of an
/// agent known to be created with `include_checkpoints=True`.
fn run_with_checkpoints(ctx: &Ctx, cs: &CallSite) -> bool {
    let m = ctx.model();
    let Some(f) = m.func_of(cs.scope) else {
        return false;
    };
    let range = ruff_text_size::Ranged::range(cs.call);
    // The local the deps are bound to, if any.
    let bound: Vec<&str> = f
        .local_assigns
        .iter()
        .filter(|(_, vs)| {
            vs.iter()
                .any(|v| ruff_text_size::Ranged::range(*v).contains_range(range))
        })
        .map(|(n, _)| *n)
        .collect();
    m.calls.iter().any(|run| {
        let Expr::Attribute(a) = &*run.call.func else {
            return false;
        };
        if run.scope != cs.scope || !known::RUN_METHODS.contains(&a.attr.id.as_str()) {
            return false;
        }
        let passes = known::keyword(run.call, "deps").is_some_and(|d| match d {
            Expr::Name(n) => bound.contains(&n.id.as_str()),
            e => ruff_text_size::Ranged::range(e).contains_range(range),
        });
        passes && agent_has_checkpoints(ctx, &a.value)
    })
}

fn checkpoints_on(c: &ruff_python_ast::ExprCall) -> bool {
    known::keyword(c, "include_checkpoints")
        .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value))
}

/// The agent expression is a `create_deep_agent(include_checkpoints=True)`:
/// a module-level name (here or imported), or an attribute (`self.agent`,
/// `app.state.agent`) assigned from one.
fn agent_has_checkpoints(ctx: &Ctx, agent: &Expr) -> bool {
    let m = ctx.model();
    let created = |o: &crate::lint::model::Model, c: &ruff_python_ast::ExprCall| {
        o.qualify(&c.func).and_then(|q| known::classify(o, &q)) == Some(Kind::CreateDeepAgent)
            && checkpoints_on(c)
    };
    match agent {
        Expr::Name(n) => {
            if let Some(b) = m.module_bindings.get(n.id.as_str()) {
                return matches!(b.value, Expr::Call(c) if created(m, c));
            }
            let (Some(index), Some(qual)) = (ctx.index, m.imports.get(n.id.as_str())) else {
                return false;
            };
            let Some((file, symbol)) = index.resolve(ctx.file, qual) else {
                return false;
            };
            let o = &ctx.models[file];
            o.module_bindings
                .get(symbol.as_str())
                .is_some_and(|b| matches!(b.value, Expr::Call(c) if created(o, c)))
        }
        Expr::Attribute(a) => {
            let name = a.attr.id.as_str();
            ctx.models.iter().any(|o| {
                o.calls.iter().any(|c| {
                    c.kind == Some(Kind::CreateDeepAgent)
                        && c.targets.iter().any(|t| t.attr && t.name == name)
                        && checkpoints_on(c.call)
                })
            })
        }
        _ => false,
    }
}
