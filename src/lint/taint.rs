//! The taint engine: request-controlled values to filesystem paths. Within a
//! file it follows assignments, branches (with validation), and same-file
//! helpers (arguments into parameters, return values out); across files it
//! applies the callee's summary ([`FnSummary`]: which parameters reach which
//! sink, whether the return value carries the arguments' taint), which
//! [`summarize`] computes with this same engine. Every hit carries its flow:
//! the source parameter, the calls it went through, the sink.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::VecDeque;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt, UnaryOp};
use ruff_text_size::TextRange;

use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use super::diagnostic::{FlowPoint, FlowStep};
use super::known::{self, Kind};
use super::model::{Func, Model};
use super::program::{Ctx, FnSummary, ParamSink};

/// Taint of a value. Ordered: combining two values takes the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Taint {
    Clean,
    /// Tainted, but already reported at a sink it flowed through.
    Reported,
    /// Tainted and not yet reported.
    Raw,
}

/// A request-controlled value reaching a path sink.
#[derive(Debug, Clone)]
pub struct Hit {
    pub range: TextRange,
    pub sink: String,
    /// The sink itself (`` `open()` ``), without the calls leading to it.
    pub base: String,
    /// Source, steps and sink (the sink last).
    pub flow: Vec<FlowPoint>,
}

#[derive(Clone, Default)]
struct Env<'a> {
    vars: HashMap<&'a str, Taint>,
    /// `m = re.fullmatch(p, x)`: `m` truthy means `x` is valid.
    guards: HashMap<&'a str, &'a str>,
    /// Local right-hand sides, to recognise a `SessionManager` bound in the function.
    exprs: HashMap<&'a str, &'a Expr>,
}

impl<'a> Env<'a> {
    fn get(&self, name: &str) -> Taint {
        self.vars.get(name).copied().unwrap_or(Taint::Clean)
    }
}

pub struct Engine<'c, 'm, 'a> {
    ctx: &'c Ctx<'m, 'a>,
    m: &'m Model<'a>,
    /// The call through which each function's parameters got tainted.
    came_from: Vec<Option<(usize, TextRange)>>,
    tainted: Vec<HashSet<usize>>,
    summaries: Vec<Option<bool>>,
    in_progress: HashSet<usize>,
    emit: bool,
    queue: VecDeque<usize>,
    hits: Vec<Hit>,
}

fn engine<'c, 'm, 'a>(ctx: &'c Ctx<'m, 'a>) -> Engine<'c, 'm, 'a> {
    let m = ctx.model();
    let n = m.functions.len();
    Engine {
        ctx,
        m,
        came_from: vec![None; n],
        tainted: vec![HashSet::default(); n],
        summaries: vec![None; n],
        in_progress: HashSet::default(),
        emit: true,
        queue: VecDeque::new(),
        hits: Vec::new(),
    }
}

/// Runs the queue to a fixpoint (bounded).
fn drain(e: &mut Engine) {
    let n = e.m.functions.len();
    let mut budget = 10 * n + 10;
    while let Some(i) = e.queue.pop_front() {
        if budget == 0 {
            break;
        }
        budget -= 1;
        e.run_function(i);
    }
}

