//! What clears taint: sanitiser calls, validator checks, allow-lists,
//! containment checks of a resolved path, one-component reductions.

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, UnaryOp};
use ruff_text_size::TextSize;

use super::Env;
use crate::lint::model::Model;

/// Calls whose result carries none of the argument's taint.
pub(super) fn is_sanitizer(m: &Model, q: &str) -> bool {
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
pub(super) fn is_path_builder(m: &Model, q: &str) -> bool {
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
                | "os.path.splitext"
                | "os.path.dirname"
                | "pathlib.Path"
                | "pathlib.PurePath"
                | "pathlib.PosixPath"
                | "pathlib.PurePosixPath"
        )
}

/// Whether `e` is `os.path.splitext(...)`: its stem keeps the argument's
/// taint (a path builder), its extension holds no separator.
pub(super) fn splitext_call(m: &Model, e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if m.qualify(&c.func).as_deref() == Some("os.path.splitext"))
}

/// `[1]` or `[-1]` of a pair: its second item (a `splitext` extension).
pub(super) fn second_of_pair(slice: &Expr) -> bool {
    let one = |e: &Expr| matches!(e, Expr::NumberLiteral(n) if n.value.as_int().and_then(|i| i.as_u8()) == Some(1));
    match slice {
        Expr::UnaryOp(u) => u.op == UnaryOp::USub && one(&u.operand),
        e => one(e),
    }
}

