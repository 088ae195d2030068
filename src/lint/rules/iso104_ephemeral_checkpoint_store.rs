//! ISO104: an in-memory checkpoint store created per request.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

use crate::lint::diagnostic::Finding;
use crate::lint::known::Kind;
use crate::lint::model::{Func, Model};

declare_rule! {
    /// # ISO104 ephemeral-checkpoint-store
    ///
    /// Checklist item: C2 (a separate checkpoint store per user, that keeps them).
    ///
    /// ## What it does
    /// Finds an in-memory checkpoint store (`InMemoryCheckpointStore()`, LangGraph
    /// `MemorySaver()`/`InMemorySaver()`) created inside a per-request path while
    /// checkpoints are enabled (`include_checkpoints=True`; always for LangGraph
    /// checkpointers). Not one made in a function that runs once for the app
    /// wherever it is called from: a factory whose every call ends in a
    /// global, application state, a cache or module scope (`_graph =
    /// build_graph()` under `global _graph`), across modules. Nor a fallback
    /// for a missing parameter (`if checkpointer is None: checkpointer =
    /// InMemorySaver()`, `checkpointer or MemorySaver()`) in a function that
    /// every per-request caller passes that parameter: the request path
    /// always brings its own (shared, persistent) saver.
    ///
    /// ## Why is this bad
    /// The store lives only as long as the request: every request starts with no
    /// checkpoints and the ones it saves are dropped when it ends. Rewind and fork
    /// silently find nothing. The store is isolated, but it is useless.
    ///
    /// ## Example
    /// ```python
    /// agent = create_deep_agent(include_checkpoints=True)
    ///
    /// def get_deps(user_id: str) -> DeepAgentDeps:
    ///     return DeepAgentDeps(backend=..., checkpoint_store=InMemoryCheckpointStore())
    /// ```
    ///
    /// ## Fix
    /// Keep one store per user across requests: a `FileCheckpointStore` in a
    /// validated per-user directory, or an `InMemoryCheckpointStore` kept in a dict
    /// keyed by the user id.
    pub const RULE = ("ISO104", "ephemeral-checkpoint-store", "C2", Medium, "An in-memory checkpoint store created per request while checkpoints are enabled");
}

pub fn check(m: &Model, out: &mut Vec<Finding>) {
    for cs in &m.calls {
        let applies = match cs.kind {
            Some(Kind::InMemoryCheckpointStore) => m.include_checkpoints,
            Some(Kind::LgMemorySaver) => true,
            _ => false,
        };
        let Some(f) = m.fresh_per_request(cs).filter(|_| applies) else {
            continue;
        };
        if given_fallback(m, cs.scope, cs.call.range()) {
            continue;
        }
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(cs.call),
            format!(
                "new `{}` per request in `{f}` while checkpoints are enabled: every request starts with none and they are lost",
                cs.kind.map_or("", |k| k.display())
            ),
        ));
    }
}

/// Whether the call at `at` only runs when a parameter that every
/// per-request caller passes is missing: in the body of `if p is None:` /
/// `if not p:`, or the fallback of `p or X()`.
fn given_fallback(m: &Model, scope: crate::lint::model::Scope, at: TextRange) -> bool {
    let Some(f) = m.func_of(scope) else {
        return false;
    };
    let mut v = Fallback {
        f,
        at,
        found: false,
    };
    v.visit_body(&f.def.body);
    v.found
}

struct Fallback<'f, 'a> {
    f: &'f Func<'a>,
    at: TextRange,
    found: bool,
}

impl Fallback<'_, '_> {
    fn given(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n) if self.f.given.contains(&n.id.as_str()))
    }

    /// `p is None`, `not p`.
    fn missing(&self, test: &Expr) -> bool {
        match test {
            Expr::Compare(c) => {
                c.ops.len() == 1
                    && c.ops[0] == CmpOp::Is
                    && matches!(c.comparators[0], Expr::NoneLiteral(_))
                    && self.given(&c.left)
            }
            Expr::UnaryOp(u) => u.op == UnaryOp::Not && self.given(&u.operand),
            _ => false,
        }
    }
}

impl<'a> Visitor<'a> for Fallback<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::If(s) = stmt {
            let body = s
                .body
                .first()
                .zip(s.body.last())
                .map(|(a, b)| TextRange::new(a.start(), b.end()));
            if self.missing(&s.test) && body.is_some_and(|r| r.contains_range(self.at)) {
                self.found = true;
            }
        }
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::BoolOp(b) = expr {
            if b.op == ast::BoolOp::Or
                && self.given(&b.values[0])
                && b.values[1..]
                    .iter()
                    .any(|v| v.range().contains_range(self.at))
            {
                self.found = true;
            }
        }
        visitor::walk_expr(self, expr);
    }
}
