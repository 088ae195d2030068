//! Values reduced to one path component. A tainted value that holds no
//! separator (`Path(x).name`, `re.sub(r"[^\w.-]", "", x)`) can still be `..`:
//! it stays tainted, but the engine remembers it ([`no_separator`]), so that a
//! later check against dots (`if name in (".", ".."): raise`,
//! `name.strip(".")`) clears it. A value that can hold neither a separator
//! nor a leading dot ([`one_component`]: `re.sub` with a character class
//! that excludes both, or a separator-free value with its leading dots
//! stripped) is clean at once. Whitespace stripping, or a `re.sub` whose
//! class lets `/` through, reduces nothing.

use ruff_python_ast::{self as ast, CmpOp, Expr};

use super::Env;
use crate::lint::model::Model;

/// What the characters a regex character class keeps include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kept {
    pub separator: bool,
    pub dot: bool,
}

/// The characters `re.sub(pattern, ...)` keeps, when the pattern is one
/// negated character class (`[^\w.-]`, `[^A-Za-z0-9_]+`): everything else is
/// replaced. `None` for any other pattern, or a class this cannot read.
pub(super) fn negated_class(pattern: &str) -> Option<Kept> {
    let body = pattern.strip_prefix("[^")?;
    let chars: Vec<char> = body.chars().collect();
    let mut kept = Kept {
        separator: false,
        dot: false,
    };
    let mut singles: Vec<char> = Vec::new();
    let mut i = 0;
    // A `]` first in the class is a literal.
    let mut first = true;
    let end = loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            break i;
        }
        first = false;
        let (lit, next) = match c {
            '\\' => {
                let e = *chars.get(i + 1)?;
                match e {
                    // Word characters, digits and whitespace: no `/`, `\` or `.`.
                    'w' | 'd' | 's' => {
                        i += 2;
                        continue;
                    }
                    'x' => (hex(&chars, i + 2, 2)?, i + 4),
                    'u' => (hex(&chars, i + 2, 4)?, i + 6),
                    'n' | 't' | 'r' | 'f' | 'v' => (' ', i + 2),
                    e if e.is_ascii_alphanumeric() => return None,
                    e => (e, i + 2),
                }
            }
            '[' => return None,
            c => (c, i + 1),
        };
        // A range `a-z`: the `-` is not last in the class.
        if chars.get(next) == Some(&'-') && chars.get(next + 1).is_some_and(|&h| h != ']') {
            let hi = match chars.get(next + 1)? {
                '\\' => match chars.get(next + 2)? {
                    'x' => (hex(&chars, next + 3, 2)?, next + 5),
                    e if !e.is_ascii_alphanumeric() => (*e, next + 3),
                    _ => return None,
                },
                h => (*h, next + 2),
            };
            let (hi, after) = hi;
            kept.separator |= (lit..=hi).contains(&'/') || (lit..=hi).contains(&'\\');
            kept.dot |= (lit..=hi).contains(&'.');
            i = after;
            continue;
        }
        singles.push(lit);
        i = next;
    };
    kept.separator |= singles.iter().any(|c| matches!(c, '/' | '\\'));
    kept.dot |= singles.contains(&'.');
    let rest: String = chars[end + 1..].iter().collect();
    let quantifier = rest.is_empty()
        || matches!(rest.as_str(), "+" | "*" | "+?" | "*?")
        || (rest.starts_with('{') && rest.trim_end_matches('?').ends_with('}'));
    quantifier.then_some(kept)
}

fn hex(chars: &[char], from: usize, n: usize) -> Option<char> {
    let s: String = chars.get(from..from + n)?.iter().collect();
    char::from_u32(u32::from_str_radix(&s, 16).ok()?)
}

/// A string literal, or a module-level name bound to one.
fn literal<'a>(m: &Model<'a>, e: &'a Expr) -> Option<&'a str> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str()),
        Expr::Name(n) => match m.module_bindings.get(n.id.as_str())?.value {
            Expr::StringLiteral(s) => Some(s.value.to_str()),
            _ => None,
        },
        _ => None,
    }
}

