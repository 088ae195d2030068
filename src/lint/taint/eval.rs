//! The taint of an expression's value: names, f-strings, operators, calls
//! (sanitisers, path builders, helpers through their summaries, methods of
//! tainted values).

use ruff_python_ast::{self as ast, Expr};

use super::checks::{
    component, is_path_builder, is_sanitizer, path_call, second_of_pair, splitext_call,
    suffix_literal,
};
use super::{Engine, Env, Taint};
use crate::lint::known;
use crate::lint::model::Func;

impl<'c, 'm, 'a> Engine<'c, 'm, 'a> {
    /// Taint of an expression's value.
    pub(super) fn eval(&mut self, fi: usize, expr: &'a Expr, env: &Env<'a>) -> Taint {
        match expr {
            Expr::Name(n) => env.get(n.id.as_str()),
            Expr::FString(f) => {
                let mut t = Taint::Clean;
                for e in known::fstring_exprs(f) {
                    t = t.max(self.eval(fi, e, env));
                }
                t
            }
            // One component of a path with a literal added (`Path(x).stem +
            // ".md"`): no separator, and never `.` or `..`.
            Expr::BinOp(b)
                if b.op == ast::Operator::Add
                    && component(self.m, &b.left)
                    && suffix_literal(&b.right) =>
            {
                Taint::Clean
            }
            Expr::BinOp(b) => self
                .eval(fi, &b.left, env)
                .max(self.eval(fi, &b.right, env)),
            // A path's suffix (`.md`) holds no separator and no `..`.
            Expr::Attribute(a)
                if matches!(a.attr.id.as_str(), "suffix" | "suffixes")
                    && path_call(self.m, &a.value) =>
            {
                Taint::Clean
            }
            // `request.app` (Starlette, FastAPI, aiohttp) is the application:
            // its state holds the app's own settings, not request data.
            Expr::Attribute(a)
                if a.attr.id.as_str() == "app" && self.is_request_object(fi, &a.value) =>
            {
                Taint::Clean
            }
            Expr::Attribute(a) => self.eval(fi, &a.value, env),
            // `os.path.splitext(name)[1]`: an extension holds no separator.
            Expr::Subscript(s) if splitext_call(self.m, &s.value) && second_of_pair(&s.slice) => {
                Taint::Clean
            }
            Expr::Subscript(s) => self.eval(fi, &s.value, env),
            Expr::Await(a) => self.eval(fi, &a.value, env),
            Expr::Starred(s) => self.eval(fi, &s.value, env),
            Expr::If(i) => self
                .eval(fi, &i.body, env)
                .max(self.eval(fi, &i.orelse, env)),
            Expr::BoolOp(b) => b
                .values
                .iter()
                .fold(Taint::Clean, |t, v| t.max(self.eval(fi, v, env))),
            Expr::Named(n) => self.eval(fi, &n.value, env),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .fold(Taint::Clean, |a, v| a.max(self.eval(fi, v, env))),
            Expr::List(t) => t
                .elts
                .iter()
                .fold(Taint::Clean, |a, v| a.max(self.eval(fi, v, env))),
            Expr::Call(c) => self.eval_call(fi, c, env),
            // A dict literal holds its values (`{"cwd": f"/srv/{sid}"}`).
            Expr::Dict(d) => d.items.iter().fold(Taint::Clean, |a, item| {
                a.max(self.eval(fi, &item.value, env))
            }),
            _ => Taint::Clean,
        }
    }

    fn args_taint(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) -> Taint {
        let mut t = Taint::Clean;
        for a in c.arguments.args.iter() {
            t = t.max(self.eval(fi, a, env));
        }
        for k in c.arguments.keywords.iter() {
            t = t.max(self.eval(fi, &k.value, env));
        }
        t
    }

    /// The taint a call's return value carries: that of the arguments bound
    /// to the parameters in `mask` (the callee's summary).
    fn returned_taint(
        &mut self,
        fi: usize,
        c: &'a ast::ExprCall,
        env: &Env<'a>,
        callee: &Func,
        offset: usize,
        mask: u64,
    ) -> Taint {
        if mask == 0 {
            return Taint::Clean;
        }
        let names: Vec<&str> = callee
            .params()
            .map(|p| p.parameter.name.id.as_str())
            .collect();
        let mut t = Taint::Clean;
        for (param, arg) in bound_args(c, &names, offset) {
            if param.is_none_or(|k| k >= 64 || mask & (1 << k) != 0) {
                t = t.max(self.eval(fi, arg, env));
            }
        }
        t
    }