/// The summary of function `fi` of the checked file: which parameters reach a
/// sink (each analysed alone, so one parameter's taint is not blamed on
/// another) and whether the return value carries argument taint.
pub fn summarize(ctx: &Ctx, fi: usize) -> FnSummary {
    let m = ctx.model();
    let f = &m.functions[fi];
    let params: Vec<usize> = f
        .params()
        .enumerate()
        .filter(|(_, p)| !matches!(p.parameter.name.id.as_str(), "self" | "cls"))
        .map(|(k, _)| k)
        .collect();
    let run = |tainted: HashSet<usize>| {
        let mut e = engine(ctx);
        e.tainted[fi] = tainted;
        e.queue.push_back(fi);
        drain(&mut e);
        let mut seen = HashSet::default();
        e.hits
            .retain(|h| seen.insert((h.range.start(), h.range.end())));
        e
    };
    let all = run(params.iter().copied().collect());
    let mut summary = FnSummary::default();
    if !all.hits.is_empty() {
        let lines = LineIndex::from_source_text(m.source);
        let path = ctx.paths.get(ctx.file).cloned().unwrap_or_default();
        for &k in &params {
            for hit in run(HashSet::from_iter([k])).hits {
                let steps = hit
                    .flow
                    .iter()
                    .skip(1) // the parameter itself: the caller shows its argument
                    .map(|p| resolve_point(p, &path, m.source, &lines))
                    .collect();
                summary.sinks.push(ParamSink {
                    param: k,
                    sink: hit.base,
                    steps,
                });
            }
        }
    }
    let mut e = engine(ctx);
    summary.propagates = e.propagates(fi);
    summary
}

/// A flow point with positions resolved.
pub fn resolve_point(p: &FlowPoint, path: &str, source: &str, lines: &LineIndex) -> FlowStep {
    match p {
        FlowPoint::There(s) => s.clone(),
        FlowPoint::Here { range, message } => {
            let start = lines.line_column(range.start(), source);
            let end = lines.line_column(
                TextSize::new(range.end().to_u32().max(range.start().to_u32())),
                source,
            );
            FlowStep {
                path: path.to_string(),
                line: start.line.get(),
                column: start.column.get(),
                end_line: end.line.get(),
                end_column: end.column.get(),
                message: message.clone(),
            }
        }
    }
}

/// Runs the analysis over every per-request function of the file.
pub fn analyze(ctx: &Ctx) -> Vec<Hit> {
    let m = ctx.model();
    let mut e = engine(ctx);
    for (i, f) in m.functions.iter().enumerate() {
        if f.entry {
            e.tainted[i] = f
                .params()
                .enumerate()
                .filter(|(_, p)| is_request_param(ctx, p))
                .map(|(k, _)| k)
                .collect();
            e.queue.push_back(i);
        }
    }
    drain(&mut e);
    let mut seen = HashSet::default();
    e.hits
        .retain(|h| seen.insert((h.range.start(), h.range.end())));
    e.hits
}

/// Whether `e` is `Depends(...)` or `Security(...)`.
fn is_depends(e: &Expr) -> bool {
    match e {
        Expr::Call(c) => match &*c.func {
            Expr::Name(n) => matches!(n.id.as_str(), "Depends" | "Security"),
            Expr::Attribute(a) => matches!(a.attr.id.as_str(), "Depends" | "Security"),
            _ => false,
        },
        _ => false,
    }
}

/// Whether annotation `e` is `Annotated[T, Depends(...)]` (FastAPI's
/// recommended dependency form), written out or through an alias defined in
/// this file or imported from another module of the program
/// (`CurrentUser = Annotated[User, Depends(get_current_user)]`).
fn is_annotated_dependency(ctx: &Ctx, e: &Expr) -> bool {
    fn written_out(e: &Expr) -> bool {
        let Expr::Subscript(s) = e else {
            return false;
        };
        let base = match &*s.value {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => return false,
        };
        base == "Annotated"
            && matches!(&*s.slice, Expr::Tuple(t) if t.elts.iter().skip(1).any(is_depends))
    }
    if written_out(e) {
        return true;
    }
    let Expr::Name(n) = e else {
        return false;
    };
    let m = ctx.model();
    let name = n.id.as_str();
    if let Some(b) = m.module_bindings.get(name) {
        return written_out(b.value);
    }
    let (Some(index), Some(qual)) = (ctx.index, m.imports.get(name)) else {
        return false;
    };
    index.resolve(ctx.file, qual).is_some_and(|(f2, symbol)| {
        ctx.models[f2]
            .module_bindings
            .get(symbol.as_str())
            .is_some_and(|b| written_out(b.value))
    })
}

