//! Path sinks: the calls a tainted value must not reach, and calls into
//! helpers (same file: their parameters get tainted; another file: the
//! callee's summary says which parameters reach a sink).

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::TextRange;

use super::checks::CONCRETE_PATH_CLASSES;
use super::{Engine, Env, Hit, Taint};
use crate::lint::diagnostic::FlowPoint;
use crate::lint::known::{self, Kind};
use crate::lint::program::ParamSink;

impl<'c, 'm, 'a> Engine<'c, 'm, 'a> {
    /// Finds path sinks in an expression and follows tainted arguments into helpers.
    pub(super) fn scan(&mut self, fi: usize, expr: &'a Expr, env: &Env<'a>) {
        let mut calls = CallCollector::default();
        calls.visit_expr(expr);
        for c in calls.calls {
            let reduced = calls.reduced.contains(&ruff_text_size::Ranged::range(c));
            self.check_sinks(fi, c, env, reduced);
            if self.emit {
                self.follow(fi, c, env);
            }
        }
    }

    /// `reduced`: the call's result is at once cut down to one component
    /// (`Path(name).name`), so building the path is no file operation.
    fn check_sinks(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>, reduced: bool) {
        let m = self.m;
        let mut sinks: Vec<(&'a Expr, String)> = Vec::new();
        for kw in ["root_dir", "workspace_root"] {
            if let Some(v) = known::keyword(c, kw) {
                sinks.push((v, format!("`{kw}=`")));
            }
        }
        let qual = m.qualify(&c.func);
        let q = qual.as_deref().unwrap_or("");
        let last = q.rsplit('.').next().unwrap_or(q);
        match known::classify(m, q) {
            Some(Kind::FileCheckpointStore) => {
                if let Some(a) = known::arg(c, 0, &["directory"]) {
                    sinks.push((a, "`FileCheckpointStore(...)`".into()));
                }
            }
            Some(
                k @ (Kind::LocalWorkspace
                | Kind::DaFilesystem
                | Kind::DaLocalShell
                | Kind::PabLocal),
            ) => {
                if let Some(a) = c.arguments.args.first() {
                    sinks.push((a, format!("`{}(...)`", k.display())));
                }
            }
            Some(Kind::LgSaver) if last == "from_conn_string" => {
                if let Some(a) = known::arg(c, 0, &["conn_string"]) {
                    sinks.push((a, "checkpoint database file name".into()));
                }
            }
            _ => {}
        }
        if last == "get_or_create" {
            if let Expr::Attribute(a) = &*c.func {
                if self.is_rooted_session_manager(&a.value, env) {
                    if let Some(arg) = known::arg(c, 0, &["session_id"]) {
                        sinks.push((arg, "`SessionManager.get_or_create()` (mounts workspace_root/<id>/workspace)".into()));
                    }
                }
            }
        }
        file_op_sinks(m, q, c, &mut sinks);
        if !reduced && CONCRETE_PATH_CLASSES.contains(&q) && !self.checked_later(fi) {
            for a in c.arguments.args.iter() {
                sinks.push((a, "`Path(...)`".into()));
            }
        }
        // pathlib methods on a tainted path: `(BASE / user_id).write_text(...)`.
        if let Expr::Attribute(a) = &*c.func {
            let method = a.attr.id.as_str();
            let on_module =
                matches!(&*a.value, Expr::Name(n) if m.imports.contains_key(n.id.as_str()));
            if PATH_METHODS.contains(&method) && !on_module {
                sinks.push((&*a.value, format!("`Path.{method}()`")));
            }
        }
        for (arg, sink) in sinks {
            if self.eval(fi, arg, env) == Taint::Raw && self.emit {
                let range = ruff_text_size::Ranged::range(arg);
                let mut flow = self.flow_into(fi, arg);
                flow.push(FlowPoint::Here {
                    range,
                    message: format!("reaches {sink}"),
                });
                self.hits.push(Hit {
                    range,
                    base: sink.clone(),
                    sink,
                    flow,
                });
            }
        }
    }

    /// Whether the path the current statement builds and assigns is checked
    /// to stay under a base later in the function (`target = Path(root,
    /// name).resolve()`, then `target.is_relative_to(root)`): building it is
    /// no file operation, and the uses after the check are clean; the uses
    /// that are not (a check that does not leave, a use before it) are
    /// reported where they are.
    fn checked_later(&mut self, fi: usize) -> bool {
        let Some((f, name, end)) = self.assigning else {
            return false;
        };
        if f != fi {
            return false;
        }
        let body = &self.m.functions[fi].def.body;
        self.checks
            .entry(fi)
            .or_insert_with(|| super::checks::containment_checks(body))
            .iter()
            .any(|&(n, at)| n == name && at >= end)
    }

    fn is_rooted_session_manager(&self, recv: &'a Expr, env: &Env<'a>) -> bool {
        let value = match recv {
            Expr::Name(n) => env
                .exprs
                .get(n.id.as_str())
                .copied()
                .or_else(|| self.m.module_bindings.get(n.id.as_str()).map(|b| b.value)),
            _ => None,
        };
        let rooted = |c: &ast::ExprCall| {
            self.m
                .qualify(&c.func)
                .and_then(|q| known::classify(self.m, &q))
                == Some(Kind::SessionManager)
                && known::keyword(c, "workspace_root").is_some()
        };
        if let Some(Expr::Call(c)) = value {
            return rooted(c);
        }
        // Created in `lifespan`/startup and kept in a global or `app.state`.
        let name = match recv {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => return false,
        };
        self.m.calls.iter().any(|cs| {
            cs.kind == Some(Kind::SessionManager)
                && cs.targets.iter().any(|t| t.name == name)
                && rooted(cs.call)
        })
    }

    /// Tainted arguments of a call to a same-file helper taint its parameters.
    /// A function handed to an executor or a thread runs with the arguments
    /// passed after it (`loop.run_in_executor(None, write, path)`).
    fn follow(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) {
        let (func, skip) = known::run_later(self.m, c).unwrap_or((&*c.func, 0));
        let Some(callee) = self.m.callee(func, Some(fi)) else {
            self.follow_external(fi, c, func, skip, env);
            return;
        };
        let f = &self.m.functions[callee];
        let offset = usize::from(f.is_method() && matches!(func, Expr::Attribute(_)));
        let names: Vec<&str> = f.params().map(|p| p.parameter.name.id.as_str()).collect();
        let mut new = Vec::new();
        for (k, a) in c.arguments.args.iter().skip(skip).enumerate() {
            if !a.is_starred_expr() && self.eval(fi, a, env) == Taint::Raw {
                new.push(k + offset);
            }
        }
        for kw in c.arguments.keywords.iter() {
            if let Some(name) = &kw.arg {
                if self.eval(fi, &kw.value, env) == Taint::Raw {
                    if let Some(k) = names.iter().position(|n| *n == name.id.as_str()) {
                        new.push(k);
                    }
                }
            }
        }
        let mut changed = false;
        for k in new {
            changed |= self.tainted[callee].insert(k);
        }
        if changed {
            if self.came_from[callee].is_none() && !self.m.functions[callee].entry && callee != fi {
                self.came_from[callee] = Some((fi, ruff_text_size::Ranged::range(c)));
            }
            self.queue.push_back(callee);
        }
    }

    /// A call into another file: a tainted argument for a parameter that the
    /// callee's summary says reaches a sink is a hit at the argument.
    fn follow_external(
        &mut self,
        fi: usize,
        c: &'a ast::ExprCall,
        func: &'a Expr,
        skip: usize,
        env: &Env<'a>,
    ) {
        let Some((file, callee, offset)) = self.ctx.external_callee(func, Some(fi)) else {
            return;
        };
        let Some(summary) = self.ctx.summary(file, callee) else {
            return;
        };
        if summary.sinks.is_empty() {
            return;
        }
        let target = &self.ctx.models[file].functions[callee];
        let names: Vec<&str> = target
            .params()
            .map(|p| p.parameter.name.id.as_str())
            .collect();
        let mut args: Vec<(usize, &'a Expr)> = Vec::new();
        for (k, a) in c.arguments.args.iter().skip(skip).enumerate() {
            if !a.is_starred_expr() {
                args.push((k + offset, a));
            }
        }
        for kw in c.arguments.keywords.iter() {
            if let Some(name) = &kw.arg {
                if let Some(k) = names.iter().position(|n| *n == name.id.as_str()) {
                    args.push((k, &kw.value));
                }
            }
        }
        let callee_name = self.ctx.describe(file, callee);
        // One finding per call: the first tainted argument that reaches a sink,
        // naming every parameter that does.
        let mut first: Option<(&'a Expr, &ParamSink)> = None;
        let mut via: Vec<&str> = Vec::new();
        for (k, a) in args {
            if self.eval(fi, a, env) != Taint::Raw {
                continue;
            }
            if let Some(ps) = summary.sinks.iter().find(|ps| ps.param == k) {
                first.get_or_insert((a, ps));
                via.push(names.get(k).copied().unwrap_or("?"));
            }
        }
        let Some((a, ps)) = first else {
            return;
        };
        let range = ruff_text_size::Ranged::range(a);
        let mut flow = self.flow_into(fi, a);
        flow.push(FlowPoint::Here {
            range,
            message: format!("passed to `{callee_name}()` as `{}`", via[0]),
        });
        flow.extend(ps.steps.iter().cloned().map(FlowPoint::There));
        let params = via
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.hits.push(Hit {
            range,
            sink: format!("{} through `{callee_name}()` (parameter {params})", ps.sink),
            base: ps.sink.clone(),
            flow,
        });
    }
}

/// The file operations among the calls (`open`, `shutil.rmtree`,
/// `os.rename`, ...): their path arguments are sinks.
fn file_op_sinks<'a>(
    m: &crate::lint::model::Model,
    q: &str,
    c: &'a ast::ExprCall,
    sinks: &mut Vec<(&'a Expr, String)>,
) {
    let path_call = m.is_builtin(q, "open")
        || matches!(
            q,
            "io.open"
                | "os.open"
                | "aiofiles.open"
                | "shutil.rmtree"
                | "shutil.copytree"
                | "shutil.move"
                | "os.remove"
                | "os.unlink"
                | "os.rmdir"
                | "os.removedirs"
                | "os.makedirs"
                | "os.mkdir"
                | "sqlite3.connect"
                | "aiosqlite.connect"
        );
    if path_call {
        if let Some(a) = known::arg(c, 0, &["file", "path", "name", "database"]) {
            sinks.push((a, format!("`{q}()`")));
        }
    }
    if matches!(
        q,
        "shutil.copy" | "shutil.copy2" | "shutil.copyfile" | "os.rename" | "os.replace"
    ) {
        for a in c.arguments.args.iter().take(2) {
            sinks.push((a, format!("`{q}()`")));
        }
    }
}

/// pathlib methods that read, write, create or delete the file at the path.
const PATH_METHODS: &[&str] = &[
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "open",
    "mkdir",
    "unlink",
    "rmdir",
    "rename",
    "touch",
];

/// The calls of an expression, and those whose result is at once reduced
/// to one component of a path (`Path(name).name`, `.suffix`, `.stem`).
#[derive(Default)]
struct CallCollector<'a> {
    calls: Vec<&'a ast::ExprCall>,
    reduced: Vec<TextRange>,
}

impl<'a> Visitor<'a> for CallCollector<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            self.calls.push(c);
        }
        if let Expr::Attribute(a) = expr {
            if matches!(a.attr.id.as_str(), "name" | "suffix" | "suffixes" | "stem") {
                if let Expr::Call(c) = &*a.value {
                    self.reduced.push(ruff_text_size::Ranged::range(c));
                }
            }
        }
        if !matches!(expr, Expr::Lambda(_)) {
            visitor::walk_expr(self, expr);
        }
    }
}