/// `re.sub(pattern, repl, s)` or `PATTERN.sub(repl, s)` with `PATTERN =
/// re.compile(...)` at module level: (pattern if literal, repl, s).
pub(super) fn re_sub<'a>(
    m: &Model<'a>,
    c: &'a ast::ExprCall,
) -> Option<(Option<&'a str>, &'a Expr, &'a Expr)> {
    let Expr::Attribute(a) = &*c.func else {
        return None;
    };
    if a.attr.id.as_str() != "sub" {
        return None;
    }
    let args = &c.arguments.args;
    let kw = |name: &str| {
        c.arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|n| n.id.as_str() == name))
            .map(|k| &k.value)
    };
    if m.qualify(&c.func).as_deref() == Some("re.sub") {
        let pattern = args.first().or_else(|| kw("pattern"))?;
        let repl = args.get(1).or_else(|| kw("repl"))?;
        let s = args.get(2).or_else(|| kw("string"))?;
        return Some((literal(m, pattern), repl, s));
    }
    let Expr::Name(n) = &*a.value else {
        return None;
    };
    let Expr::Call(compile) = m.module_bindings.get(n.id.as_str())?.value else {
        return None;
    };
    if m.qualify(&compile.func).as_deref() != Some("re.compile") {
        return None;
    }
    let pattern = compile.arguments.args.first().and_then(|p| literal(m, p));
    let repl = args.first().or_else(|| kw("repl"))?;
    let s = args.get(1).or_else(|| kw("string"))?;
    Some((pattern, repl, s))
}

/// The replacement of a `re.sub` as a literal: (has a separator or a
/// backreference, has a dot). `None` when it is not a literal.
fn repl_chars(m: &Model, e: &Expr) -> Option<(bool, bool)> {
    let s = match e {
        Expr::StringLiteral(s) => s.value.to_str(),
        Expr::Name(n) => match m.module_bindings.get(n.id.as_str())?.value {
            Expr::StringLiteral(s) => s.value.to_str(),
            _ => return None,
        },
        _ => return None,
    };
    Some((s.contains(['/', '\\']), s.contains('.')))
}