/// Entry parameters that carry request data: not `self`/`cls`, not typed as a
/// number, bool or UUID (the framework validates those), not a dependency.
fn is_request_param(ctx: &Ctx, p: &ast::ParameterWithDefault) -> bool {
    if matches!(p.parameter.name.id.as_str(), "self" | "cls") {
        return false;
    }
    let clean_type = |e: &Expr| match e {
        Expr::Name(n) => matches!(
            n.id.as_str(),
            "int" | "float" | "bool" | "UUID" | "UUID4" | "PositiveInt"
        ),
        Expr::Attribute(a) => matches!(a.attr.id.as_str(), "UUID" | "UUID4"),
        _ => false,
    };
    // A FastAPI dependency (`user: User = Depends(current_user)`) is the app's
    // own value (an authenticated user, a DB session), not raw request data.
    let annotation = p.parameter.annotation.as_deref();
    let dependency = p.default.as_deref().is_some_and(is_depends)
        || annotation.is_some_and(|a| is_annotated_dependency(ctx, a));
    !dependency && !annotation.is_some_and(clean_type)
}

impl<'c, 'm, 'a> Engine<'c, 'm, 'a> {
    /// A value built by a call already reported as a sink (`p = Path(f"/x/{id}")`)
    /// is not reported again where it is used (`p.read_text()`): one mistake, one finding.
    fn reported_if_hit(&self, hits_before: usize, t: Taint) -> Taint {
        if t == Taint::Raw && self.hits.len() > hits_before {
            Taint::Reported
        } else {
            t
        }
    }

    /// The flow that tainted function `fi`'s parameters: the source parameter,
    /// then each call it went through.
    fn flow_into(&self, fi: usize) -> Vec<FlowPoint> {
        let mut calls = Vec::new();
        let mut at = fi;
        let mut guard = 0;
        while let Some((caller, range)) = self.came_from[at] {
            let callee = self.m.functions[at].name;
            calls.push(FlowPoint::Here {
                range,
                message: format!("passed to `{callee}()`"),
            });
            at = caller;
            guard += 1;
            if guard > 32 {
                break;
            }
        }
        let f = &self.m.functions[at];
        let mut flow = Vec::new();
        if let Some(p) = f
            .params()
            .enumerate()
            .find(|(k, _)| self.tainted[at].contains(k))
            .map(|(_, p)| p)
        {
            let what = if f.entry {
                "request-controlled"
            } else {
                "tainted"
            };
            flow.push(FlowPoint::Here {
                range: ruff_text_size::Ranged::range(&p.parameter),
                message: format!("{what} parameter `{}` of `{}`", p.parameter.name.id, f.name),
            });
        }
        calls.reverse();
        flow.extend(calls);
        flow
    }

    fn run_function(&mut self, i: usize) -> Taint {
        let f: &'m Func<'a> = &self.m.functions[i];
        let mut env = Env::default();
        for (k, p) in f.params().enumerate() {
            if self.tainted[i].contains(&k) {
                env.vars.insert(p.parameter.name.id.as_str(), Taint::Raw);
            }
        }
        let mut ret = Taint::Clean;
        self.body(i, &f.def.body, &mut env, &mut ret);
        ret
    }

    /// Whether helper `i` passes its arguments' taint to its return value.
    fn propagates(&mut self, i: usize) -> bool {
        if let Some(s) = self.summaries[i] {
            return s;
        }
        if !self.in_progress.insert(i) {
            return false;
        }
        let saved_emit = std::mem::replace(&mut self.emit, false);
        let saved = std::mem::replace(&mut self.tainted[i], (0..64).collect());
        let r = self.run_function(i) == Taint::Raw;
        self.tainted[i] = saved;
        self.emit = saved_emit;
        self.in_progress.remove(&i);
        self.summaries[i] = Some(r);
        r
    }