    fn eval_call(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) -> Taint {
        let m = self.m;
        if super::component::one_component(m, c, env) {
            return Taint::Clean;
        }
        let qual = m.qualify(&c.func);
        if let Some(q) = qual.as_deref() {
            if is_sanitizer(m, q) {
                return Taint::Clean;
            }
            if is_path_builder(m, q) {
                return self.args_taint(fi, c, env);
            }
        }
        if let Some(callee) = m.callee(&c.func, Some(fi)) {
            if self.args_taint(fi, c, env) == Taint::Clean {
                return Taint::Clean;
            }
            let f = &m.functions[callee];
            let offset = usize::from(f.is_method() && matches!(&*c.func, Expr::Attribute(_)));
            let mask = self.propagates(callee);
            return self.returned_taint(fi, c, env, f, offset, mask);
        }
        if let Some((file, callee, offset)) = self.ctx.external_callee(&c.func, Some(fi)) {
            let mask = self.ctx.summary(file, callee).map_or(0, |s| s.returns);
            let f = &self.ctx.models[file].functions[callee];
            return self.returned_taint(fi, c, env, f, offset, mask);
        }
        // `re.sub(P, repl, s)` keeps the taint of `s` (and of `repl`) unless
        // its class leaves one safe component (above).
        if let Some((_, repl, subject)) = super::component::re_sub(m, c) {
            return self.eval(fi, repl, env).max(self.eval(fi, subject, env));
        }
        if let Expr::Attribute(a) = &*c.func {
            return self.eval_method(fi, c, a, env);
        }
        Taint::Clean
    }

    /// The taint a method call's value carries (`c` calls `a`): per method,
    /// from the receiver, the arguments, or neither.
    fn eval_method(
        &mut self,
        fi: usize,
        c: &'a ast::ExprCall,
        a: &'a ast::ExprAttribute,
        env: &Env<'a>,
    ) -> Taint {
        let m = self.m;
        let method = a.attr.id.as_str();
        if matches!(
            method,
            "hexdigest"
                | "digest"
                | "isdigit"
                | "isalnum"
                | "isidentifier"
                | "count"
                | "find"
                | "index"
        ) {
            return Taint::Clean;
        }
        // Only methods on a value (not module functions we do not know).
        let on_module = matches!(&*a.value, Expr::Name(n) if m.imports.contains_key(n.id.as_str()));
        if on_module {
            return Taint::Clean;
        }
        let recv = self.eval(fi, &a.value, env);
        if matches!(
            method,
            "format"
                | "format_map"
                | "join"
                | "joinpath"
                | "with_name"
                | "with_stem"
                | "with_suffix"
                | "replace"
                | "get"
                | "setdefault"
        ) {
            // `.get(key)` on a dict of request data: the receiver carries the taint.
            if matches!(method, "get" | "setdefault") {
                return recv;
            }
            return recv.max(self.args_taint(fi, c, env));
        }
        // A path getter of an object we cannot resolve
        // (`settings.get_tenant_output_dir(tenant)`) builds its path from
        // its arguments, whatever the receiver.
        if recv == Taint::Clean && path_getter(method) {
            return self.args_taint(fi, c, env);
        }
        recv
    }

    /// Whether `e` names a parameter of function `fi` that is the request
    /// object: annotated `Request`, `WebSocket` or `HTTPConnection`, or
    /// unannotated and named `request` or `websocket`.
    fn is_request_object(&self, fi: usize, e: &Expr) -> bool {
        let Expr::Name(n) = e else { return false };
        let name = n.id.as_str();
        self.m.functions[fi].params().any(|p| {
            p.parameter.name.id.as_str() == name
                && match p.parameter.annotation.as_deref() {
                    Some(Expr::Name(t)) => {
                        matches!(t.id.as_str(), "Request" | "WebSocket" | "HTTPConnection")
                    }
                    Some(Expr::Attribute(t)) => {
                        matches!(
                            t.attr.id.as_str(),
                            "Request" | "WebSocket" | "HTTPConnection"
                        )
                    }
                    None => matches!(name, "request" | "websocket"),
                    Some(_) => false,
                }
        })
    }
}

/// A method named for the path it returns: `get_user_dir`, `tenant_path`,
/// `config_file`, `upload_folder`, `workspace_root`.
fn path_getter(method: &str) -> bool {
    ["_dir", "_directory", "_path", "_file", "_folder", "_root"]
        .iter()
        .any(|s| method.ends_with(s))
}

/// The arguments of a call with the parameter of `names` each binds
/// (`offset` 1 when `self` is passed implicitly); `None` for `*args`,
/// `**kwargs` and unknown keywords.
fn bound_args<'e>(
    c: &'e ast::ExprCall,
    names: &[&str],
    offset: usize,
) -> Vec<(Option<usize>, &'e Expr)> {
    let mut out = Vec::new();
    for (k, a) in c.arguments.args.iter().enumerate() {
        out.push(((!a.is_starred_expr()).then_some(k + offset), a));
    }
    for kw in c.arguments.keywords.iter() {
        let k = kw
            .arg
            .as_ref()
            .and_then(|n| names.iter().position(|p| *p == n.id.as_str()));
        out.push((k, &kw.value));
    }
    out
}
