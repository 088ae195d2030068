//! ISO123: a deepagents backend whose `execute` runs `subprocess(..., shell=True)`.

use ruff_python_ast::Expr;

use super::lg_common::exprs;
use crate::lint::diagnostic::Finding;
use crate::lint::known;
use crate::lint::model::Model;
use crate::lint::program::Ctx;
use rustc_hash::FxHashSet as HashSet;

declare_rule! {
    /// # ISO123 shell-true-execute
    ///
    /// Checklist item: C5 (sandboxed execution of untrusted code).
    ///
    /// ## What it does
    /// Finds a method `execute` (or `aexecute`) of a class in a file that
    /// imports deepagents (a backend implementing `SandboxBackendProtocol`,
    /// typically a `BaseSandbox` subclass) that calls `subprocess.run`,
    /// `Popen`, `call`, `check_call` or `check_output` with `shell=True`,
    /// when some code of the program uses the class: calls it (in this
    /// module or, through its imports, in another), passes it as a value
    /// (a backend factory), or subclasses it. A class that is only defined
    /// (or only re-exported) runs nothing.
    ///
    /// ## Why is this bad
    /// deepagents' `execute` tool hands the model's command string to the
    /// backend. A backend that runs it with a host shell is no sandbox:
    /// every user's prompt runs with the server's rights, sees every other
    /// user's files and the server's secrets.
    ///
    /// ## Example
    /// ```python
    /// class MySandbox(BaseSandbox):
    ///     def execute(self, command, *, timeout=None):
    ///         p = subprocess.run(command, shell=True, capture_output=True, text=True)
    /// ```
    ///
    /// ## Fix
    /// Run the command inside a per-user container or remote sandbox
    /// (`docker exec`, a sandbox provider's API), never in a host shell.
    pub const RULE = ("ISO123", "shell-true-execute", "C5", High, "A deepagents backend whose execute runs the command in a host shell (subprocess, shell=True)");
}

const SPAWN: &[&str] = &["run", "Popen", "call", "check_call", "check_output"];

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let m = ctx.model();
    let deepagents = m
        .imports
        .values()
        .any(|q| q == "deepagents" || q.starts_with("deepagents."));
    if !deepagents {
        return;
    }
    for f in &m.functions {
        let Some(class) = f.class else { continue };
        if !matches!(f.name, "execute" | "aexecute") || !used(ctx, class) {
            continue;
        }
        for e in exprs(f) {
            let Expr::Call(c) = e else { continue };
            let callee = match &*c.func {
                Expr::Attribute(a) => a.attr.id.as_str(),
                Expr::Name(n) => n.id.as_str(),
                _ => continue,
            };
            if !SPAWN.contains(&callee) {
                continue;
            }
            let shell = known::keyword(c, "shell")
                .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value));
            if shell {
                out.push(Finding::new(
                    &RULE,
                    ruff_text_size::Ranged::range(c),
                    format!(
                        "`{}.{}` runs the agent's command in a host shell (`{}`): no sandbox between users and the server",
                        f.class.unwrap_or(""),
                        f.name,
                        known::snippet(m.source, c)
                    ),
                ));
            }
        }
    }
}

/// The last part of every base named on a `class` line of `source`.
fn base_names(source: &str) -> impl Iterator<Item = &str> {
    source
        .lines()
        .filter(|l| l.trim_start().starts_with("class "))
        .filter_map(|l| l.split_once('(').map(|(_, bases)| bases))
        .flat_map(|bases| bases.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')))
        .map(|b| b.rsplit('.').next().unwrap_or(b))
}

/// What file `m` could name a class by (see `Model::named`): the last
/// part of every callee and call argument it qualifies, and of every base.
fn named(m: &Model) -> HashSet<String> {
    let mut out: HashSet<String> = base_names(m.source).map(str::to_string).collect();
    for cs in &m.calls {
        let args = cs.call.arguments.args.iter();
        let kws = cs.call.arguments.keywords.iter().map(|k| &k.value);
        for e in std::iter::once(&*cs.call.func).chain(args).chain(kws) {
            if let Some(q) = m.qualify(e) {
                out.insert(q.rsplit('.').next().unwrap_or(&q).to_string());
            }
        }
    }
    out
}

/// Whether some code of the program uses class `class` of the checked file:
/// a call of it or the class as an argument (`FilesystemMiddleware(backend=
/// lambda rt: Sandbox(rt))`, `factory=Sandbox`), here or in a module that
/// imports it, or a class statement naming it among its bases.
fn used(ctx: &Ctx, class: &str) -> bool {
    let names_it = |file: usize, e: &Expr| -> bool {
        let m2 = &ctx.models[file];
        let Some(q) = m2.qualify(e) else { return false };
        if q.rsplit('.').next() != Some(class) {
            return false;
        }
        if file == ctx.file {
            return q == class;
        }
        ctx.index
            .and_then(|idx| idx.resolve(file, &q))
            .is_some_and(|(f, symbol)| f == ctx.file && symbol == class)
    };
    ctx.models.iter().enumerate().any(|(file, m2)| {
        if !m2.named.get_or_init(|| named(m2)).contains(class) {
            return false; // nothing here could name it
        }
        let subclassed = base_names(m2.source).any(|b| b == class);
        subclassed
            || m2.calls.iter().any(|cs| {
                names_it(file, &cs.call.func)
                    || cs
                        .call
                        .arguments
                        .args
                        .iter()
                        .chain(cs.call.arguments.keywords.iter().map(|k| &k.value))
                        .any(|a| names_it(file, a))
            })
    })
}
