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
use super::model::{Func, Model};
use super::program::{Ctx, FnSummary, ParamSink};

mod checks;
mod component;
mod eval;
mod sinks;
mod sources;

use checks::{validated_when, validator_subject};
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
    /// Names whose value holds no path separator but may be `..` (see [`component`]).
    nosep: HashSet<&'a str>,
    /// Containers filled with tuples (`items.append((name, text))`): the
    /// taint of each position, so `for name, text in items` keeps a clean
    /// name clean next to tainted text.
    elems: HashMap<&'a str, Vec<Taint>>,
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
    /// Per function: which parameters' taint its return value carries (a bit each).
    summaries: Vec<Option<u64>>,
    in_progress: HashSet<usize>,
    emit: bool,
    queue: VecDeque<usize>,
    hits: Vec<Hit>,
    /// The name the statement being walked assigns, in which function, and
    /// where the statement ends: a path built there is checked later maybe.
    assigning: Option<(usize, &'a str, TextSize)>,
    /// Per function, the names containment checks are written on, and where.
    checks: HashMap<usize, Vec<(&'a str, TextSize)>>,
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
        assigning: None,
        checks: HashMap::default(),
    }
}

/// Helpers with more parameters than this are not analysed parameter by
/// parameter: any tainted argument taints their return value.
const MAX_SPLIT_PARAMS: usize = 12;

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
    summary.returns = e.propagates(fi);
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
    /// then each call it went through. `at_hit` is the expression that reached
    /// the sink: when `fi` is the source function, the parameter it names is
    /// the source shown (not merely the first tainted one).
    fn flow_into(&self, fi: usize, at_hit: &Expr) -> Vec<FlowPoint> {
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
        let mut named = Vec::new();
        if at == fi {
            names_in(at_hit, &mut named);
        }
        let tainted: Vec<&ast::ParameterWithDefault> = f
            .params()
            .enumerate()
            .filter(|(k, _)| self.tainted[at].contains(k))
            .map(|(_, p)| p)
            .collect();
        let mut flow = Vec::new();
        if let Some(p) = tainted
            .iter()
            .find(|p| named.contains(&p.parameter.name.id.as_str()))
            .or(tainted.first())
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

    /// Which parameters of helper `i` pass their taint to its return value
    /// (bit `k` for parameter `k`, `self` included): each parameter is tried
    /// alone, so that `def clean(name, default): ... return default` is a
    /// sanitiser of `name`.
    fn propagates(&mut self, i: usize) -> u64 {
        if let Some(s) = self.summaries[i] {
            return s;
        }
        if !self.in_progress.insert(i) {
            return 0;
        }
        let saved_emit = std::mem::replace(&mut self.emit, false);
        let n = self.m.functions[i].params().count();
        let try_params = |e: &mut Self, params: HashSet<usize>| {
            let saved = std::mem::replace(&mut e.tainted[i], params);
            let r = e.run_function(i) == Taint::Raw;
            e.tainted[i] = saved;
            r
        };
        let mut mask = 0;
        if try_params(self, (0..64).collect()) {
            mask = u64::MAX;
            if (2..=MAX_SPLIT_PARAMS).contains(&n) {
                mask = (0..n)
                    .filter(|&k| try_params(self, HashSet::from_iter([k])))
                    .fold(0, |m, k| m | 1 << k);
            }
        }
        self.emit = saved_emit;
        self.in_progress.remove(&i);
        self.summaries[i] = Some(mask);
        mask
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
            Stmt::Assign(a) => self.assign_stmt(fi, &a.targets, &a.value, a.range.end(), env),
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    let targets = std::slice::from_ref(&*a.target);
                    self.assign_stmt(fi, targets, v, a.range.end(), env);
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
            Stmt::Expr(e) => {
                self.scan(fi, &e.value, env);
                self.fill(fi, &e.value, env);
            }
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
                let per_position = match (&*f.iter, &*f.target) {
                    (Expr::Name(n), Expr::Tuple(tu)) => env
                        .elems
                        .get(n.id.as_str())
                        .filter(|p| p.len() == tu.elts.len())
                        .cloned()
                        .map(|p| (tu, p)),
                    _ => None,
                };
                match per_position {
                    Some((tu, p)) => {
                        for (e, t) in tu.elts.iter().zip(p) {
                            self.assign(e, t, &f.iter, env);
                        }
                    }
                    None => self.assign(&f.target, t, &f.iter, env),
                }
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

    /// `items.append(x)` (`extend`, `add`, `insert`, `appendleft`, `update`)
    /// on a name: the container holds `x`'s taint from then on, and so does
    /// what a loop over it takes out.
    fn fill(&mut self, fi: usize, e: &'a Expr, env: &mut Env<'a>) {
        let Expr::Call(c) = e else { return };
        let Expr::Attribute(a) = &*c.func else { return };
        let Expr::Name(n) = &*a.value else { return };
        if !matches!(
            a.attr.id.as_str(),
            "append" | "extend" | "add" | "insert" | "appendleft" | "update"
        ) {
            return;
        }
        let name = n.id.as_str();
        let mut t = Taint::Clean;
        for arg in c.arguments.args.iter() {
            t = t.max(self.eval(fi, arg, env));
        }
        // A tuple appended: its positions, kept apart while every tuple
        // appended has the same length.
        let tuple = match (a.attr.id.as_str(), &c.arguments.args[..]) {
            ("append" | "add" | "appendleft", [Expr::Tuple(tu)]) => Some(tu),
            ("insert", [_, Expr::Tuple(tu)]) => Some(tu),
            _ => None,
        };
        match tuple {
            Some(tu) => {
                let now: Vec<Taint> = tu.elts.iter().map(|e| self.eval(fi, e, env)).collect();
                let before = env.elems.get(name);
                let filled = env.vars.get(name).is_some_and(|t| *t != Taint::Clean);
                match before {
                    Some(b) if b.len() == now.len() => {
                        let merged = b.iter().zip(&now).map(|(x, y)| (*x).max(*y)).collect();
                        env.elems.insert(name, merged);
                    }
                    None if !filled => {
                        env.elems.insert(name, now);
                    }
                    _ => {
                        env.elems.remove(name);
                    }
                }
            }
            None if t != Taint::Clean => {
                env.elems.remove(name);
            }
            None => {}
        }
        if t != Taint::Clean {
            let old = env.get(name);
            env.vars.insert(name, old.max(t));
        }
    }

    /// `targets = value`: sinks in the value, then the targets' taint. A
    /// path built for one name may be checked later (see `checked_later`).
    fn assign_stmt(
        &mut self,
        fi: usize,
        targets: &'a [Expr],
        value: &'a Expr,
        end: TextSize,
        env: &mut Env<'a>,
    ) {
        let before = self.hits.len();
        let name = match targets {
            [Expr::Name(n)] => Some((fi, n.id.as_str(), end)),
            _ => None,
        };
        let saved = std::mem::replace(&mut self.assigning, name);
        self.scan(fi, value, env);
        self.assigning = saved;
        let t = self.eval(fi, value, env);
        let t = self.reported_if_hit(before, t);
        for target in targets {
            self.assign(target, t, value, env);
        }
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
        // Without a separator after the branches when it is so (or clean) in each.
        merged.nosep = live
            .iter()
            .flat_map(|b| b.nosep.iter().copied())
            .filter(|k| {
                live.iter()
                    .all(|b| b.nosep.contains(k) || b.get(k) == Taint::Clean)
            })
            .collect();
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
                if component::no_separator(self.m, value, env) {
                    env.nosep.insert(name);
                } else {
                    env.nosep.remove(name);
                }
                env.vars.insert(name, t);
                env.elems.remove(name);
                env.exprs.insert(name, value);
                if let Some(v) =
                    validator_subject(value).or_else(|| checks::contained_in_any(value, env))
                {
                    env.guards.insert(name, v);
                } else {
                    env.guards.remove(name);
                }
            }
            // `stem, ext = os.path.splitext(name)`: the extension holds no
            // separator (see `eval`); the rest keeps the name's taint.
            Expr::Tuple(tu) if tu.elts.len() == 2 && checks::splitext_call(self.m, value) => {
                self.assign(&tu.elts[0], t, value, env);
                self.assign(&tu.elts[1], Taint::Clean, value, env);
            }
            Expr::Tuple(tu) => tu.elts.iter().for_each(|e| self.assign(e, t, value, env)),
            Expr::List(tu) => tu.elts.iter().for_each(|e| self.assign(e, t, value, env)),
            Expr::Starred(s) => self.assign(&s.value, t, value, env),
            _ => {}
        }
    }
}

/// The names an expression reads (`preview_dir`, `name` in `join(preview_dir, name)`).
pub(super) fn names_in<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    struct Names<'e, 'o>(&'o mut Vec<&'e str>);
    impl<'e> ruff_python_ast::visitor::Visitor<'e> for Names<'e, '_> {
        fn visit_expr(&mut self, expr: &'e Expr) {
            if let Expr::Name(n) = expr {
                self.0.push(n.id.as_str());
            }
            ruff_python_ast::visitor::walk_expr(self, expr);
        }
    }
    ruff_python_ast::visitor::Visitor::visit_expr(&mut Names(out), e);
}