/// Whether `e`'s value holds no path separator (it may still be `..`).
pub(super) fn no_separator<'a>(m: &Model<'a>, e: &'a Expr, env: &Env<'a>) -> bool {
    match e {
        Expr::Name(n) => env.nosep.contains(n.id.as_str()),
        Expr::StringLiteral(s) => !s.value.to_str().contains(['/', '\\']),
        Expr::Attribute(a) => {
            matches!(a.attr.id.as_str(), "name" | "stem") && super::checks::path_call(m, &a.value)
        }
        Expr::Subscript(s) => matches!(&*s.slice, Expr::Slice(_)) && no_separator(m, &s.value, env),
        Expr::BinOp(b) if b.op == ast::Operator::Add => {
            no_separator(m, &b.left, env) && no_separator(m, &b.right, env)
        }
        Expr::BoolOp(b) => b.values.iter().all(|v| no_separator(m, v, env)),
        Expr::Call(c) => {
            if m.qualify(&c.func).as_deref() == Some("os.path.basename") {
                return true;
            }
            if let Some((pattern, repl, s)) = re_sub(m, c) {
                let Some((repl_sep, _)) = repl_chars(m, repl) else {
                    return false;
                };
                let class_ok = pattern
                    .and_then(negated_class)
                    .is_some_and(|k| !k.separator);
                return !repl_sep && (class_ok || no_separator(m, s, env));
            }
            let Expr::Attribute(a) = &*c.func else {
                return false;
            };
            let args_ok = c.arguments.args.iter().all(|x| no_separator(m, x, env));
            match a.attr.id.as_str() {
                "strip" | "lstrip" | "rstrip" | "lower" | "upper" | "casefold" | "title" => {
                    no_separator(m, &a.value, env)
                }
                "replace" | "removeprefix" | "removesuffix" => {
                    args_ok && no_separator(m, &a.value, env)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `e` is reduced to one safe component: no separator, and not `.`
/// or `..` (a class keeping neither, or leading dots stripped).
pub(super) fn one_component<'a>(m: &Model<'a>, c: &'a ast::ExprCall, env: &Env<'a>) -> bool {
    if let Some((pattern, repl, _)) = re_sub(m, c) {
        let kept = pattern.and_then(negated_class);
        return kept.is_some_and(|k| !k.separator && !k.dot)
            && repl_chars(m, repl).is_some_and(|(sep, dot)| !sep && !dot);
    }
    let Expr::Attribute(a) = &*c.func else {
        return false;
    };
    let strips_dots = matches!(a.attr.id.as_str(), "strip" | "lstrip")
        && c.arguments
            .args
            .first()
            .is_some_and(|x| matches!(x, Expr::StringLiteral(s) if s.value.to_str().contains('.')));
    strips_dots && no_separator(m, &a.value, env)
}

/// Names a dot check clears when `test` evaluates to `want`: a value without
/// separators that is checked not to be `..` (`if name in (".", ".."): raise`,
/// `if ".." in name: raise`, `if name.startswith("."): raise`).
pub(super) fn dots_rejected<'a>(test: &'a Expr, want: bool, env: &Env<'a>) -> Vec<&'a str> {
    let nosep = |e: &'a Expr| match e {
        Expr::Name(n) if env.nosep.contains(n.id.as_str()) => Some(n.id.as_str()),
        _ => None,
    };
    let is_dots = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "..");
    match test {
        Expr::Compare(cmp) if cmp.ops.len() == 1 => {
            let (op, right) = (cmp.ops[0], &cmp.comparators[0]);
            let lists_dots = match right {
                Expr::Tuple(t) => t.elts.iter().any(is_dots),
                Expr::List(t) => t.elts.iter().any(is_dots),
                Expr::Set(t) => t.elts.iter().any(is_dots),
                _ => false,
            };
            let name = match op {
                // `name in (".", "..")`.
                CmpOp::In | CmpOp::NotIn if lists_dots => nosep(&cmp.left),
                // `".." in name`.
                CmpOp::In | CmpOp::NotIn if is_dots(&cmp.left) => nosep(right),
                // `name == ".."`.
                CmpOp::Eq | CmpOp::NotEq if is_dots(right) => nosep(&cmp.left),
                _ => None,
            };
            let passes_when = matches!(op, CmpOp::NotIn | CmpOp::NotEq);
            match name {
                Some(n) if want == passes_when => vec![n],
                _ => Vec::new(),
            }
        }
        // `name.startswith(".")` false.
        Expr::Call(c) if !want => match &*c.func {
            Expr::Attribute(a)
                if a.attr.id.as_str() == "startswith"
                    && c.arguments.args.first().is_some_and(
                        |x| matches!(x, Expr::StringLiteral(s) if s.value.to_str() == "."),
                    ) =>
            {
                nosep(&a.value).into_iter().collect()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let k = |p: &str| negated_class(p);
        let none = Kept {
            separator: false,
            dot: false,
        };
        let dot = Kept {
            separator: false,
            dot: true,
        };
        assert_eq!(k(r"[^\w\-.]"), Some(dot));
        assert_eq!(k(r"[^\w.-]+"), Some(dot));
        assert_eq!(k(r"[^A-Za-z0-9_-]"), Some(none));
        assert_eq!(k(r"[^a-z0-9]{1,}"), Some(none));
        assert_eq!(k(r"[^\w\s\-.]"), Some(dot));
        // `/` kept, directly, by escape or in a range.
        assert!(k(r"[^\w/.-]").unwrap().separator);
        assert!(k(r"[^\x2f\w]").unwrap().separator);
        assert!(k(r"[^!-~]").unwrap().separator);
        assert!(k(r"[^\\\w]").unwrap().separator);
        // Classes that keep everything or are not one class.
        assert_eq!(k(r"[^\W]"), None);
        assert_eq!(k(r"[^\S]"), None);
        assert_eq!(k(r"\s+"), None);
        assert_eq!(k(r"[\x00-\x1f]"), None);
        assert_eq!(k(r"[^\w]|x"), None);
    }
}
