//! Taint sources: which parameters of an entry point carry request data.

use ruff_python_ast::{self as ast, Expr};

use crate::lint::program::Ctx;

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
pub(super) fn is_request_param(ctx: &Ctx, p: &ast::ParameterWithDefault) -> bool {
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
