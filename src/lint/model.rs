//! The per-file semantic model, built in one pass over the AST: imports and
//! their aliases, functions and their scopes, module-level bindings, every call
//! site, and which functions are on a per-request path.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::known::{self, Kind};

/// Where a call or binding lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Module,
    Class(&'a str),
    Func(usize),
}

/// A name an enclosing statement binds: a plain name or an attribute (`app.state.x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub name: &'a str,
    pub attr: bool,
    /// An attribute of an application's shared state (`app.state.x`, `request.app.state.x`).
    pub state: bool,
    /// `self.x`: lives as long as the instance.
    pub on_self: bool,
}

/// A function definition (methods and nested functions included).
#[derive(Debug)]
pub struct Func<'a> {
    pub def: &'a ast::StmtFunctionDef,
    pub name: &'a str,
    pub class: Option<&'a str>,
    /// A multi-user entry point (route, websocket or bot handler, agent-run function).
    pub entry: bool,
    /// Reachable from an entry point.
    pub per_request: bool,
    /// Every call of it runs once for the app (see `lint::once`).
    pub once: bool,
    /// Parameters every call of it on a per-request path passes, and not as
    /// a literal `None` (see `lint::once`): a fallback for a missing one
    /// (`if checkpointer is None: ...`) never runs per request.
    pub given: Vec<&'a str>,
    /// Decorated with `functools.lru_cache`/`cache`.
    pub cached: bool,
    /// Parameters and names assigned in the body (minus `global` ones).
    pub locals: HashSet<&'a str>,
    /// Names read in the body.
    pub loads: HashSet<&'a str>,
    /// Attribute names read in the body (`x` of `self.x`, `app.state.x`).
    pub attr_loads: HashSet<&'a str>,
    /// Attributes of application state read in the body (`x` of `request.app.state.x`).
    pub state_loads: HashSet<&'a str>,
    /// Same-file functions called by bare name or through `self.`/`cls.`.
    pub calls_funcs: Vec<&'a str>,
    /// Right-hand sides assigned to each local name.
    pub local_assigns: HashMap<&'a str, Vec<&'a Expr>>,
    /// The body (not a nested function's) stores into a container:
    /// `x[k] = ...` or `.setdefault(...)` (what [`stored_in_container`]
    /// looks for; without either it need not walk the body).
    pub stores: bool,
    /// What it stores, found the first time it is asked.
    pub stored: std::sync::OnceLock<Stored>,
    /// Names declared `global` in the body.
    pub globals: HashSet<&'a str>,
    /// Defined inside another function.
    pub nested: bool,
    /// Who put it on a per-request path (`chat`, or `routes.chat` from another file).
    pub reached_from: Option<String>,
}

impl<'a> Func<'a> {
    /// Non-variadic parameters in declaration order.
    pub fn params(&self) -> impl Iterator<Item = &'a ast::ParameterWithDefault> {
        self.def.parameters.iter_non_variadic_params()
    }

    /// Whether the first parameter is `self`/`cls` of a method.
    /// The name other modules use: `f` or `Class.f` (nested functions have none).
    pub fn key(&self) -> Option<String> {
        if self.nested {
            return None;
        }
        Some(match self.class {
            Some(c) => format!("{c}.{}", self.name),
            None => self.name.to_string(),
        })
    }

    pub fn is_method(&self) -> bool {
        self.class.is_some()
            && self
                .params()
                .next()
                .is_some_and(|p| matches!(p.parameter.name.id.as_str(), "self" | "cls"))
    }
}

/// A module-level (or class-level) assignment.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub value: &'a Expr,
}

/// A call expression with its resolved callee.
#[derive(Debug)]
pub struct CallSite<'a> {
    pub call: &'a ast::ExprCall,
    pub qual: Option<String>,
    pub kind: Option<Kind>,
    pub scope: Scope<'a>,
    /// Names bound by the enclosing statement: for module/class-level calls all of
    /// them; inside a function only those that outlive it (`global` names, `app.state.x`).
    pub targets: Vec<Target<'a>>,
    /// Index of the enclosing cached factory, if any.
    pub in_cached: Option<usize>,
}

