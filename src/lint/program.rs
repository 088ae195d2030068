//! The whole program as the rules see it: every file's model, the module
//! index, the per-function summaries computed so far, and the file being
//! checked. Resolves a call in one file to the function it runs, in the same
//! file or another one.

use rustc_hash::FxHashMap as HashMap;

use ruff_python_ast::Expr;

use super::diagnostic::FlowStep;
use super::index::{FileId, Index};
use super::model::Model;

/// A parameter of a function that reaches a path sink (in it or in what it calls).
#[derive(Debug, Clone)]
pub struct ParamSink {
    /// Index among the non-variadic parameters (`self` included).
    pub param: usize,
    /// The sink, as worded in messages (`` `open()` ``).
    pub sink: String,
    /// Steps from the parameter to the sink, the sink last.
    pub steps: Vec<FlowStep>,
}

/// What a function does with its arguments, as seen from a call site.
#[derive(Debug, Clone, Default)]
pub struct FnSummary {
    /// Which parameters' taint the return value carries: bit `k` for
    /// parameter `k` (`self` included; every bit past the 64th parameter).
    pub returns: u64,
    /// Parameters that reach a path sink without validation.
    pub sinks: Vec<ParamSink>,
}

/// Summaries by file and function key (`f`, `Class.f`).
pub type Summaries = HashMap<(FileId, String), FnSummary>;

/// What the rules of one file can see of the program.
pub struct Ctx<'p, 'a> {
    pub models: &'p [Model<'a>],
    pub index: Option<&'p Index>,
    pub summaries: Option<&'p Summaries>,
    /// Display paths, by file id.
    pub paths: &'p [String],
    pub file: FileId,
}

impl<'p, 'a> Ctx<'p, 'a> {
    pub fn model(&self) -> &'p Model<'a> {
        &self.models[self.file]
    }

    /// The same view of the program, from file `file`.
    pub fn at(&self, file: FileId) -> Ctx<'p, 'a> {
        Ctx {
            models: self.models,
            index: self.index,
            summaries: self.summaries,
            paths: self.paths,
            file,
        }
    }

    /// The function a call expression in this file runs, in this file or
    /// another one: `(file, function index, argument offset)`; the offset
    /// is 1 when the call passes `self` implicitly.
    pub fn callee(&self, func: &Expr, caller: Option<usize>) -> Option<(FileId, usize, usize)> {
        let m = self.model();
        match m.callee(func, caller) {
            Some(fi) => {
                let on_attr = matches!(func, Expr::Attribute(_));
                Some((
                    self.file,
                    fi,
                    usize::from(m.functions[fi].is_method() && on_attr),
                ))
            }
            None => self.external_callee(func, caller),
        }
    }

    /// The function a call expression in this file runs, when it is defined in
    /// another file of the program: `(file, function index, argument offset)`;
    /// the offset is 1 when the call passes `self` implicitly.
    pub fn external_callee(
        &self,
        func: &Expr,
        caller: Option<usize>,
    ) -> Option<(FileId, usize, usize)> {
        let index = self.index?;
        let m = self.model();
        let (qual, offset) = match func {
            // `svc.method(...)` on a local built from a class of another file.
            Expr::Attribute(a) => match (&*a.value, caller) {
                (Expr::Name(n), Some(ci)) if !m.imports.contains_key(n.id.as_str()) => {
                    let built = m.functions[ci]
                        .local_assigns
                        .get(n.id.as_str())
                        .and_then(|vs| vs.iter().find_map(|v| class_call(v)))
                        .or_else(|| {
                            m.module_bindings
                                .get(n.id.as_str())
                                .and_then(|b| class_call(b.value))
                        })?;
                    let class = m.qualify(built)?;
                    (format!("{class}.{}", a.attr.id), 1)
                }
                (Expr::Name(n), None) if !m.imports.contains_key(n.id.as_str()) => {
                    let b = m.module_bindings.get(n.id.as_str())?;
                    let class = m.qualify(class_call(b.value)?)?;
                    (format!("{class}.{}", a.attr.id), 1)
                }
                _ => (m.qualify(func)?, 0),
            },
            Expr::Name(n) if m.imports.contains_key(n.id.as_str()) => (m.qualify(func)?, 0),
            _ => return None,
        };
        if !qual.contains('.') {
            return None;
        }
        let (file, symbol) = index.resolve(self.file, &qual)?;
        if file == self.file {
            return None;
        }
        let target = &self.models[file];
        let mut offset = offset;
        let fi = match target.func_by_key(&symbol) {
            Some(fi) => fi,
            // A class called like a function: its `__init__`.
            None => match target.func_by_key(&format!("{symbol}.__init__")) {
                Some(fi) => {
                    offset = 1;
                    fi
                }
                // `service.reply` where `service = ChatService()` at module level there.
                None => {
                    let (inst, method) = symbol.split_once('.')?;
                    let class = match target.module_bindings.get(inst)?.value {
                        Expr::Call(c) => match &*c.func {
                            Expr::Name(n) => n.id.as_str(),
                            _ => return None,
                        },
                        _ => return None,
                    };
                    offset = 1;
                    target.func_by_key(&format!("{class}.{method}"))?
                }
            },
        };
        Some((file, fi, offset))
    }

    /// The summary of function `fi` of `file`, when one was computed.
    pub fn summary(&self, file: FileId, fi: usize) -> Option<&'p FnSummary> {
        let key = self.models[file].functions[fi].key()?;
        self.summaries?.get(&(file, key))
    }

    /// `module.f` for messages about a function of another file.
    pub fn describe(&self, file: FileId, fi: usize) -> String {
        let f = &self.models[file].functions[fi];
        let key = f.key().unwrap_or_else(|| f.name.to_string());
        match self.index {
            Some(idx) if !idx.display(file).is_empty() => format!("{}.{key}", idx.display(file)),
            _ => key,
        }
    }
}

/// The callee of `X(...)`, when the value is a call.
fn class_call(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Call(c) => Some(&c.func),
        _ => None,
    }
}
