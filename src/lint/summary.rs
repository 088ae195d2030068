//! Per-function summaries, computed once and applied at call sites:
//! - what a function returns: a new backend, deps or checkpoint store (a
//!   factory, in this file or another one), so that `backend = make_backend()`
//!   at module scope is known to be one `LocalBackend` for everyone;
//! - for the taint engine ([`FnSummary`]): which parameters reach which path
//!   sink and whether the return value carries the arguments' taint, for every
//!   function another file calls on a per-request path. Computed in rounds, so
//!   a helper that hands its argument to a helper in a third file is summarised
//!   with that one's summary.

use rustc_hash::FxHashSet as HashSet;

use rayon::prelude::*;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use super::index::{FileId, Index};
use super::known::{self, Kind};
use super::model::Model;
use super::program::{Ctx, Summaries};
use super::taint;

/// Rounds of taint summaries: the depth of helper chains across files followed.
const ROUNDS: usize = 3;

/// The functions whose taint summary some other file's per-request code needs.
pub fn needed(models: &[Model], index: &Index, paths: &[String]) -> Vec<(FileId, usize)> {
    let per_file: Vec<Vec<(FileId, usize)>> = (0..models.len())
        .into_par_iter()
        .map(|file| {
            let ctx = Ctx {
                models,
                index: Some(index),
                summaries: None,
                paths,
                file,
            };
            let m = &models[file];
            m.calls
                .iter()
                .filter(|cs| m.in_request(cs.scope))
                .flat_map(|cs| {
                    let caller = match cs.scope {
                        super::model::Scope::Func(i) => Some(i),
                        _ => None,
                    };
                    // Called, or handed to an executor or a thread to run.
                    let direct = ctx.external_callee(&cs.call.func, caller);
                    let later = known::run_later(m, cs.call)
                        .and_then(|(f, _)| ctx.external_callee(f, caller));
                    [direct, later]
                })
                .flatten()
                .map(|(f, i, _)| (f, i))
                .collect()
        })
        .collect();
    let mut all: Vec<(FileId, usize)> = per_file.into_iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Taint summaries of the needed functions, in rounds.
pub fn compute(models: &[Model], index: &Index, paths: &[String]) -> Summaries {
    let wanted = needed(models, index, paths);
    let mut summaries = Summaries::default();
    if wanted.is_empty() {
        return summaries;
    }
    for _ in 0..ROUNDS {
        let next: Vec<_> = wanted
            .par_iter()
            .filter_map(|&(file, fi)| {
                let key = models[file].functions[fi].key()?;
                let ctx = Ctx {
                    models,
                    index: Some(index),
                    summaries: Some(&summaries),
                    paths,
                    file,
                };
                Some(((file, key), taint::summarize(&ctx, fi)))
            })
            .collect();
        let stable = next.iter().all(|(k, s)| {
            summaries
                .get(k)
                .is_some_and(|old| old.returns == s.returns && old.sinks.len() == s.sinks.len())
        });
        summaries = next.into_iter().collect();
        if stable {
            break;
        }
    }
    summaries
}

/// The kind of object a call returns when the callee is a factory (in this
/// file or another): `(kind, "make_backend()")`. Only fresh objects count:
/// a cached factory or one returning a module-level object is not a creation.
pub fn returned_kind(
    ctx: &Ctx,
    call: &ast::ExprCall,
    caller: Option<usize>,
) -> Option<(Kind, String)> {
    let m = ctx.model();
    let (file, fi, name) = match m.callee(&call.func, caller) {
        Some(i) => (ctx.file, i, format!("{}()", m.functions[i].name)),
        None => {
            let (file, fi, _) = ctx.external_callee(&call.func, caller)?;
            (file, fi, format!("{}()", ctx.describe(file, fi)))
        }
    };
    let mut seen = HashSet::default();
    fn_returns(ctx.models, ctx, file, fi, &mut seen).map(|k| (k, name))
}

fn fn_returns(
    models: &[Model],
    ctx: &Ctx,
    file: FileId,
    fi: usize,
    seen: &mut HashSet<(FileId, usize)>,
) -> Option<Kind> {
    if !seen.insert((file, fi)) || seen.len() > 8 {
        return None;
    }
    let m = &models[file];
    let f = &m.functions[fi];
    if f.cached {
        return None;
    }
    let mut returns = Returns(Vec::new());
    returns.visit_body(&f.def.body);
    for value in returns.0 {
        let value = match value {
            Expr::Await(a) => &*a.value,
            v => v,
        };
        let calls: Vec<&ast::ExprCall> = match value {
            Expr::Call(c) => vec![c],
            Expr::Name(n) => f
                .local_assigns
                .get(n.id.as_str())
                .into_iter()
                .flatten()
                .filter_map(|v| match v {
                    Expr::Call(c) => Some(c),
                    Expr::Await(a) => match &*a.value {
                        Expr::Call(c) => Some(c),
                        _ => None,
                    },
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for c in calls {
            if let Some(k) = m.qualify(&c.func).and_then(|q| known::classify(m, &q)) {
                return Some(k);
            }
            if let Some((f2, j, _)) = ctx.at(file).callee(&c.func, Some(fi)) {
                if let Some(k) = fn_returns(models, ctx, f2, j, seen) {
                    return Some(k);
                }
            }
        }
    }
    None
}

/// The values of the `return` statements of a body (not of nested functions).
struct Returns<'a>(Vec<&'a Expr>);

impl<'a> Visitor<'a> for Returns<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Return(r) => self.0.extend(r.value.as_deref()),
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            _ => visitor::walk_stmt(self, stmt),
        }
    }
}