/// The semantic model of one file.
#[derive(Debug, Default)]
pub struct Model<'a> {
    pub source: &'a str,
    /// The simple names this file calls, passes to calls or names among
    /// a class's bases (the last part of `a.b.C`): whether a class may be
    /// used here, answered for every file once, not once per question
    /// (ISO123; see `rules::iso123_shell_true_execute::used`).
    pub named: std::sync::OnceLock<HashSet<String>>,
    pub imports: HashMap<&'a str, String>,
    pub star_imports: Vec<String>,
    /// Imports a web or chat-bot framework.
    pub framework: bool,
    pub functions: Vec<Func<'a>>,
    pub func_by_name: HashMap<&'a str, Vec<usize>>,
    pub module_bindings: HashMap<&'a str, Binding<'a>>,
    pub calls: Vec<CallSite<'a>>,
    pub module_called: HashSet<&'a str>,
    /// Some call passes `include_checkpoints=True`.
    pub include_checkpoints: bool,
    /// Some `create_deep_agent(...)` leaves memory on (its default).
    pub memory_enabled: bool,
    /// Has an entry point, or takes part in handling requests from another module.
    pub has_entry: bool,
    /// Module-level names of this file read on a per-request path in another file
    /// (`from .state import backend`), with the reader.
    pub ext_uses: HashMap<String, String>,
    /// Top-level functions and methods by key (`f`, `Class.f`).
    keys: HashMap<String, usize>,
    /// Top-level classes and assignments (what other modules can import).
    pub defines: Vec<&'a str>,
}

