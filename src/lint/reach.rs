//! Per-request reachability across files. A handler in `routes.py` that calls
//! `services.get_deps(user)` puts `get_deps` on a per-request path; a bot
//! in `bot.py` that registers `handlers.on_message` makes it an entry point;
//! a handler that reads `backend` imported from `state.py` uses that module's
//! object per request. Repeated until nothing changes.

use std::sync::OnceLock;

use rayon::prelude::*;
use ruff_python_ast::Expr;

use super::index::{FileId, Index};
use super::known;
use super::model::{Model, Scope};
use super::program::Ctx;

enum Action {
    /// Function `fi` of `file` runs per request (`entry`: it is a handler).
    Reach {
        file: FileId,
        fi: usize,
        from: String,
        entry: bool,
    },
    /// Module-level `name` of `file` is read per request by `from`.
    Use {
        file: FileId,
        name: String,
        from: String,
    },
}

/// Spreads per-request facts across files until a fixpoint (bounded).
pub fn propagate(models: &mut [Model], index: &Index, paths: &[String]) {
    if models.len() < 2 {
        return;
    }
    // Where each call of another module's function goes does not change
    // from round to round: resolved once, when first needed.
    let callees: Vec<Vec<OnceLock<Callee>>> = models
        .iter()
        .map(|m| (0..m.calls.len()).map(|_| OnceLock::new()).collect())
        .collect();
    for _ in 0..8 {
        let actions: Vec<Action> = {
            let view: &[Model] = models;
            (0..view.len())
                .into_par_iter()
                .flat_map_iter(|file| collect(view, index, paths, file, &callees[file]))
                .collect()
        };
        let mut changed = false;
        for a in actions {
            match a {
                Action::Reach {
                    file,
                    fi,
                    from,
                    entry,
                } => {
                    let was_entry = models[file].functions[fi].entry;
                    changed |= models[file].mark_per_request(fi, from, entry);
                    changed |= entry && !was_entry;
                    // The module takes part in handling requests.
                    models[file].has_entry = true;
                }
                Action::Use { file, name, from } => {
                    if let std::collections::hash_map::Entry::Vacant(e) =
                        models[file].ext_uses.entry(name)
                    {
                        e.insert(from);
                        models[file].has_entry = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    // `app.state.x` set in one module (a lifespan) and read per request in another.
    let view: &[Model] = models;
    let state_uses: Vec<(FileId, String, String)> = view
        .iter()
        .enumerate()
        .flat_map(|(file, m)| {
            m.calls
                .iter()
                .flat_map(|cs| cs.targets.iter().filter(|t| t.state))
                .filter_map(move |t| {
                    view.iter().enumerate().find_map(|(f2, o)| {
                        (f2 != file)
                            .then(|| {
                                o.functions
                                    .iter()
                                    .find(|g| g.per_request && g.state_loads.contains(t.name))
                                    .map(|g| {
                                        (
                                            file,
                                            format!("state.{}", t.name),
                                            format!("{}.{}", index.display(f2), g.name),
                                        )
                                    })
                            })
                            .flatten()
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (file, key, from) in state_uses {
        models[file].ext_uses.entry(key).or_insert(from);
        models[file].has_entry = true;
    }
}

/// A call's function in another module (file, index, implicit `self`).
type Callee = Option<(FileId, usize, usize)>;

fn collect(
    models: &[Model],
    index: &Index,
    paths: &[String],
    file: FileId,
    callees: &[OnceLock<Callee>],
) -> Vec<Action> {
    let m = &models[file];
    let ctx = Ctx {
        models,
        index: Some(index),
        summaries: None,
        paths,
        file,
    };
    let here = |fi: usize| {
        let f = &m.functions[fi];
        match index.display(file) {
            d if d.is_empty() => f.name.to_string(),
            d => format!("{d}.{}", f.name),
        }
    };
    let mut out = Vec::new();
    for (k, cs) in m.calls.iter().enumerate() {
        let caller = match cs.scope {
            Scope::Func(i) => Some(i),
            _ => None,
        };
        let in_request = caller.is_some_and(|i| m.functions[i].per_request);
        if in_request {
            let callee = *callees[k].get_or_init(|| ctx.external_callee(&cs.call.func, caller));
            if let Some((f2, fi, _)) = callee {
                if !models[f2].functions[fi].per_request {
                    out.push(Action::Reach {
                        file: f2,
                        fi,
                        from: here(caller.unwrap_or(0)),
                        entry: false,
                    });
                }
            }
        }
        // Handlers registered by call with a function of another module.
        if m.framework {
            let last = match &*cs.call.func {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.id.as_str(),
                _ => "",
            };
            if known::REGISTER_CALLS.contains(&last) {
                let values = cs
                    .call
                    .arguments
                    .args
                    .iter()
                    .chain(cs.call.arguments.keywords.iter().map(|k| &k.value));
                for v in values {
                    if let Some((f2, fi, _)) = imported_function(&ctx, v) {
                        if !models[f2].functions[fi].entry {
                            out.push(Action::Reach {
                                file: f2,
                                fi,
                                from: format!("registered in {}", paths[file]),
                                entry: true,
                            });
                        }
                    }
                }
            }
        }
    }
    for (fi, f) in m.functions.iter().enumerate() {
        if !f.per_request {
            continue;
        }
        // FastAPI dependencies defined in another module: `Depends(get_backend)`.
        for p in f.params() {
            if let Some(Expr::Call(c)) = p.default.as_deref() {
                let is_depends = m
                    .qualify(&c.func)
                    .is_some_and(|q| q.ends_with("Depends") || q.ends_with("Security"));
                if let (true, Some(arg)) = (is_depends, c.arguments.args.first()) {
                    if let Some((f2, g, _)) = imported_function(&ctx, arg) {
                        if !models[f2].functions[g].per_request {
                            out.push(Action::Reach {
                                file: f2,
                                fi: g,
                                from: here(fi),
                                entry: false,
                            });
                        }
                    }
                }
            }
        }
        // Module-level objects of another module read here.
        for name in &f.loads {
            if f.locals.contains(name) {
                continue;
            }
            let Some(qual) = m.imports.get(name) else {
                continue;
            };
            if let Some((f2, symbol)) = index.resolve(file, qual) {
                let target = &models[f2];
                if f2 != file
                    && target.module_bindings.contains_key(symbol.as_str())
                    && !target.ext_uses.contains_key(&symbol)
                {
                    out.push(Action::Use {
                        file: f2,
                        name: symbol,
                        from: here(fi),
                    });
                }
            }
        }
    }
    out
}

/// A function of another module named by `v` (`handlers.start`, an imported `start`).
fn imported_function(ctx: &Ctx, v: &Expr) -> Option<(FileId, usize, usize)> {
    match v {
        Expr::Name(_) | Expr::Attribute(_) => ctx.external_callee(v, None),
        _ => None,
    }
}