/// `x` for a validator call on `x`: `re.fullmatch(P, x)`, an anchored `re.match`,
/// `PATTERN.fullmatch(x)`, `x.isalnum()`.
pub(super) fn validator_subject(expr: &Expr) -> Option<&str> {
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
pub(super) fn validated_when<'a>(test: &'a Expr, want: bool, env: &Env<'a>) -> Vec<&'a str> {
    let mut names = super::component::dots_rejected(test, want, env);
    names.extend(validated_by(test, want, env));
    names
}

fn validated_by<'a>(test: &'a Expr, want: bool, env: &Env<'a>) -> Vec<&'a str> {
    match test {
        Expr::UnaryOp(u) if u.op == UnaryOp::Not => validated_when(&u.operand, !want, env),
        // A resolved path checked to lie under a base: `if base not in p.parents: raise`.
        Expr::Compare(_) if parents_check(test, env).is_some_and(|(_, when)| when == want) => {
            parents_check(test, env)
                .map(|(n, _)| n)
                .into_iter()
                .collect()
        }
        // A resolved path's parent checked to be a base: `if p.parent != base: raise`.
        Expr::Compare(_) if parent_equals(test, env).is_some_and(|(_, when)| when == want) => {
            parent_equals(test, env)
                .map(|(n, _)| n)
                .into_iter()
                .collect()
        }
        // An allow-list: `if suffix not in ALLOWED: raise`, or membership in
        // a collection this function got from the app (`dirs =
        // service.get_skill_dirs(db)`): the value equals one the app holds.
        Expr::Compare(cmp)
            if cmp.ops.len() == 1
                && matches!(cmp.ops[0], CmpOp::In | CmpOp::NotIn)
                && (is_allow_list(&cmp.comparators[0]) || app_held(&cmp.comparators[0], env)) =>
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
        Expr::Call(_) if want && contained_in_any(test, env).is_some() => {
            contained_in_any(test, env).into_iter().collect()
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
        Expr::BoolOp(b) if parents_or_base(b, want, env).is_some() => {
            parents_or_base(b, want, env).into_iter().collect()
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

/// A local of this function assigned from a call none of whose arguments
/// read request data (`dirs = service.get_skill_dirs(db)`): the app's own
/// collection, such as a list read from its database. Not `list(allowed)` of
/// a request value, and not a module-level dict that requests fill.
fn app_held(e: &Expr, env: &Env<'_>) -> bool {
    let Expr::Name(n) = e else { return false };
    if env.get(n.id.as_str()) != super::Taint::Clean {
        // Filled with request data since (`dirs.append(request_dir)`).
        return false;
    }
    let value = match env.exprs.get(n.id.as_str()) {
        Some(Expr::Await(w)) => &*w.value,
        Some(v) => *v,
        None => return false,
    };
    let Expr::Call(c) = value else { return false };
    let mut names = Vec::new();
    for a in c.arguments.args.iter() {
        super::names_in(a, &mut names);
    }
    for k in c.arguments.keywords.iter() {
        super::names_in(&k.value, &mut names);
    }
    names.iter().all(|n| env.get(n) == super::Taint::Clean)
}

/// `p.parent == base` (or `!=`; also `str(p.parent)`) with `p` a resolved
/// path: `p` lies directly under the base. The name, and the value the test
/// has then.
fn parent_equals<'a>(e: &'a Expr, env: &Env<'a>) -> Option<(&'a str, bool)> {
    let Expr::Compare(cmp) = e else { return None };
    let [op @ (CmpOp::Eq | CmpOp::NotEq)] = &*cmp.ops else {
        return None;
    };
    let Some(Expr::Attribute(a)) = checked_attr(&cmp.left) else {
        return None;
    };
    let Expr::Name(n) = &*a.value else {
        return None;
    };
    (a.attr.id.as_str() == "parent" && resolved(n.id.as_str(), env))
        .then_some((n.id.as_str(), *op == CmpOp::Eq))
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

/// `base in p.parents` (or `not in`) with `p` a resolved path: the name
/// checked, and the value the test has when `p` lies under `base`.
/// An unresolved `Path("/srv/u/../v")` has `/srv/u` among its parents, so
/// only a resolved one counts.
fn parents_check<'a>(e: &'a Expr, env: &Env<'a>) -> Option<(&'a str, bool)> {
    let Expr::Compare(cmp) = e else { return None };
    let [op @ (CmpOp::In | CmpOp::NotIn)] = &*cmp.ops else {
        return None;
    };
    let Expr::Attribute(a) = &cmp.comparators[0] else {
        return None;
    };
    let n = checked(&a.value)?;
    (a.attr.id.as_str() == "parents" && resolved(n.id.as_str(), env))
        .then_some((n.id.as_str(), *op == CmpOp::In))
}

/// `base not in p.parents and p != base` false (or `base in p.parents or
/// p == base` true): `p` is under the base or the base itself.
fn parents_or_base<'a>(b: &'a ast::ExprBoolOp, want: bool, env: &Env<'a>) -> Option<&'a str> {
    let (joined, other) = if want {
        (ast::BoolOp::Or, CmpOp::Eq)
    } else {
        (ast::BoolOp::And, CmpOp::NotEq)
    };
    if b.op != joined {
        return None;
    }
    let name = b
        .values
        .iter()
        .find_map(|v| parents_check(v, env).and_then(|(n, when)| (when == want).then_some(n)))?;
    let rest_ok = b.values.iter().all(|v| {
        parents_check(v, env).is_some_and(|(n, when)| n == name && when == want)
            || matches!(v, Expr::Compare(cmp) if cmp.ops.len() == 1
                && cmp.ops[0] == other
                && checked(&cmp.left).is_some_and(|n| n.id.as_str() == name))
    });
    rest_ok.then_some(name)
}

/// Whether name `n` holds a resolved path (`realpath`, `abspath`,
/// `normpath`, `.resolve()`, also awaited).
fn resolved(n: &str, env: &Env<'_>) -> bool {
    resolved_within(n, env, 4)
}

/// [`resolved`], following at most `depth` `.parent` steps (`a = b.parent`
/// then `b = a.parent` must not loop).
fn resolved_within(n: &str, env: &Env<'_>, depth: usize) -> bool {
    let value = env.exprs.get(n).map(|v| match v {
        Expr::Await(w) => &*w.value,
        v => *v,
    });
    value.is_some_and(|v| match v {
        // The parent of a resolved path (`skill_dir = abs_path.parent`).
        Expr::Attribute(a) if a.attr.id.as_str() == "parent" => {
            depth > 0
                && matches!(&*a.value, Expr::Name(p) if resolved_within(p.id.as_str(), env, depth - 1))
        }
        Expr::Call(vc) => match &*vc.func {
            Expr::Attribute(f) => matches!(
                f.attr.id.as_str(),
                "realpath" | "abspath" | "normpath" | "resolve"
            ),
            Expr::Name(f) => matches!(f.id.as_str(), "realpath" | "abspath" | "normpath"),
            _ => false,
        },
        _ => false,
    })
}

/// The name a containment check's receiver is built from: `p`, `str(p)`,
/// `PurePath(str(p))`, `str(p) + os.sep`.
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

/// A containment check over several bases: `any(p.is_relative_to(b) for b
/// in roots)`, also with the base itself allowed (`any(str(p).startswith(b +
/// "/") or str(p) == b for b in roots)`): the name checked.
pub(super) fn contained_in_any<'a>(e: &'a Expr, env: &Env<'a>) -> Option<&'a str> {
    let Expr::Call(c) = e else { return None };
    let is_any = matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "any");
    let [Expr::Generator(g)] = &*c.arguments.args else {
        return None;
    };
    if !is_any || !c.arguments.keywords.is_empty() {
        return None;
    }
    let one = |v: &'a Expr| match v {
        Expr::Call(vc) => contained_path(vc, env),
        Expr::Compare(_) => parent_equals(v, env).and_then(|(n, when)| when.then_some(n)),
        _ => None,
    };
    match &*g.elt {
        Expr::BoolOp(b) if b.op == ast::BoolOp::Or => {
            let name = b.values.iter().find_map(one)?;
            // The other alternatives only allow the base itself.
            let rest_ok = b.values.iter().all(|v| {
                one(v) == Some(name)
                    || matches!(v, Expr::Compare(cmp) if cmp.ops.len() == 1
                        && cmp.ops[0] == CmpOp::Eq
                        && checked(&cmp.left).is_some_and(|n| n.id.as_str() == name))
            });
            rest_ok.then_some(name)
        }
        Expr::BoolOp(b) if b.op == ast::BoolOp::And => b.values.iter().find_map(one),
        elt => one(elt),
    }
}

/// Names a containment check is written on in a function (`p` of
/// `p.is_relative_to(...)`, `str(p).startswith(...)`), with where.
pub(super) fn containment_checks(body: &[ast::Stmt]) -> Vec<(&str, TextSize)> {
    #[derive(Default)]
    struct Checks<'a>(Vec<(&'a str, TextSize)>);
    impl<'a> Visitor<'a> for Checks<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Compare(cmp) = expr {
                // `str(p.parent) == base`: `p` lies directly under the base.
                if let [CmpOp::Eq | CmpOp::NotEq] = &*cmp.ops {
                    if let Some(Expr::Attribute(a)) = checked_attr(&cmp.left) {
                        if a.attr.id.as_str() == "parent" {
                            if let Expr::Name(n) = &*a.value {
                                self.0.push((
                                    n.id.as_str(),
                                    ruff_text_size::Ranged::range(cmp).start(),
                                ));
                            }
                        }
                    }
                }
                if let (1, Expr::Attribute(a)) = (cmp.ops.len(), &cmp.comparators[0]) {
                    if matches!(cmp.ops[0], CmpOp::In | CmpOp::NotIn)
                        && a.attr.id.as_str() == "parents"
                    {
                        if let Some(n) = checked(&a.value) {
                            self.0
                                .push((n.id.as_str(), ruff_text_size::Ranged::range(cmp).start()));
                        }
                    }
                }
            }
            if let Expr::Call(c) = expr {
                if let Expr::Attribute(a) = &*c.func {
                    if matches!(a.attr.id.as_str(), "is_relative_to" | "startswith") {
                        if let Some(n) = checked(&a.value) {
                            self.0
                                .push((n.id.as_str(), ruff_text_size::Ranged::range(c).start()));
                        }
                    }
                }
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut v = Checks::default();
    v.visit_body(body);
    // A check on `d` where `d = p.parent` (or a chain of such) checks `p` too.
    let mut out = v.0;
    let mut k = 0;
    while k < out.len() && out.len() < 64 {
        let (n, at) = out[k];
        for s in body {
            if let ast::Stmt::Assign(a) = s {
                let target = matches!(&a.targets[..], [Expr::Name(t)] if t.id.as_str() == n);
                if let (true, Expr::Attribute(v)) = (target, &*a.value) {
                    if let (Expr::Name(p), "parent") = (&*v.value, v.attr.id.as_str()) {
                        if !out.iter().any(|(m, _)| *m == p.id.as_str()) {
                            out.push((p.id.as_str(), at));
                        }
                    }
                }
            }
        }
        k += 1;
    }
    out
}

/// The attribute a comparison is written on, through `str(...)` or `Path(...)`.
fn checked_attr(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Call(c) if c.arguments.args.len() == 1 => match &*c.func {
            Expr::Name(f) if matches!(f.id.as_str(), "str" | "Path") => Some(&c.arguments.args[0]),
            _ => None,
        },
        Expr::Attribute(_) => Some(e),
        _ => None,
    }
}

