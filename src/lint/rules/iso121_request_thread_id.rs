//! ISO121: a `thread_id` taken from the request into the config, no ownership check.

use ruff_python_ast::Expr;
use rustc_hash::FxHashMap as HashMap;

use super::lg_common::{configurable_dicts, dict_get, names_user};
use crate::lint::diagnostic::Finding;
use crate::lint::index::FileId;
use crate::lint::known;
use crate::lint::model::{Func, Scope};
use crate::lint::program::Ctx;

/// The parameter a value comes straight from: `thread_id`, `body.thread_id`,
/// `payload["thread_id"]`.
fn root_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => root_name(&a.value),
        Expr::Subscript(s) => root_name(&s.value),
        _ => None,
    }
}

/// Whether `e` is an id the chat platform assigns, which the user cannot
/// choose: `message.chat.id`, `update.effective_user.id`,
/// `ctx.author.id`: the `id` of the sender or the chat.
fn platform_id(e: &Expr) -> bool {
    let (field, inner) = match e {
        Expr::Attribute(a) => (a.attr.id.as_str(), &*a.value),
        _ => return false,
    };
    if field != "id" {
        return false;
    }
    let owner = match inner {
        Expr::Attribute(a) => a.attr.id.as_str(),
        _ => return false,
    };
    matches!(
        owner,
        "chat"
            | "effective_chat"
            | "from_user"
            | "effective_user"
            | "sender"
            | "author"
            | "channel"
            | "guild"
    )
}

/// Whether `e` is a parameter's value as it came in: the parameter or a
/// field of it, through `x or default`, `a if c else b`, `str(x)`, and
/// local names assigned such a value (`tid = body.thread_id or
/// str(uuid4())`; a few assignments deep). An f-string or any other
/// computation is not "as it came in".
fn from_request(e: &Expr, f: &Func, params: &[&str], depth: u8) -> bool {
    request_param(e, f, params, depth).is_some()
}

/// [`from_request`], naming the parameter the value comes from.
fn request_param<'p>(e: &Expr, f: &Func, params: &[&'p str], depth: u8) -> Option<&'p str> {
    let param = |name: &str| params.iter().copied().find(|p| *p == name);
    match e {
        Expr::Name(n) => param(n.id.as_str()).or_else(|| {
            if depth >= 4 {
                return None;
            }
            f.local_assigns
                .get(n.id.as_str())?
                .iter()
                .find_map(|r| request_param(r, f, params, depth + 1))
        }),
        Expr::Attribute(_) | Expr::Subscript(_) if !platform_id(e) => root_name(e).and_then(param),
        Expr::BoolOp(b) => b
            .values
            .iter()
            .find_map(|v| request_param(v, f, params, depth)),
        Expr::If(i) => request_param(&i.body, f, params, depth)
            .or_else(|| request_param(&i.orelse, f, params, depth)),
        Expr::Call(c)
            if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "str")
                && c.arguments.args.len() == 1 =>
        {
            request_param(&c.arguments.args[0], f, params, depth)
        }
        _ => None,
    }
}

/// What [`thread_id_params`] found, by (file, function, depth), for one
/// file's check: each helper is looked at once, however many handlers call it.
type Memo<'a> = HashMap<(FileId, usize, u8), Vec<&'a str>>;

/// The parameters of function `gi` of `file` that go as they came in into
/// a config's `thread_id` that it builds (`_handle_input(user_input, ...)`),
/// or that it hands as they came in to a helper that does, up to `depth`
/// calls further (`message_generator(user_input)` calling `_handle_input`).
fn thread_id_params<'a>(
    ctx: &Ctx<'_, 'a>,
    file: FileId,
    gi: usize,
    depth: u8,
    memo: &mut Memo<'a>,
) -> Vec<&'a str> {
    if let Some(found) = memo.get(&(file, gi, depth)) {
        return found.clone();
    }
    // Recursion through this same function finds nothing more.
    memo.insert((file, gi, depth), Vec::new());
    let g = &ctx.models[file].functions[gi];
    let params: Vec<&'a str> = g.params().map(|p| p.parameter.name.id.as_str()).collect();
    let mut out = Vec::new();
    for (d, _) in configurable_dicts(g) {
        if let Some(p) = dict_get(d, "thread_id").and_then(|v| request_param(v, g, &params, 0)) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    if depth > 0 {
        for (_, (callee, (param, arg))) in helper_args(&ctx.at(file), gi) {
            if let Some(p) = request_param(arg, g, &params, 0) {
                if !out.contains(&p)
                    && thread_id_params(ctx, callee.0, callee.1, depth - 1, memo).contains(&param)
                {
                    out.push(p);
                }
            }
        }
    }
    memo.insert((file, gi, depth), out.clone());
    out
}

