//! Functions that run once for the app, wherever they are called from.
//!
//! A function is *once* when it is called at least once and every call of
//! it runs once for the app: at module or class level, in a cached getter,
//! kept in a global or in application state (`_graph = build_graph()` under
//! `global _graph`), stored in a container that outlives the request, or
//! made inside another once function. What such a function creates is not
//! created per request even when a handler reaches it: `get_graph()` builds
//! the graph, and the checkpointer in it, on the first request and keeps it.
//! Handlers themselves are never once.

use rayon::prelude::*;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::index::{FileId, Index};
use super::model::{stored_in_container, Model, Scope};
use super::program::Ctx;

/// A call of function `callee` (file, index), from `caller` (file, index;
/// `None` at module or class level), whose result is `kept` beyond the call.
struct Site<'a> {
    callee: (FileId, usize),
    caller: Option<(FileId, usize)>,
    kept: bool,
    call: &'a ast::ExprCall,
    /// 1 when the call passes `self` implicitly.
    offset: usize,
}

/// Sets `Func::once` on every function of the program that runs once.
pub fn mark(models: &mut [Model], index: Option<&Index>, paths: &[String]) {
    let sites = sites(models, index, paths);
    let given = given(models, &sites);
    let mut once: Vec<Vec<bool>> = models
        .iter()
        .map(|m| vec![false; m.functions.len()])
        .collect();
    // Monotone: a function found once can only make more sites kept.
    for _ in 0..16 {
        let mut all_kept: Vec<Vec<Option<bool>>> = models
            .iter()
            .map(|m| vec![None; m.functions.len()])
            .collect();
        for s in &sites {
            let kept = s.kept || s.caller.is_some_and(|(f, i)| once[f][i]);
            let e = &mut all_kept[s.callee.0][s.callee.1];
            *e = Some(e.unwrap_or(true) && kept);
        }
        let mut changed = false;
        for (file, m) in models.iter().enumerate() {
            for (i, f) in m.functions.iter().enumerate() {
                let now = all_kept[file][i] == Some(true) && !f.entry;
                if now && !once[file][i] {
                    once[file][i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for ((m, flags), given) in models.iter_mut().zip(once).zip(given) {
        for ((f, once), given) in m.functions.iter_mut().zip(flags).zip(given) {
            f.once = once;
            f.given = given;
        }
    }
}

/// Per function, the parameters (by name) that every call from a
/// per-request function passes, not as a literal `None`; empty when no
/// per-request function calls it.
fn given<'a>(models: &[Model<'a>], sites: &[Site]) -> Vec<Vec<Vec<&'a str>>> {
    let mut out: Vec<Vec<Option<Vec<&'a str>>>> = models
        .iter()
        .map(|m| vec![None; m.functions.len()])
        .collect();
    for s in sites {
        let Some((cf, ci)) = s.caller else { continue };
        if !models[cf].functions[ci].per_request {
            continue;
        }
        let (file, fi) = s.callee;
        let names: Vec<&'a str> = models[file].functions[fi]
            .params()
            .map(|p| p.parameter.name.id.as_str())
            .collect();
        let none = |e: &Expr| matches!(e, Expr::NoneLiteral(_));
        let mut passed: Vec<&'a str> = Vec::new();
        for (k, a) in s.call.arguments.args.iter().enumerate() {
            if a.is_starred_expr() {
                break;
            }
            if let Some(n) = names.get(k + s.offset).filter(|_| !none(a)) {
                passed.push(n);
            }
        }
        for kw in s.call.arguments.keywords.iter() {
            if let Some(arg) = &kw.arg {
                if let Some(n) = names.iter().find(|n| **n == arg.id.as_str()) {
                    if !none(&kw.value) {
                        passed.push(n);
                    }
                }
            }
        }
        let slot = &mut out[file][fi];
        *slot = Some(match slot.take() {
            None => passed,
            Some(before) => before.into_iter().filter(|n| passed.contains(n)).collect(),
        });
    }
    out.into_iter()
        .map(|fs| fs.into_iter().map(Option::unwrap_or_default).collect())
        .collect()
}

/// Every resolved call site of the program, file by file in parallel (the
/// callee lookups are a seventh of the lint's time on a large tree).
fn sites<'a>(models: &[Model<'a>], index: Option<&Index>, paths: &[String]) -> Vec<Site<'a>> {
    (0..models.len())
        .into_par_iter()
        .flat_map_iter(|file| file_sites(models, index, paths, file))
        .collect()
}

fn file_sites<'a>(
    models: &[Model<'a>],
    index: Option<&Index>,
    paths: &[String],
    file: FileId,
) -> Vec<Site<'a>> {
    let m = &models[file];
    let mut out = Vec::new();
    {
        let ctx = Ctx {
            models,
            index,
            summaries: None,
            paths,
            file,
        };
        for cs in &m.calls {
            let caller = match cs.scope {
                Scope::Func(i) => Some(i),
                Scope::Module | Scope::Class(_) => None,
            };
            let Some((cfile, cfi, offset)) = ctx.callee(&cs.call.func, caller) else {
                continue;
            };
            let callee = (cfile, cfi);
            let kept = match caller {
                None => true,
                Some(ci) => {
                    // A global or application state; `self.x` lives only as
                    // long as an instance, whose lifetime is not followed.
                    cs.in_cached.is_some()
                        || cs
                            .targets
                            .iter()
                            .any(|t| t.state || (!t.attr && !t.on_self))
                        || stored_in_container(&m.functions[ci], cs.call.range())
                }
            };
            out.push(Site {
                callee,
                caller: caller.map(|c| (file, c)),
                kept,
                call: cs.call,
                offset,
            });
        }
    }
    out
}