/// `full.startswith(BASE + os.sep)` where `full = os.path.realpath(...)`, or
/// `p.is_relative_to(BASE)` where `p = (...).resolve()`: the name checked.
/// A prefix without a trailing separator (`/srv/users` matches `/srv/users2`) is not enough.
/// Also through the wrappers a check is written with: `str(p)`,
/// `PurePath(str(p))`, a separator added on both sides (`(str(p) + sep).
/// startswith(root + sep)`), and an awaited `anyio.Path(...).resolve()`.
pub(super) fn contained_path<'a>(c: &'a ast::ExprCall, env: &Env<'a>) -> Option<&'a str> {
    let Expr::Attribute(a) = &*c.func else {
        return None;
    };
    let n = checked(&a.value)?;
    if !resolved(n.id.as_str(), env) {
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
pub(super) const PATH_CLASSES: [&str; 4] = [
    "pathlib.Path",
    "pathlib.PurePath",
    "pathlib.PosixPath",
    "pathlib.PurePosixPath",
];

/// The pathlib classes that can open a file: a pure path
/// (`PurePosixPath(area_id) / name`, an object-storage key) touches none,
/// so building one is no sink; what it is later opened with still is.
pub(super) const CONCRETE_PATH_CLASSES: [&str; 2] = ["pathlib.Path", "pathlib.PosixPath"];

/// `Path(...)` written out (what its attributes are read from).
pub(super) fn path_call(m: &Model, e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if m.qualify(&c.func).is_some_and(|q| PATH_CLASSES.contains(&q.as_str())))
}

/// `Path(x).name` or `Path(x).stem`: one component, without a separator.
pub(super) fn component(m: &Model, e: &Expr) -> bool {
    matches!(e, Expr::Attribute(a) if matches!(a.attr.id.as_str(), "name" | "stem") && path_call(m, &a.value))
}

/// A non-empty string literal without a separator (`".md"`, `"_copy"`).
pub(super) fn suffix_literal(e: &Expr) -> bool {
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