/// Each argument of each call in function `fi` of the context's file to a
/// function of the program that is not an entry point: the call, the
/// callee (file, index), and the callee's parameter name with the argument.
#[allow(clippy::type_complexity)]
fn helper_args<'a>(
    ctx: &Ctx<'_, 'a>,
    fi: usize,
) -> Vec<(
    &'a ruff_python_ast::ExprCall,
    ((FileId, usize), (&'a str, &'a Expr)),
)> {
    let m = &ctx.models[ctx.file];
    let mut out = Vec::new();
    for cs in m.calls.iter().filter(|cs| cs.scope == Scope::Func(fi)) {
        let Some((file, gi, offset)) = ctx.callee(&cs.call.func, Some(fi)) else {
            continue;
        };
        let g = &ctx.models[file].functions[gi];
        if g.entry || (file, gi) == (ctx.file, fi) {
            continue;
        }
        let names: Vec<&'a str> = g.params().map(|p| p.parameter.name.id.as_str()).collect();
        for (k, a) in cs.call.arguments.args.iter().enumerate() {
            if let (false, Some(n)) = (a.is_starred_expr(), names.get(k + offset)) {
                out.push((cs.call, ((file, gi), (*n, a))));
            }
        }
        for kw in cs.call.arguments.keywords.iter() {
            if let Some(n) = kw.arg.as_ref() {
                if let Some(p) = names.iter().find(|p| **p == n.as_str()) {
                    out.push((cs.call, ((file, gi), (*p, &kw.value))));
                }
            }
        }
    }
    out
}

declare_rule! {
    /// # ISO121 request-thread-id
    ///
    /// Checklist item: C2 (a separate checkpoint store per user), and C3.
    ///
    /// ## What it does
    /// Finds a request handler that puts one of its own parameters, as it
    /// came in, into a LangGraph config as `thread_id` (the dict under
    /// `"configurable"` or `configurable=`; a response body is no config)
    /// (`{"configurable": {"thread_id": thread_id}}`, or a field of the
    /// request body: `body.thread_id`, also through a local such as
    /// `tid = body.thread_id or str(uuid4())`), in a handler that
    /// never mentions a user, owner or tenant: no ownership check is visible
    /// (what a user said, `user_message` or `user_input`, is no identity).
    /// An id the chat platform assigns (`message.chat.id`,
    /// `update.effective_user.id`) is not chosen by the user.
    ///
    /// Also when the handler passes such a parameter to a helper, in this
    /// file or another, that puts it into the config it builds
    /// (`kwargs = _handle_input(user_input)`, `service.get_state(thread_id)`):
    /// the finding is at the handler's argument. Helpers are followed three
    /// calls deep from the handler (`StreamingResponse(_stream(body))`, then
    /// `_handle_input(body)` in `_stream`).
    ///
    /// ## Why is this bad
    /// LangGraph's threat model says it: checkpointers index by `thread_id`,
    /// and without application-level authorization any caller who presents a
    /// valid thread id reads and extends that thread's state. Thread ids leak
    /// (URLs, logs, shared links) and some are guessable.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/threads/{thread_id}/runs")
    /// async def run(thread_id: str, message: str):
    ///     return await graph.ainvoke({"messages": [message]},
    ///                                {"configurable": {"thread_id": thread_id}})
    /// ```
    ///
    /// ## Fix
    /// Check that the authenticated user owns the thread before using it
    /// (a table of thread owners, or LangGraph Platform's auth handlers), or
    /// scope it: `{"thread_id": f"{user.id}:{thread_id}"}`.
    pub const RULE = ("ISO121", "request-thread-id", "C2", Medium, "A thread_id taken from the request into the LangGraph config with no ownership check in sight");
}

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    let mut memo = Memo::default();
    for (fi, f) in m.functions.iter().enumerate().filter(|(_, f)| f.entry) {
        let params: Vec<&str> = f.params().map(|p| p.parameter.name.id.as_str()).collect();
        // A handler that names the user somewhere may check ownership.
        if f.loads
            .iter()
            .chain(f.attr_loads.iter())
            .chain(params.iter())
            .any(|n| names_user(n))
        {
            continue;
        }
        for (d, _) in configurable_dicts(f) {
            let Some(v) = dict_get(d, "thread_id") else {
                continue;
            };
            if from_request(v, f, &params, 0) {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(v),
                    format!(
                        "`thread_id` is the request's `{}` as it came in, in handler `{}`, which never checks who owns the thread: whoever presents a thread id gets its history",
                        known::snippet(m.source, v),
                        f.name
                    ),
                ));
            }
        }
        through_helpers(ctx, fi, f, &params, &mut memo, out);
    }
}

/// The handler passes a parameter as it came in to a helper (in this file
/// or another) that puts it into a config's `thread_id`, itself or through
/// helpers it calls (three calls deep in all): the finding is at the
/// handler's argument, naming the helper; one per call.
fn through_helpers<'a>(
    ctx: &Ctx<'_, 'a>,
    fi: usize,
    f: &Func,
    params: &[&str],
    memo: &mut Memo<'a>,
    out: &mut Vec<Finding>,
) {
    let mut reported: Vec<&ruff_python_ast::ExprCall> = Vec::new();
    for (call, ((file, gi), (param, a))) in helper_args(ctx, fi) {
        if reported.iter().any(|c| std::ptr::eq(*c, call)) {
            continue;
        }
        if !from_request(a, f, params, 0)
            || !thread_id_params(ctx, file, gi, 2, memo).contains(&param)
        {
            continue;
        }
        reported.push(call);
        out.push(Finding::new(
            &RULE,
            ruff_text_size::Ranged::range(a),
            format!(
                "`thread_id` is the request's `{}` as it came in: handler `{}` passes it to `{}()` (parameter `{param}`), which puts it into a LangGraph config (itself or through a helper), and nothing checks who owns the thread: whoever presents a thread id gets its history",
                known::snippet(ctx.model().source, a),
                f.name,
                ctx.describe(file, gi)
            ),
        ));
    }
}
