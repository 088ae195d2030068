//! `isocheck lint`: static checks of Python agent apps against the multi-user
//! checklist (C1-C5), over the whole program. The pipeline, each stage
//! parallel per file where it can be:
//! 1. parse every file once with ruff's parser, and build its semantic model
//!    ([`model`]: imports, scopes, calls, per-request paths within the file);
//! 2. index the modules ([`index`]) and spread per-request facts across files
//!    ([`reach`]): handlers registered in another module, helpers called from
//!    a handler, module-level objects imported into a handler's module;
//! 3. summarise the functions other files call on a per-request path
//!    ([`summary`], with the taint engine of [`taint`]);
//! 4. run every rule in [`rules`] on each file, seeing the program through
//!    [`program::Ctx`].

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rayon::prelude::*;
use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};

pub mod diagnostic;
pub mod index;
pub mod known;
pub mod model;
pub mod once;
pub mod output;
pub mod program;
pub mod reach;
pub mod rules;
pub mod summary;
pub mod taint;

pub use diagnostic::{Diagnostic, Severity};
use diagnostic::{Finding, FlowPoint};
use ruff_python_ast::ModModule;
use rules::RuleMeta;

/// Output format of `isocheck lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// ruff-like: `path:line:col: CODE message` and a source snippet.
    #[default]
    Text,
    /// `{"schema":"isocheck.lint/v1","diagnostics":[...]}`.
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

/// Arguments of `isocheck lint`.
#[derive(Debug, Args, Default)]
pub struct LintArgs {
    /// Files or directories to check (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only these rules (codes like ISO106 or names like user-id-in-path, comma-separated; ALL for all).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Text format: no source snippets, one line per finding.
    #[arg(long)]
    pub no_snippets: bool,
}

/// Runs the linter and returns the process exit code (0 clean, 1 findings, 2 usage error).
pub fn run(args: &LintArgs) -> i32 {
    match run_inner(args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}");
            2
        }
    }
}

fn run_inner(args: &LintArgs) -> Result<i32, String> {
    let selection = Selection::new(&args.select, &args.ignore)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(format!("path not found: {}", p.display()));
        }
    }
    let (files, mut diagnostics) = collect_files(&paths);
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(64 << 20)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let roots: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    diagnostics.extend(pool.install(|| check_program(&files, &roots, true)));
    // After Ctrl-C no further file is read (see crate::interrupt).
    let checked = LOADED.load(std::sync::atomic::Ordering::Relaxed);
    diagnostics.retain(|d| selection.enabled(d.rule));
    sort_diagnostics(&mut diagnostics);
    let report = match args.format {
        Format::Text => output::text(
            &diagnostics,
            files.len(),
            !args.no_snippets,
            args.output.is_none(),
        ),
        Format::Json => output::json(&diagnostics),
        Format::Sarif => output::sarif(&diagnostics),
    };
    let interrupted = crate::interrupt::requested()
        .then(|| crate::interrupt::note(&format!("checking {checked} of {} files", files.len())));
    let report = match &interrupted {
        Some(note) => mark_incomplete(args.format, report, note),
        None => report,
    };
    match &args.output {
        Some(path) => std::fs::write(path, report)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => {
            // Colours only where they belong (a terminal, no NO_COLOR).
            let mut out = anstream::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = out.write_all(report.as_bytes());
            let _ = out.flush();
        }
    }
    if let Some(note) = interrupted {
        eprintln!("isocheck: {note}");
        return Ok(crate::interrupt::EXIT_INTERRUPTED.into());
    }
    Ok(exit_code(&diagnostics))
}

/// Marks a rendered report incomplete: a last line in text, an
/// `"incomplete"` member in JSON, and in SARIF an invocation that did not
/// succeed, with the note (what code scanning shows for a failed run).
fn mark_incomplete(format: Format, report: String, note: &str) -> String {
    let mut v: serde_json::Value = match format {
        Format::Text => return format!("{report}\nINCOMPLETE: {note}\n"),
        Format::Json | Format::Sarif => match serde_json::from_str(&report) {
            Ok(v) => v,
            Err(_) => return report,
        },
    };
    if format == Format::Json {
        v["incomplete"] = note.into();
    } else if let Some(run) = v.pointer_mut("/runs/0").and_then(|r| r.as_object_mut()) {
        run.insert(
            "invocations".into(),
            serde_json::json!([{
                "executionSuccessful": false,
                "toolExecutionNotifications": [{"level": "error", "message": {"text": note}}]
            }]),
        );
    }
    serde_json::to_string_pretty(&v).unwrap_or(report) + "\n"
}

