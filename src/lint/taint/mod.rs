//! The taint engine: request-controlled values to filesystem paths. Within a
//! file it follows assignments, branches (with validation), and same-file
//! helpers (arguments into parameters, return values out); across files it
//! applies the callee's summary ([`FnSummary`]: which parameters reach which
//! sink, whether the return value carries the arguments' taint), which
//! [`summarize`] computes with this same engine. Every hit carries its flow:
//! the source parameter, the calls it went through, the sink.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::VecDeque;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::TextRange;

use ruff_source_file::LineIndex;
use ruff_text_size::TextSize;

use super::diagnostic::{FlowPoint, FlowStep};
use super::known;
use super::model::{Func, Model};
use super::program::{Ctx, FnSummary, ParamSink};

mod checks;
mod sinks;
mod sources;

use checks::{
    component, is_path_builder, is_sanitizer, path_call, suffix_literal, validated_when,
    validator_subject,
};
use sources::is_request_param;

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
}