impl<'a> Model<'a> {
    pub fn build(source: &'a str, body: &'a [Stmt]) -> Self {
        let mut c = Collector {
            m: Model {
                source,
                ..Model::default()
            },
            scopes: vec![Scope::Module],
            targets: Vec::new(),
            cached: None,
        };
        // Imports first, so that resolution does not depend on statement order.
        for stmt in body {
            c.record_imports(stmt);
        }
        c.m.imports.shrink_to_fit();
        for stmt in body {
            c.visit_stmt(stmt);
        }
        let mut m = c.m;
        for (i, f) in m.functions.iter().enumerate() {
            if let Some(k) = f.key() {
                m.keys.entry(k).or_insert(i);
            }
        }
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(d) => m.defines.push(d.name.id.as_str()),
                Stmt::ClassDef(d) => m.defines.push(d.name.id.as_str()),
                _ => {}
            }
        }
        m.defines.extend(m.module_bindings.keys().copied());
        for i in 0..m.calls.len() {
            let kind = m.calls[i]
                .qual
                .as_deref()
                .and_then(|q| known::classify(&m, q));
            m.calls[i].kind = kind;
            if kind == Some(Kind::CreateDeepAgent) && !m.memory_enabled {
                let off = known::keyword(m.calls[i].call, "include_memory")
                    .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if !b.value));
                m.memory_enabled = !off;
            }
        }
        m.find_entries();
        m.propagate_per_request();
        m
    }

    /// A top-level function or method by key (`f`, `Class.f`).
    pub fn func_by_key(&self, key: &str) -> Option<usize> {
        self.keys.get(key).copied()
    }

    /// The dotted name an expression refers to, with imports resolved.
    pub fn qualify(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(n) => Some(
                self.imports
                    .get(n.id.as_str())
                    .cloned()
                    .unwrap_or_else(|| n.id.to_string()),
            ),
            Expr::Attribute(a) => {
                let base = self.qualify(&a.value)?;
                Some(format!("{base}.{}", a.attr.id))
            }
            _ => None,
        }
    }

    /// Whether `qual` names one of `names` from a package whose top level is in `roots`.
    pub fn is_sym(&self, qual: &str, roots: &[&str], names: &[&str]) -> bool {
        let (module, last) = match qual.rsplit_once('.') {
            Some((m, l)) => (Some(m), l),
            None => (None, qual),
        };
        if !names.contains(&last) {
            return false;
        }
        match module {
            Some(m) => {
                let top = m.split('.').next().unwrap_or(m);
                roots.contains(&top)
            }
            // A bare name: only from a star import of the package.
            None => {
                !self.imports.contains_key(qual)
                    && self.star_imports.iter().any(|s| {
                        let top = s.split('.').next().unwrap_or(s);
                        roots.contains(&top)
                    })
            }
        }
    }

    /// Whether `qual` is the builtin `name`, not shadowed by an import or a definition.
    pub fn is_builtin(&self, qual: &str, name: &str) -> bool {
        qual == name && !self.func_by_name.contains_key(name) && !self.imports.contains_key(name)
    }

    /// The same-file function a call expression targets, if any.
    pub fn callee(&self, func_expr: &Expr, caller: Option<usize>) -> Option<usize> {
        match func_expr {
            Expr::Name(n) if !self.imports.contains_key(n.id.as_str()) => {
                self.func_by_name.get(n.id.as_str()).and_then(|v| {
                    v.iter()
                        .copied()
                        .find(|&i| self.functions[i].class.is_none())
                })
            }
            Expr::Attribute(a) => {
                let Expr::Name(base) = &*a.value else {
                    return None;
                };
                if !matches!(base.id.as_str(), "self" | "cls") {
                    return None;
                }
                let class = caller.and_then(|c| self.functions[c].class);
                self.func_by_name.get(a.attr.id.as_str()).and_then(|v| {
                    v.iter()
                        .copied()
                        .find(|&i| class.is_some() && self.functions[i].class == class)
                })
            }
            _ => None,
        }
    }

    /// Whether module-level target `t` is read by a function on a per-request path;
    /// returns the name of the first such function.
    pub fn used_per_request(&self, t: &Target<'a>) -> Option<String> {
        self.functions
            .iter()
            .find(|f| {
                f.per_request
                    && if t.state {
                        f.state_loads.contains(t.name)
                    } else if t.attr {
                        f.attr_loads.contains(t.name)
                    } else {
                        f.loads.contains(t.name) && !f.locals.contains(t.name)
                    }
            })
            .map(|f| f.name.to_string())
            .or_else(|| {
                if t.state {
                    self.ext_uses.get(&format!("state.{}", t.name)).cloned()
                } else if !t.attr {
                    self.ext_uses.get(t.name).cloned()
                } else {
                    None
                }
            })
    }

    /// Whether `expr` has no per-request part: literals, module-level names and
    /// calls/operations over them only.
    pub fn is_constant(&self, expr: &Expr, func: Option<&Func<'a>>) -> bool {
        let is_local = |name: &str| func.is_some_and(|f| f.locals.contains(name));
        match expr {
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_)
            | Expr::EllipsisLiteral(_) => true,
            Expr::Name(n) => !is_local(n.id.as_str()),
            Expr::Attribute(a) => self.is_constant(&a.value, func),
            Expr::Subscript(s) => {
                self.is_constant(&s.value, func) && self.is_constant(&s.slice, func)
            }
            Expr::FString(f) => known::fstring_exprs(f).all(|e| self.is_constant(e, func)),
            Expr::BinOp(b) => self.is_constant(&b.left, func) && self.is_constant(&b.right, func),
            Expr::Call(c) => {
                self.is_constant(&c.func, func)
                    && c.arguments.args.iter().all(|a| self.is_constant(a, func))
                    && c.arguments
                        .keywords
                        .iter()
                        .all(|k| self.is_constant(&k.value, func))
            }
            Expr::Tuple(t) => t.elts.iter().all(|e| self.is_constant(e, func)),
            Expr::List(t) => t.elts.iter().all(|e| self.is_constant(e, func)),
            _ => false,
        }
    }

    pub fn func_of(&self, scope: Scope<'a>) -> Option<&Func<'a>> {
        match scope {
            Scope::Func(i) => Some(&self.functions[i]),
            _ => None,
        }
    }

    /// The per-request function that creates a fresh instance at this call and
    /// drops it with the request: not in a cached factory, not stored into a
    /// container (`cache[key] = X`, `cache.setdefault(key, X)`).
    pub fn fresh_per_request(&self, cs: &CallSite<'a>) -> Option<&'a str> {
        let f = self.func_of(cs.scope)?;
        // `self.x = X()` in `__init__` lives as long as the instance, whose
        // lifetime is not followed: not counted as fresh.
        let kept = cs.in_cached.is_some()
            || f.once
            || !cs.targets.is_empty()
            || stored_in_container(f, cs.call.range());
        (f.per_request && !kept).then_some(f.name)
    }

    /// Whether a call site sits in a function on a per-request path.
    pub fn in_request(&self, scope: Scope<'a>) -> bool {
        self.func_of(scope).is_some_and(|f| f.per_request)
    }

    fn find_entries(&mut self) {
        let mut entry = vec![false; self.functions.len()];
        let django = self.imports.values().any(|q| q.starts_with("django"));
        for (i, f) in self.functions.iter().enumerate() {
            if self.framework
                && f.def
                    .decorator_list
                    .iter()
                    .any(|d| self.is_route_decorator(&d.expression))
            {
                entry[i] = true;
            }
            if django && (f.class.is_none() || known::HTTP_METHODS.contains(&f.name)) {
                let mut params = f.params().map(|p| p.parameter.name.id.as_str());
                let first = if f.class.is_some() {
                    params.nth(1)
                } else {
                    params.next()
                };
                if first == Some("request") {
                    entry[i] = true;
                }
            }
        }
        for cs in &self.calls {
            // Handlers registered by call: Route("/x", endpoint), CommandHandler("x", fn), ...
            if self.framework {
                let last = match &*cs.call.func {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.id.as_str(),
                    _ => "",
                };
                if known::REGISTER_CALLS.contains(&last) {
                    let values = cs
                        .call
                        .arguments
                        .args
                        .iter()
                        .chain(cs.call.arguments.keywords.iter().map(|k| &k.value));
                    // The registering method's class, for `self.handler`.
                    let class = match cs.scope {
                        Scope::Func(fi) => self.functions[fi].class,
                        _ => None,
                    };
                    for v in values {
                        match v {
                            Expr::Name(n) => {
                                if let Some(ids) = self.func_by_name.get(n.id.as_str()) {
                                    for &id in ids {
                                        entry[id] = true;
                                    }
                                }
                            }
                            // `bot.on_message(self._handle_message)` in a method.
                            Expr::Attribute(a)
                                if class.is_some()
                                    && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") =>
                            {
                                for (id, f) in self.functions.iter().enumerate() {
                                    if f.class == class && f.name == a.attr.id.as_str() {
                                        entry[id] = true;
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            // A function running an agent with per-request deps.
            if let Scope::Func(fi) = cs.scope {
                let f = &self.functions[fi];
                if let Expr::Attribute(a) = &*cs.call.func {
                    if known::RUN_METHODS.contains(&a.attr.id.as_str())
                        && f.params()
                            .any(|p| !matches!(p.parameter.name.id.as_str(), "self" | "cls"))
                        && !self.module_called.contains(f.name)
                    {
                        let per_request = ["deps", "workspace"].iter().any(|k| {
                            known::keyword(cs.call, k).is_some_and(|v| match v {
                                Expr::Call(_) => true,
                                Expr::Name(n) => f.locals.contains(n.id.as_str()),
                                _ => false,
                            })
                        });
                        if per_request {
                            entry[fi] = true;
                        }
                    }
                }
            }
        }
        for (f, e) in self.functions.iter_mut().zip(entry) {
            f.entry = e;
        }
        self.has_entry = self.functions.iter().any(|f| f.entry);
    }

    fn is_route_decorator(&self, expr: &Expr) -> bool {
        let target = match expr {
            Expr::Call(c) => &*c.func,
            e => e,
        };
        match target {
            Expr::Attribute(a) => known::ROUTE_ATTRS.contains(&a.attr.id.as_str()),
            Expr::Name(n) => self.imports.get(n.id.as_str()).is_some_and(|q| {
                let (m, last) = q.rsplit_once('.').unwrap_or(("", q));
                known::FRAMEWORKS.contains(&m.split('.').next().unwrap_or(m))
                    && known::ROUTE_ATTRS.contains(&last)
            }),
            _ => false,
        }
    }

    fn propagate_per_request(&mut self) {
        let stack: Vec<(usize, Option<String>)> = (0..self.functions.len())
            .filter(|&i| self.functions[i].entry)
            .map(|i| (i, None))
            .collect();
        self.spread(stack);
    }

    /// Puts function `i` (and what it calls) on a per-request path; returns whether it was not yet.
    pub fn mark_per_request(&mut self, i: usize, from: String, entry: bool) -> bool {
        if entry && !self.functions[i].entry {
            self.functions[i].entry = true;
            self.has_entry = true;
        }
        if self.functions[i].per_request {
            return false;
        }
        self.spread(vec![(i, Some(from))]);
        true
    }

    fn spread(&mut self, mut stack: Vec<(usize, Option<String>)>) {
        while let Some((i, from)) = stack.pop() {
            if self.functions[i].per_request {
                continue;
            }
            self.functions[i].per_request = true;
            self.functions[i].reached_from = from;
            let mut next = Vec::new();
            let f = &self.functions[i];
            for name in &f.calls_funcs {
                if let Some(ids) = self.func_by_name.get(name) {
                    next.extend(ids.iter().copied().filter(|&j| {
                        self.functions[j].class.is_none() || self.functions[j].class == f.class
                    }));
                }
                // `ChatService()` runs `ChatService.__init__`.
                if let Some(ids) = self.func_by_name.get("__init__") {
                    next.extend(
                        ids.iter()
                            .copied()
                            .filter(|&j| self.functions[j].class == Some(*name)),
                    );
                }
            }
            // FastAPI dependencies: `deps = Depends(get_deps)`.
            for p in f.params() {
                if let Some(Expr::Call(c)) = p.default.as_deref() {
                    if let (Some(Expr::Name(n)), Some(q)) =
                        (c.arguments.args.first(), self.qualify(&c.func))
                    {
                        if q.ends_with("Depends") || q.ends_with("Security") {
                            if let Some(ids) = self.func_by_name.get(n.id.as_str()) {
                                next.extend(ids.iter().copied());
                            }
                        }
                    }
                }
            }
            // Nested functions run on the same path.
            for (j, g) in self.functions.iter().enumerate() {
                if g.def.range.start() > f.def.range.start()
                    && g.def.range.end() <= f.def.range.end()
                    && j != i
                {
                    next.push(j);
                }
            }
            let me = self.functions[i].name.to_string();
            stack.extend(
                next.into_iter()
                    .filter(|&j| !self.functions[j].per_request)
                    .map(|j| (j, Some(me.clone()))),
            );
        }
    }
}

struct Collector<'a> {
    m: Model<'a>,
    scopes: Vec<Scope<'a>>,
    targets: Vec<Target<'a>>,
    cached: Option<usize>,
}

/// Names bound by an assignment target.
pub fn target_names<'a>(expr: &'a Expr, out: &mut Vec<Target<'a>>) {
    match expr {
        Expr::Name(n) => out.push(Target {
            name: n.id.as_str(),
            attr: false,
            state: false,
            on_self: false,
        }),
        Expr::Attribute(a) => out.push(Target {
            name: a.attr.id.as_str(),
            attr: true,
            state: matches!(&*a.value, Expr::Attribute(s) if s.attr.id.as_str() == "state"),
            on_self: matches!(&*a.value, Expr::Name(s) if s.id.as_str() == "self"),
        }),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        Expr::List(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

impl<'a> Collector<'a> {
    fn scope(&self) -> Scope<'a> {
        *self.scopes.last().unwrap_or(&Scope::Module)
    }

    fn func(&mut self) -> Option<&mut Func<'a>> {
        match self.scope() {
            Scope::Func(i) => self.m.functions.get_mut(i),
            _ => None,
        }
    }

    fn record_imports(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for a in &imp.names {
                    let full = a.name.id.as_str();
                    self.note_framework(full);
                    match &a.asname {
                        Some(asname) => {
                            self.m.imports.insert(asname.id.as_str(), full.to_string());
                        }
                        None => {
                            let top = full.split('.').next().unwrap_or(full);
                            self.m.imports.insert(top, top.to_string());
                        }
                    }
                }
            }
            Stmt::ImportFrom(imp) => {
                let module = imp.module.as_ref().map(|m| m.id.as_str()).unwrap_or("");
                let module = if imp.level > 0 {
                    format!("{}{}", ".".repeat(imp.level as usize), module)
                } else {
                    self.note_framework(module);
                    module.to_string()
                };
                for a in &imp.names {
                    let name = a.name.id.as_str();
                    if name == "*" {
                        self.m.star_imports.push(module.clone());
                        continue;
                    }
                    let local = a.asname.as_ref().map_or(name, |n| n.id.as_str());
                    self.m.imports.insert(local, format!("{module}.{name}"));
                }
            }
            // Imports guarded by `if TYPE_CHECKING:` / `try:` at module level.
            Stmt::If(s) => {
                s.body.iter().for_each(|s| self.record_imports(s));
                for c in &s.elif_else_clauses {
                    c.body.iter().for_each(|s| self.record_imports(s));
                }
            }
            Stmt::Try(t) => {
                t.body.iter().for_each(|s| self.record_imports(s));
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    h.body.iter().for_each(|s| self.record_imports(s));
                }
            }
            _ => {}
        }
    }

    fn note_framework(&mut self, module: &str) {
        let top = module.split('.').next().unwrap_or(module);
        if known::FRAMEWORKS.contains(&top) {
            self.m.framework = true;
        }
    }

    fn add_locals(&mut self, target: &'a Expr, value: Option<&'a Expr>) {
        let mut names = Vec::new();
        target_names(target, &mut names);
        if let Some(f) = self.func() {
            for t in names.iter().filter(|t| !t.attr) {
                if f.globals.contains(t.name) {
                    continue;
                }
                f.locals.insert(t.name);
                if let Some(v) = value {
                    f.local_assigns.entry(t.name).or_default().push(v);
                }
            }
        }
    }

    fn with_targets(&mut self, targets: Vec<Target<'a>>, f: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.targets, targets);
        f(self);
        self.targets = saved;
    }

    fn visit_function(&mut self, def: &'a ast::StmtFunctionDef) {
        for d in &def.decorator_list {
            self.visit_decorator(d);
        }
        for p in def.parameters.iter_non_variadic_params() {
            if let Some(d) = &p.default {
                self.visit_expr(d);
            }
        }
        let class = match self.scope() {
            Scope::Class(c) => Some(c),
            _ => None,
        };
        let cached = def.decorator_list.iter().any(|d| {
            let e = match &d.expression {
                Expr::Call(c) => &*c.func,
                e => e,
            };
            self.m.qualify(e).is_some_and(|q| {
                matches!(
                    q.as_str(),
                    "functools.lru_cache"
                        | "functools.cache"
                        | "lru_cache"
                        | "cache"
                        | "async_lru.alru_cache"
                        | "alru_cache"
                )
            })
        }) && def
            .parameters
            .iter_non_variadic_params()
            .all(|p| matches!(p.parameter.name.id.as_str(), "self" | "cls"));
        let idx = self.m.functions.len();
        let mut locals: HashSet<&'a str> = def
            .parameters
            .iter()
            .map(|p| p.name().id.as_str())
            .collect();
        locals.shrink_to_fit();
        self.m.functions.push(Func {
            def,
            name: def.name.id.as_str(),
            class,
            entry: false,
            per_request: false,
            once: false,
            given: Vec::new(),
            cached,
            locals,
            loads: HashSet::default(),
            attr_loads: HashSet::default(),
            state_loads: HashSet::default(),
            calls_funcs: Vec::new(),
            local_assigns: HashMap::default(),
            stores: false,
            stored: std::sync::OnceLock::new(),
            globals: HashSet::default(),
            nested: self.scopes.iter().any(|s| matches!(s, Scope::Func(_))),
            reached_from: None,
        });
        self.m
            .func_by_name
            .entry(def.name.id.as_str())
            .or_default()
            .push(idx);
        self.scopes.push(Scope::Func(idx));
        let saved_cached = self.cached;
        if cached {
            self.cached = Some(idx);
        }
        self.with_targets(Vec::new(), |c| {
            for s in &def.body {
                c.visit_stmt(s);
            }
        });
        self.cached = saved_cached;
        self.scopes.pop();
    }

    fn bind(&mut self, targets: &[&'a Expr], value: &'a Expr) {
        if matches!(self.scope(), Scope::Module) {
            for t in targets {
                if let Expr::Name(n) = t {
                    self.m
                        .module_bindings
                        .insert(n.id.as_str(), Binding { value });
                }
            }
        }
        for t in targets {
            self.add_locals(t, Some(value));
        }
    }
}

impl<'a> Visitor<'a> for Collector<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.visit_function(def),
            Stmt::ClassDef(class) => {
                for d in &class.decorator_list {
                    self.visit_decorator(d);
                }
                if let Some(args) = &class.arguments {
                    self.visit_arguments(args);
                }
                self.scopes.push(Scope::Class(class.name.id.as_str()));
                for s in &class.body {
                    self.visit_stmt(s);
                }
                self.scopes.pop();
            }
            Stmt::Assign(a) => {
                if a.targets.iter().any(|t| matches!(t, Expr::Subscript(_))) {
                    if let Some(f) = self.func() {
                        f.stores = true;
                    }
                }
                let targets: Vec<&Expr> = a.targets.iter().collect();
                self.bind(&targets, &a.value);
                let mut names = Vec::new();
                a.targets.iter().for_each(|t| target_names(t, &mut names));
                self.with_targets(names, |c| visitor::walk_stmt(c, stmt));
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.bind(&[&a.target], v);
                } else {
                    self.add_locals(&a.target, None);
                }
                let mut names = Vec::new();
                target_names(&a.target, &mut names);
                self.with_targets(names, |c| visitor::walk_stmt(c, stmt));
            }
            Stmt::AugAssign(a) => {
                self.add_locals(&a.target, None);
                visitor::walk_stmt(self, stmt);
            }
            Stmt::For(f) => {
                self.add_locals(&f.target, None);
                visitor::walk_stmt(self, stmt);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        self.add_locals(v, Some(&item.context_expr));
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Global(g) => {
                if let Some(f) = self.func() {
                    for n in &g.names {
                        f.globals.insert(n.id.as_str());
                        f.locals.remove(n.id.as_str());
                    }
                }
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                if !matches!(self.scope(), Scope::Module) {
                    self.record_imports(stmt);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                if matches!(&*call.func, Expr::Attribute(a) if a.attr.id.as_str() == "setdefault") {
                    if let Some(f) = self.func() {
                        f.stores = true;
                    }
                }
                let scope = self.scope();
                let qual = self.m.qualify(&call.func);
                if known::keyword(call, "include_checkpoints")
                    .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value))
                {
                    self.m.include_checkpoints = true;
                }
                match (&*call.func, scope) {
                    (Expr::Name(n), Scope::Func(_)) => {
                        let name = n.id.as_str();
                        if let Some(f) = self.func() {
                            f.calls_funcs.push(name);
                        }
                    }
                    (Expr::Attribute(a), Scope::Func(_)) => {
                        if let Expr::Name(b) = &*a.value {
                            if matches!(b.id.as_str(), "self" | "cls") {
                                let name = a.attr.id.as_str();
                                if let Some(f) = self.func() {
                                    f.calls_funcs.push(name);
                                }
                            }
                        }
                    }
                    (Expr::Name(n), Scope::Module) => {
                        self.m.module_called.insert(n.id.as_str());
                    }
                    _ => {}
                }
                let targets = match scope {
                    Scope::Func(i) => {
                        let f = &self.m.functions[i];
                        let init = f.name == "__init__" && f.class.is_some();
                        self.targets
                            .iter()
                            .filter(|t| {
                                t.state
                                    || (!t.attr && f.globals.contains(t.name))
                                    || (init && t.on_self)
                            })
                            .copied()
                            .collect()
                    }
                    _ => self.targets.clone(),
                };
                self.m.calls.push(CallSite {
                    call,
                    qual,
                    kind: None,
                    scope,
                    targets,
                    in_cached: self.cached,
                });
            }
            Expr::Name(n) if n.ctx.is_load() => {
                let name = n.id.as_str();
                if let Some(f) = self.func() {
                    f.loads.insert(name);
                }
            }
            Expr::Attribute(a) => {
                let name = a.attr.id.as_str();
                let state =
                    matches!(&*a.value, Expr::Attribute(s) if s.attr.id.as_str() == "state");
                if let Some(f) = self.func() {
                    f.attr_loads.insert(name);
                    if state {
                        f.state_loads.insert(name);
                    }
                }
            }
            Expr::Named(n) => self.add_locals(&n.target, Some(&n.value)),
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// What a function's body (not a nested function's) stores into
/// containers: the values of `x[k] = V` and the arguments of
/// `.setdefault(...)`, and the local names among them.
#[derive(Debug, Default)]
pub struct Stored {
    ranges: Vec<TextRange>,
    names: HashSet<String>,
}

impl Stored {
    fn of(f: &Func) -> Self {
        struct Finder {
            out: Stored,
        }
        impl Finder {
            fn note(&mut self, v: &Expr) {
                self.out.ranges.push(v.range());
                if let Expr::Name(n) = v {
                    self.out.names.insert(n.id.to_string());
                }
            }
        }
        impl<'a> Visitor<'a> for Finder {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                if let Stmt::Assign(a) = stmt {
                    if a.targets.iter().any(|t| matches!(t, Expr::Subscript(_))) {
                        self.note(&a.value);
                    }
                }
                if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                    visitor::walk_stmt(self, stmt);
                }
            }
            fn visit_expr(&mut self, expr: &'a Expr) {
                if let Expr::Call(c) = expr {
                    if matches!(&*c.func, Expr::Attribute(a) if a.attr.id.as_str() == "setdefault")
                    {
                        c.arguments.args.iter().for_each(|x| self.note(x));
                    }
                }
                visitor::walk_expr(self, expr);
            }
        }
        let mut finder = Finder {
            out: Stored::default(),
        };
        finder.visit_body(&f.def.body);
        finder.out
    }
}

/// Whether the expression at `range` inside function `f` is stored into a
/// container that outlives the request: `cache[key] = X`,
/// `cache.setdefault(key, X)`, or built into a local that is then stored
/// (`deps = Deps(store=X()); cache[k] = deps`). The body is walked once
/// per function, the first time it is asked.
pub fn stored_in_container(f: &Func, range: TextRange) -> bool {
    if !f.stores {
        return false;
    }
    let stored = f.stored.get_or_init(|| Stored::of(f));
    stored.ranges.iter().any(|r| r.contains_range(range))
        || f.local_assigns.iter().any(|(name, values)| {
            stored.names.contains(*name) && values.iter().any(|v| v.range().contains_range(range))
        })
}
