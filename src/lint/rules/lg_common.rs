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
    // What a user said is no identity: `user_message`, `user_input`.
    let said = [
        "message", "msg", "input", "prompt", "query", "question", "text", "content",
    ]
    .iter()
    .any(|w| n.contains(w));
    identity && !said
}