/// 1 when a finding above info severity remains, else 0.
pub fn exit_code(diagnostics: &[Diagnostic]) -> i32 {
    i32::from(diagnostics.iter().any(|d| d.severity > Severity::Info))
}

/// Deterministic order: path, line, column, rule.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// The rules enabled by `--select`/`--ignore`.
struct Selection {
    select: Option<Vec<&'static str>>,
    ignore: Vec<&'static str>,
}

impl Selection {
    fn new(select: &[String], ignore: &[String]) -> Result<Self, String> {
        let resolve = |flag: &str, values: &[String]| -> Result<Vec<&'static str>, String> {
            let mut codes = Vec::new();
            for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
                if v.eq_ignore_ascii_case("ALL") {
                    codes.extend(rules::ALL.iter().map(|r| r.code));
                    continue;
                }
                match rules::lookup(v) {
                    Some(r) => codes.push(r.code),
                    None => {
                        let accepted: Vec<&str> = rules::ALL.iter().map(|r| r.code).collect();
                        return Err(format!(
                            "unknown rule '{v}' in {flag}; accepted: {} (or rule names, or ALL)",
                            accepted.join(", ")
                        ));
                    }
                }
            }
            Ok(codes)
        };
        let select = if select.is_empty() {
            None
        } else {
            Some(resolve("--select", select)?)
        };
        Ok(Selection {
            select,
            ignore: resolve("--ignore", ignore)?,
        })
    }

    fn enabled(&self, rule: &RuleMeta) -> bool {
        self.select.as_ref().is_none_or(|s| s.contains(&rule.code))
            && !self.ignore.contains(&rule.code)
    }
}

/// The path as shown in reports: as given, without a leading `./`.
fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    s.to_string()
}