    /// Walks a block; returns whether it always leaves (return/raise/continue/break).
    fn body(&mut self, fi: usize, body: &'a [Stmt], env: &mut Env<'a>, ret: &mut Taint) -> bool {
        for stmt in body {
            if self.stmt(fi, stmt, env, ret) {
                return true;
            }
        }
        false
    }

    fn stmt(&mut self, fi: usize, stmt: &'a Stmt, env: &mut Env<'a>, ret: &mut Taint) -> bool {
        match stmt {
            Stmt::Assign(a) => {
                let before = self.hits.len();
                self.scan(fi, &a.value, env);
                let t = self.eval(fi, &a.value, env);
                let t = self.reported_if_hit(before, t);
                for target in &a.targets {
                    self.assign(target, t, &a.value, env);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let before = self.hits.len();
                    self.scan(fi, v, env);
                    let t = self.eval(fi, v, env);
                    let t = self.reported_if_hit(before, t);
                    self.assign(&a.target, t, v, env);
                }
            }
            Stmt::AugAssign(a) => {
                self.scan(fi, &a.value, env);
                let t = self.eval(fi, &a.value, env);
                if let Expr::Name(n) = &*a.target {
                    let old = env.get(n.id.as_str());
                    env.vars.insert(n.id.as_str(), old.max(t));
                }
            }
            Stmt::Expr(e) => self.scan(fi, &e.value, env),
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.scan(fi, v, env);
                    *ret = (*ret).max(self.eval(fi, v, env));
                }
                return true;
            }
            Stmt::Raise(_) | Stmt::Continue(_) | Stmt::Break(_) => return true,
            Stmt::Assert(a) => {
                self.scan(fi, &a.test, env);
                for v in validated_when(&a.test, true, env) {
                    env.vars.insert(v, Taint::Clean);
                }
            }
            Stmt::If(s) => return self.if_stmt(fi, s, env, ret),
            Stmt::For(f) => {
                self.scan(fi, &f.iter, env);
                let t = self.eval(fi, &f.iter, env);
                self.assign(&f.target, t, &f.iter, env);
                self.body(fi, &f.body, env, ret);
                self.body(fi, &f.orelse, env, ret);
            }
            Stmt::While(w) => {
                self.scan(fi, &w.test, env);
                self.body(fi, &w.body, env, ret);
                self.body(fi, &w.orelse, env, ret);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.scan(fi, &item.context_expr, env);
                    if let Some(v) = &item.optional_vars {
                        let t = self.eval(fi, &item.context_expr, env);
                        self.assign(v, t, &item.context_expr, env);
                    }
                }
                return self.body(fi, &w.body, env, ret);
            }
            Stmt::Try(t) => {
                self.body(fi, &t.body, env, ret);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let mut henv = env.clone();
                    self.body(fi, &h.body, &mut henv, ret);
                }
                self.body(fi, &t.orelse, env, ret);
                self.body(fi, &t.finalbody, env, ret);
            }
            Stmt::Match(mt) => {
                self.scan(fi, &mt.subject, env);
                for case in &mt.cases {
                    let mut cenv = env.clone();
                    self.body(fi, &case.body, &mut cenv, ret);
                }
            }
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Delete(_) | Stmt::Pass(_) | Stmt::Global(_) | Stmt::Nonlocal(_) => {}
            Stmt::Import(_)
            | Stmt::ImportFrom(_)
            | Stmt::TypeAlias(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
        false
    }

    fn if_stmt(
        &mut self,
        fi: usize,
        s: &'a ast::StmtIf,
        env: &mut Env<'a>,
        ret: &mut Taint,
    ) -> bool {
        self.scan(fi, &s.test, env);
        let mut branches: Vec<(Env<'a>, bool)> = Vec::new();
        let mut then_env = env.clone();
        for v in validated_when(&s.test, true, env) {
            then_env.vars.insert(v, Taint::Clean);
        }
        let leaves = self.body(fi, &s.body, &mut then_env, ret);
        branches.push((then_env, leaves));
        // The remaining branches run when the test is false.
        let mut rest = env.clone();
        for v in validated_when(&s.test, false, env) {
            rest.vars.insert(v, Taint::Clean);
        }
        let mut has_else = false;
        for clause in &s.elif_else_clauses {
            let mut cenv = rest.clone();
            if let Some(test) = &clause.test {
                self.scan(fi, test, &rest);
                for v in validated_when(test, true, &rest) {
                    cenv.vars.insert(v, Taint::Clean);
                }
                let next: Vec<&'a str> = validated_when(test, false, &rest);
                let leaves = self.body(fi, &clause.body, &mut cenv, ret);
                branches.push((cenv, leaves));
                for v in next {
                    rest.vars.insert(v, Taint::Clean);
                }
            } else {
                has_else = true;
                let leaves = self.body(fi, &clause.body, &mut cenv, ret);
                branches.push((cenv, leaves));
            }
        }
        if !has_else {
            branches.push((rest, false));
        }
        let live: Vec<&Env<'a>> = branches
            .iter()
            .filter(|(_, l)| !l)
            .map(|(e, _)| e)
            .collect();
        if live.is_empty() {
            return true;
        }
        let mut merged = live[0].clone();
        for other in &live[1..] {
            for (k, v) in &other.vars {
                let cur = merged.get(k);
                merged.vars.insert(k, cur.max(*v));
            }
            for (k, v) in &other.exprs {
                merged.exprs.entry(k).or_insert(v);
            }
        }
        // A name only some branches define keeps the taint it has there.
        *env = merged;
        false
    }

    fn assign(&mut self, target: &'a Expr, t: Taint, value: &'a Expr, env: &mut Env<'a>) {
        match target {
            Expr::Name(n) => {
                let name = n.id.as_str();
                env.vars.insert(name, t);
                env.exprs.insert(name, value);
                if let Some(v) = validator_subject(value) {
                    env.guards.insert(name, v);
                } else {
                    env.guards.remove(name);
                }
            }
            Expr::Tuple(tu) => tu.elts.iter().for_each(|e| self.assign(e, t, value, env)),
            Expr::List(tu) => tu.elts.iter().for_each(|e| self.assign(e, t, value, env)),
            Expr::Starred(s) => self.assign(&s.value, t, value, env),
            _ => {}
        }
    }

    /// Taint of an expression's value.
    fn eval(&mut self, fi: usize, expr: &'a Expr, env: &Env<'a>) -> Taint {
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
            Expr::Attribute(a) => self.eval(fi, &a.value, env),
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

    fn eval_call(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) -> Taint {
        let m = self.m;
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
            let t = self.args_taint(fi, c, env);
            if t == Taint::Clean {
                return Taint::Clean;
            }
            return if self.propagates(callee) {
                t
            } else {
                Taint::Clean
            };
        }
        if let Some((file, callee, _)) = self.ctx.external_callee(&c.func, Some(fi)) {
            let propagates = self.ctx.summary(file, callee).is_some_and(|s| s.propagates);
            return if propagates {
                self.args_taint(fi, c, env)
            } else {
                Taint::Clean
            };
        }
        if let Expr::Attribute(a) = &*c.func {
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
            let on_module =
                matches!(&*a.value, Expr::Name(n) if m.imports.contains_key(n.id.as_str()));
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
            return recv;
        }
        Taint::Clean
    }

    /// Finds path sinks in an expression and follows tainted arguments into helpers.
    fn scan(&mut self, fi: usize, expr: &'a Expr, env: &Env<'a>) {
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
        if !reduced && PATH_CLASSES.contains(&q) {
            for a in c.arguments.args.iter() {
                sinks.push((a, "`Path(...)`".into()));
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
                let mut flow = self.flow_into(fi);
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
    fn follow(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) {
        let Some(callee) = self.m.callee(&c.func, Some(fi)) else {
            self.follow_external(fi, c, env);
            return;
        };
        let f = &self.m.functions[callee];
        let offset = usize::from(f.is_method() && matches!(&*c.func, Expr::Attribute(_)));
        let names: Vec<&str> = f.params().map(|p| p.parameter.name.id.as_str()).collect();
        let mut new = Vec::new();
        for (k, a) in c.arguments.args.iter().enumerate() {
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
    fn follow_external(&mut self, fi: usize, c: &'a ast::ExprCall, env: &Env<'a>) {
        let Some((file, callee, offset)) = self.ctx.external_callee(&c.func, Some(fi)) else {
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
        for (k, a) in c.arguments.args.iter().enumerate() {
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
        let mut flow = self.flow_into(fi);
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

/// Calls whose result carries none of the argument's taint.
fn is_sanitizer(m: &Model, q: &str) -> bool {
    m.is_builtin(q, "int")
        || m.is_builtin(q, "float")
        || m.is_builtin(q, "len")
        || m.is_builtin(q, "bool")
        || m.is_builtin(q, "hash")
        || q == "uuid.UUID"
        || q.starts_with("hashlib.")
        || q.ends_with("secure_filename")
        // Django's and werkzeug's `safe_join` raise (or return None) for a path
        // outside the base.
        || q.ends_with("safe_join")
        || q == "uuid.uuid4"
        || q == "uuid.uuid5"
}

/// Calls that build a path or string from their arguments.
fn is_path_builder(m: &Model, q: &str) -> bool {
    m.is_builtin(q, "str")
        || matches!(
            q,
            "os.path.join"
                | "posixpath.join"
                | "os.path.abspath"
                | "os.path.normpath"
                | "os.path.expanduser"
                | "os.path.realpath"
                | "os.fspath"
                | "os.path.basename"
                | "os.path.dirname"
                | "pathlib.Path"
                | "pathlib.PurePath"
                | "pathlib.PosixPath"
                | "pathlib.PurePosixPath"
        )
}

/// `x` for a validator call on `x`: `re.fullmatch(P, x)`, an anchored `re.match`,
/// `PATTERN.fullmatch(x)`, `x.isalnum()`.
fn validator_subject(expr: &Expr) -> Option<&str> {
    let Expr::Call(c) = expr else { return None };
    let Expr::Attribute(a) = &*c.func else {
        return None;
    };
    let method = a.attr.id.as_str();
    fn name_of(e: &Expr) -> Option<&str> {
        match e {
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        }
    }
    match method {
        "isalnum" | "isdigit" | "isdecimal" | "isidentifier" | "isalpha" => name_of(&a.value),
        "fullmatch" | "match" | "search" => {
            let module_re = matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "re");
            let (pattern, subject) = if module_re {
                (c.arguments.args.first(), c.arguments.args.get(1))
            } else {
                (None, c.arguments.args.first())
            };
            let anchored = method == "fullmatch"
                || pattern.is_some_and(|p| match p {
                    Expr::StringLiteral(s) => {
                        let s = s.value.to_str();
                        let end = s.ends_with('$') || s.ends_with("\\Z");
                        end && (method == "match" || s.starts_with('^'))
                    }
                    _ => false,
                })
                || (!module_re && method == "match");
            if anchored {
                subject.and_then(name_of)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Names known valid when `test` evaluates to `want`.
fn validated_when<'a>(test: &'a Expr, want: bool, env: &Env<'a>) -> Vec<&'a str> {
    match test {
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => validated_when(&u.operand, !want, env),
        // An allow-list: `if suffix not in ALLOWED: raise`.
        Expr::Compare(cmp)
            if cmp.ops.len() == 1
                && matches!(cmp.ops[0], CmpOp::In | CmpOp::NotIn)
                && is_allow_list(&cmp.comparators[0]) =>
        {
            match (&*cmp.left, (cmp.ops[0] == CmpOp::In) == want) {
                (Expr::Name(n), true) => vec![n.id.as_str()],
                _ => Vec::new(),
            }
        }
        // A resolved path checked to stay under a base directory.
        Expr::Call(c) if want && contained_path(c, env).is_some() => {
            contained_path(c, env).into_iter().collect()
        }
        Expr::Call(_) if want => validator_subject(test).into_iter().collect(),
        Expr::Name(n) if want => env.guards.get(n.id.as_str()).copied().into_iter().collect(),
        Expr::Compare(cmp)
            if cmp.ops.len() == 1 && matches!(cmp.comparators[0], Expr::NoneLiteral(_)) =>
        {
            let subject = match &*cmp.left {
                Expr::Name(n) => env.guards.get(n.id.as_str()).copied(),
                e => validator_subject(e),
            };
            let valid_when = cmp.ops[0] == CmpOp::IsNot;
            if want == valid_when {
                subject.into_iter().collect()
            } else {
                Vec::new()
            }
        }
        Expr::BoolOp(b) => {
            let and = b.op == ast::BoolOp::And;
            if and == want {
                let mut names: Vec<&'a str> = b
                    .values
                    .iter()
                    .flat_map(|v| validated_when(v, want, env))
                    .collect();
                if !want {
                    names.extend(separator_checks(&b.values));
                }
                names
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// A constant collection: a literal set/list/tuple/dict, or an UPPER_CASE name.
fn is_allow_list(e: &Expr) -> bool {
    match e {
        Expr::Set(_) | Expr::List(_) | Expr::Tuple(_) | Expr::Dict(_) => true,
        Expr::Name(n) => {
            let s = n.id.as_str();
            s.chars().any(|c| c.is_ascii_uppercase()) && !s.chars().any(|c| c.is_ascii_lowercase())
        }
        Expr::Attribute(a) => {
            let s = a.attr.id.as_str();
            s.chars().any(|c| c.is_ascii_uppercase()) && !s.chars().any(|c| c.is_ascii_lowercase())
        }
        _ => false,
    }
}

/// `full.startswith(BASE + os.sep)` where `full = os.path.realpath(...)`, or
/// `p.is_relative_to(BASE)` where `p = (...).resolve()`: the name checked.
/// A prefix without a trailing separator (`/srv/users` matches `/srv/users2`) is not enough.
/// Also through the wrappers a check is written with: `str(p)`,
/// `PurePath(str(p))`, a separator added on both sides (`(str(p) + sep).
/// startswith(root + sep)`), and an awaited `anyio.Path(...).resolve()`.
fn contained_path<'a>(c: &'a ast::ExprCall, env: &Env<'a>) -> Option<&'a str> {
    /// The name a check's receiver is built from.
    fn checked(e: &Expr) -> Option<&ast::ExprName> {
        match e {
            Expr::Name(n) => Some(n),
            Expr::Call(c) if c.arguments.args.len() == 1 && c.arguments.keywords.is_empty() => {
                let f = match &*c.func {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.id.as_str(),
                    _ => return None,
                };
                matches!(f, "str" | "Path" | "PurePath" | "PurePosixPath" | "fspath")
                    .then(|| checked(&c.arguments.args[0]))
                    .flatten()
            }
            Expr::BinOp(b) if b.op == ast::Operator::Add && ends_with_separator(&b.right) => {
                checked(&b.left)
            }
            _ => None,
        }
    }
    let Expr::Attribute(a) = &*c.func else {
        return None;
    };
    let n = checked(&a.value)?;
    let value = env.exprs.get(n.id.as_str()).map(|v| match v {
        Expr::Await(w) => &*w.value,
        v => *v,
    });
    let resolved = value.is_some_and(|v| match v {
        Expr::Call(vc) => match &*vc.func {
            Expr::Attribute(f) => matches!(
                f.attr.id.as_str(),
                "realpath" | "abspath" | "normpath" | "resolve"
            ),
            Expr::Name(f) => matches!(f.id.as_str(), "realpath" | "abspath" | "normpath"),
            _ => false,
        },
        _ => false,
    });
    if !resolved {
        return None;
    }
    let ok = match a.attr.id.as_str() {
        "is_relative_to" => true,
        "startswith" => c.arguments.args.first().is_some_and(ends_with_separator),
        _ => false,
    };
    ok.then_some(n.id.as_str())
}

/// The pathlib classes whose instances are paths (what the sinks and the
/// one-component reductions recognise).
const PATH_CLASSES: [&str; 4] = [
    "pathlib.Path",
    "pathlib.PurePath",
    "pathlib.PosixPath",
    "pathlib.PurePosixPath",
];

/// `Path(...)` written out (what its attributes are read from).
fn path_call(m: &Model, e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if m.qualify(&c.func).is_some_and(|q| PATH_CLASSES.contains(&q.as_str())))
}

/// `Path(x).name` or `Path(x).stem`: one component, without a separator.
fn component(m: &Model, e: &Expr) -> bool {
    matches!(e, Expr::Attribute(a) if matches!(a.attr.id.as_str(), "name" | "stem") && path_call(m, &a.value))
}

/// A non-empty string literal without a separator (`".md"`, `"_copy"`).
fn suffix_literal(e: &Expr) -> bool {
    matches!(e, Expr::StringLiteral(s) if { let v = s.value.to_str(); !v.is_empty() && !v.contains(['/', '\\']) })
}

/// `BASE + os.sep`, `"/srv/users/"`, `f"{BASE}/"`, `str(BASE) + "/"`.
fn ends_with_separator(e: &Expr) -> bool {
    match e {
        Expr::StringLiteral(s) => s.value.to_str().ends_with('/'),
        Expr::BinOp(b) => ends_with_separator(&b.right),
        Expr::Attribute(a) => a.attr.id.as_str() == "sep",
        Expr::Name(n) => n.id.as_str() == "sep",
        Expr::FString(f) => f.value.iter().last().is_some_and(|part| {
            match part {
            ast::FStringPart::Literal(l) => l.value.ends_with('/'),
            ast::FStringPart::FString(fs) => fs.elements.iter().last().is_some_and(|el| {
                matches!(el, ast::InterpolatedStringElement::Literal(l) if l.value.ends_with('/'))
            }),
        }
        }),
        _ => false,
    }
}

/// `if "/" in x or ".." in x: raise`: names checked for both a separator and dots.
fn separator_checks<'a>(values: &'a [Expr]) -> Vec<&'a str> {
    let mut seen: HashMap<&'a str, (bool, bool)> = HashMap::default();
    for v in values {
        match v {
            Expr::Compare(cmp) if cmp.ops.len() == 1 && cmp.ops[0] == CmpOp::In => {
                if let (Expr::StringLiteral(s), Expr::Name(n)) = (&*cmp.left, &cmp.comparators[0]) {
                    let s = s.value.to_str();
                    let e = seen.entry(n.id.as_str()).or_default();
                    e.0 |= s.contains('/') || s.contains('\\');
                    e.1 |= s.contains('.');
                }
                if let (Expr::Attribute(a), Expr::Name(n)) = (&*cmp.left, &cmp.comparators[0]) {
                    if a.attr.id.as_str() == "sep" {
                        seen.entry(n.id.as_str()).or_default().0 = true;
                    }
                }
            }
            Expr::Call(c) => {
                if let Expr::Attribute(a) = &*c.func {
                    if a.attr.id.as_str() == "startswith" {
                        if let (Expr::Name(n), Some(Expr::StringLiteral(s))) =
                            (&*a.value, c.arguments.args.first())
                        {
                            if s.value.to_str().starts_with('.') {
                                seen.entry(n.id.as_str()).or_default().1 = true;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    seen.into_iter()
        .filter(|(_, (s, d))| *s && *d)
        .map(|(n, _)| n)
        .collect()
}
