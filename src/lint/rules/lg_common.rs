//! Helpers of the LangGraph / deepagents rules (ISO120-ISO124): the
//! expressions of a function body, dict keys, literals.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::lint::model::Func;

/// Every expression of `f`'s body (nested functions and classes excluded:
/// they are functions of their own).
pub fn exprs<'a>(f: &Func<'a>) -> Vec<&'a Expr> {
    struct All<'a>(Vec<&'a Expr>);
    impl<'a> Visitor<'a> for All<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.0.push(expr);
            visitor::walk_expr(self, expr);
        }
    }
    let mut all = All(Vec::new());
    all.visit_body(&f.def.body);
    all.0
}

/// The value under the string key `key` of a dict literal.
pub fn dict_get<'a>(d: &'a ast::ExprDict, key: &str) -> Option<&'a Expr> {
    d.items.iter().find_map(|it| match &it.key {
        Some(Expr::StringLiteral(s)) if s.value.to_str() == key => Some(&it.value),
        _ => None,
    })
}

/// A literal: string, number, bool, or an f-string without placeholders.
pub fn literal(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(_) | Expr::NumberLiteral(_) | Expr::BooleanLiteral(_) => true,
        Expr::FString(f) => f.value.elements().all(|el| el.as_literal().is_some()),
        _ => false,
    }
}

/// Whether the name mentions a user or an owner (`user_id`, `current_user`,
/// `owner`, `tenant`, `account`).
pub fn names_user(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let identity = [
        "user",
        "owner",
        "tenant",
        "account",
        "principal",
        "identity",
    ]
    .iter()
    .any(|w| n.contains(w));
    // What a user said or decided is no identity: `user_message`,
    // `user_input`, `user_approval_response`.
    let said = [
        "message", "msg", "input", "prompt", "query", "question", "text", "content", "response",
        "answer", "reply", "feedback", "approval", "decision",
    ]
    .iter()
    .any(|w| n.contains(w));
    identity && !said
}

/// The dicts of LangGraph configs in `f` that hold the thread id, each with
/// the config it is part of: the value of a `"configurable"` key (its dict
/// is the config) or of a `configurable=` keyword (its call is), written
/// out or through a local. A `thread_id` in a response body is no config.
pub fn configurable_dicts<'a>(f: &Func<'a>) -> Vec<(&'a ast::ExprDict, &'a Expr)> {
    fn add<'a>(
        f: &Func<'a>,
        v: &'a Expr,
        config: &'a Expr,
        out: &mut Vec<(&'a ast::ExprDict, &'a Expr)>,
    ) {
        match v {
            Expr::Dict(d) => out.push((d, config)),
            Expr::Name(n) => {
                for r in f.local_assigns.get(n.id.as_str()).into_iter().flatten() {
                    if let Expr::Dict(d) = r {
                        out.push((d, config));
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for e in exprs(f) {
        match e {
            Expr::Dict(d) => {
                if let Some(v) = dict_get(d, "configurable") {
                    add(f, v, e, &mut out);
                }
            }
            Expr::Call(c) => {
                for k in c.arguments.keywords.iter() {
                    if k.arg.as_ref().is_some_and(|a| a.as_str() == "configurable") {
                        add(f, &k.value, e, &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(d, _)| seen.insert(ruff_text_size::Ranged::range(*d)));
    out
}

/// Checkpointer reads that only probe a store (`aget_tuple(config)` in a
/// health check): a config used for nothing else reaches no conversation.
const PROBE_READS: [&str; 6] = ["aget_tuple", "get_tuple", "aget", "alist", "list", "get"];

/// Whether config `config` of `f` is only ever handed to checkpointer reads
/// (`checkpointer.aget_tuple(config)`), written out or through a local.
pub fn probe_only(f: &Func, config: &Expr) -> bool {
    let range = ruff_text_size::Ranged::range(config);
    let names: Vec<&str> = f
        .local_assigns
        .iter()
        .filter(|(_, vs)| {
            vs.iter()
                .any(|v| ruff_text_size::Ranged::range(*v) == range)
        })
        .map(|(n, _)| *n)
        .collect();
    let is_config = |a: &Expr| {
        ruff_text_size::Ranged::range(a) == range
            || matches!(a, Expr::Name(n) if names.contains(&n.id.as_str()))
    };
    let all = exprs(f);
    let mut uses = 0;
    for e in &all {
        let Expr::Call(c) = e else { continue };
        let args = c
            .arguments
            .args
            .iter()
            .chain(c.arguments.keywords.iter().map(|k| &k.value));
        let n = args.filter(|a| is_config(a)).count();
        if n == 0 {
            continue;
        }
        let probe =
            matches!(&*c.func, Expr::Attribute(a) if PROBE_READS.contains(&a.attr.id.as_str()));
        if !probe {
            return false;
        }
        uses += n;
    }
    // A name read anywhere but in such a call (returned, stored) is no probe.
    let loads = all
        .iter()
        .filter(|e| matches!(e, Expr::Name(n) if n.ctx.is_load() && names.contains(&n.id.as_str())))
        .count();
    uses > 0 && loads <= uses
}