/// Python files under the given paths (honouring .gitignore), plus diagnostics for walk errors.
fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        if !root.is_dir() {
            files.push(root.clone());
            continue;
        }
        for entry in ignore::WalkBuilder::new(root).build() {
            match entry {
                Ok(e) => {
                    let is_py = e
                        .path()
                        .extension()
                        .is_some_and(|x| x == "py" || x == "pyi");
                    if is_py && e.file_type().is_some_and(|t| t.is_file() || t.is_symlink()) {
                        files.push(e.into_path());
                    }
                }
                Err(err) => {
                    let path = walk_error_path(&err).unwrap_or_else(|| root.clone());
                    errors.push(file_error(
                        &display_path(&path),
                        format!("cannot read: {err}"),
                    ));
                }
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}

fn file_error(path: &str, message: String) -> Diagnostic {
    Diagnostic {
        rule: &rules::iso000_parse_error::RULE,
        severity: rules::iso000_parse_error::RULE.severity,
        path: path.to_string(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 1,
        message,
        flow: Vec::new(),
    }
}

/// The message of a caught panic.
fn panic_message(cause: Box<dyn std::any::Any + Send>) -> String {
    cause
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn internal_error(display: &str, cause: Box<dyn std::any::Any + Send>) -> Diagnostic {
    file_error(
        display,
        format!(
            "internal error while checking this file: {}",
            panic_message(cause)
        ),
    )
}

/// Checks one file on its own (no other module of its program is known).
pub fn check_file(path: &Path) -> Vec<Diagnostic> {
    check_program(&[path.to_path_buf()], &[], false)
}

/// Checks Python files and directories as one program (what `isocheck lint` does).
pub fn check_paths(paths: &[PathBuf]) -> Vec<Diagnostic> {
    let (files, mut diagnostics) = collect_files(paths);
    let roots: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    diagnostics.extend(check_program(&files, &roots, false));
    sort_diagnostics(&mut diagnostics);
    diagnostics
}

/// A file read and parsed, or the diagnostics saying why not.
struct Unit {
    display: String,
    path: PathBuf,
    source: String,
    /// The module alone: its tokens are dropped as soon as it is parsed
    /// (no rule reads them, and they were a sixth of the lint's memory).
    parsed: Option<ModModule>,
    early: Vec<Diagnostic>,
}

fn load(path: &Path) -> Unit {
    let display = display_path(path);
    let mut unit = Unit {
        display: display.clone(),
        path: path.to_path_buf(),
        source: String::new(),
        parsed: None,
        early: Vec::new(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            unit.early
                .push(file_error(&display, format!("cannot read file: {e}")));
            return unit;
        }
    };
    match String::from_utf8(bytes) {
        Ok(mut source) => {
            if source.starts_with('\u{feff}') {
                source.drain(..'\u{feff}'.len_utf8());
            }
            unit.source = source;
        }
        Err(e) => {
            unit.early.push(file_error(
                &display,
                format!(
                    "file is not valid UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ));
            return unit;
        }
    }
    match panic::catch_unwind(AssertUnwindSafe(|| {
        ruff_python_parser::parse_module(&unit.source)
    })) {
        Ok(Ok(parsed)) => unit.parsed = Some(parsed.into_syntax()),
        Ok(Err(e)) => {
            let f = Finding::new(
                &rules::iso000_parse_error::RULE,
                e.location,
                format!("syntax error: {}", e.error),
            );
            unit.early = finish(&display, &unit.source, vec![f], &[]);
        }
        Err(cause) => unit.early.push(internal_error(&display, cause)),
    }
    unit
}

/// Checks files as one program: parse, model, index, reachability, summaries, rules.
/// Files read by the last [`check_program`] (fewer than given after Ctrl-C).
static LOADED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn check_program(files: &[PathBuf], roots: &[PathBuf], leak: bool) -> Vec<Diagnostic> {
    let units: Vec<Unit> = files
        .par_iter()
        .filter(|_| !crate::interrupt::requested())
        .map(|p| load(p))
        .collect();
    LOADED.store(units.len(), std::sync::atomic::Ordering::Relaxed);
    let mut out: Vec<Diagnostic> = units.iter().flat_map(|u| u.early.clone()).collect();
    // Models of the files that parsed; a panic drops the file with an ISO000.
    let built: Vec<Result<model::Model, Diagnostic>> = units
        .par_iter()
        .filter(|u| u.parsed.is_some())
        .map(|u| {
            let parsed = u.parsed.as_ref().expect("filtered");
            panic::catch_unwind(AssertUnwindSafe(|| {
                model::Model::build(&u.source, &parsed.body)
            }))
            .map_err(|cause| internal_error(&u.display, cause))
        })
        .collect();
    let live: Vec<&Unit> = units.iter().filter(|u| u.parsed.is_some()).collect();
    let mut models = Vec::new();
    let mut kept: Vec<&Unit> = Vec::new();
    for (u, b) in live.into_iter().zip(built) {
        match b {
            Ok(m) => {
                models.push(m);
                kept.push(u);
            }
            Err(d) => out.push(d),
        }
    }
    let paths: Vec<String> = kept.iter().map(|u| u.display.clone()).collect();
    let infos: Vec<index::ModuleInfo> = kept
        .iter()
        .zip(&models)
        .map(|(u, m)| {
            let root = roots.iter().find(|r| u.path.starts_with(r));
            let (name, is_package) = index::module_name(&u.path, root.map(|r| r.as_path()));
            index::ModuleInfo {
                name,
                is_package,
                defines: m.defines.iter().map(|d| d.to_string()).collect(),
                imports: m
                    .imports
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            }
        })
        .collect();
    let idx = index::Index::new(infos);
    // Whole-program stages: a panic here costs the cross-file facts, not the run.
    let whole = panic::catch_unwind(AssertUnwindSafe(|| {
        reach::propagate(&mut models, &idx, &paths);
        once::mark(&mut models, Some(&idx), &paths);
    }));
    let summaries = match whole {
        Ok(()) => panic::catch_unwind(AssertUnwindSafe(|| summary::compute(&models, &idx, &paths)))
            .unwrap_or_default(),
        Err(_) => program::Summaries::default(),
    };
    let per_file: Vec<Vec<Diagnostic>> = (0..models.len())
        .into_par_iter()
        .map(|file| {
            let u = kept[file];
            panic::catch_unwind(AssertUnwindSafe(|| {
                let ctx = program::Ctx {
                    models: &models,
                    index: Some(&idx),
                    summaries: Some(&summaries),
                    paths: &paths,
                    file,
                };
                let mut findings = Vec::new();
                rules::check_all(&ctx, &mut findings);
                finish(&u.display, &u.source, findings, &paths)
            }))
            .unwrap_or_else(|cause| vec![internal_error(&u.display, cause)])
        })
        .collect();
    out.extend(per_file.into_iter().flatten());
    if leak {
        // The process ends right after the report: freeing every AST and model
        // one by one costs more than a tenth of the run.
        std::mem::forget(models);
        std::mem::forget(units);
    }
    out
}

/// Checks Python source text on its own; `path` is only used in the diagnostics.
pub fn check_source(path: &str, source: &str) -> Vec<Diagnostic> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    match ruff_python_parser::parse_module(source) {
        Err(e) => finish(
            path,
            source,
            vec![Finding::new(
                &rules::iso000_parse_error::RULE,
                e.location,
                format!("syntax error: {}", e.error),
            )],
            &[],
        ),
        Ok(parsed) => {
            let mut models = [model::Model::build(source, &parsed.syntax().body)];
            let paths = [path.to_string()];
            once::mark(&mut models, None, &paths);
            let ctx = program::Ctx {
                models: &models,
                index: None,
                summaries: None,
                paths: &paths,
                file: 0,
            };
            let mut findings = Vec::new();
            rules::check_all(&ctx, &mut findings);
            finish(path, source, findings, &paths)
        }
    }
}

/// Findings of one file to diagnostics: positions, flows, suppressions, order.
fn finish(path: &str, source: &str, findings: Vec<Finding>, _paths: &[String]) -> Vec<Diagnostic> {
    let index = LineIndex::from_source_text(source);
    let mut out: Vec<Diagnostic> = findings
        .into_iter()
        .filter(|f| !suppressed(source, &index, f))
        .map(|f| {
            let start = index.line_column(TextSize::new(f.start), source);
            let end = index.line_column(TextSize::new(f.end.max(f.start)), source);
            let flow = f
                .flow
                .iter()
                .map(|p: &FlowPoint| taint::resolve_point(p, path, source, &index))
                .collect();
            Diagnostic {
                rule: f.rule,
                severity: f.severity,
                path: path.to_string(),
                line: start.line.get(),
                column: start.column.get(),
                end_line: end.line.get(),
                end_column: end.column.get(),
                message: f.message,
                flow,
            }
        })
        .collect();
    sort_diagnostics(&mut out);
    out.dedup_by(|a, b| a.rule.code == b.rule.code && a.line == b.line && a.column == b.column);
    out
}

/// `# isocheck: ignore` or `# isocheck: ignore[ISO106, user-id-in-path]` on the finding's line.
fn suppressed(source: &str, index: &LineIndex, f: &Finding) -> bool {
    if f.rule.code == "ISO000" {
        return false;
    }
    let line = index.line_index(TextSize::new(f.start));
    let range: TextRange = index.line_range(line, source);
    let text = source.get(range.to_std_range()).unwrap_or("");
    let Some(hash) = text.find('#') else {
        return false;
    };
    let comment = &text[hash..];
    let Some(pos) = comment.find("isocheck: ignore") else {
        return false;
    };
    let rest = &comment[pos + "isocheck: ignore".len()..];
    match rest.strip_prefix('[') {
        None => true,
        Some(list) => list.split(']').next().unwrap_or("").split(',').any(|c| {
            let c = c.trim();
            c.eq_ignore_ascii_case(f.rule.code) || c.eq_ignore_ascii_case(f.rule.name)
        }),
    }
}

/// The documentation of a rule, by code (`ISO106`) or name (`user-id-in-path`).
pub fn explain(rule: &str) -> Option<String> {
    rules::lookup(rule).map(|r| r.doc_text())
}

/// One line per rule for `isocheck list`: (code, name, checklist item, summary).
pub fn rule_index() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    rules::ALL
        .iter()
        .map(|r| (r.code, r.name, r.checklist, r.summary))
        .collect()
}
