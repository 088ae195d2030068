//! The bodies of the fuzz targets (fuzz/fuzz_targets/*.rs), shared with
//! tests/fuzz_corpus.rs, which runs every seed and every input that once
//! crashed (fuzz/seeds/TARGET/, fuzz/regressions/TARGET/) under `cargo test`.
//!
//! A target panics or aborts only on a real defect: decoders must turn any
//! input into a value or a one-line error, never a panic, and the reader
//! must never leave a request waiting once the stream has ended.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use isocheck::subject::adapter::conn;
use isocheck::subject::adapter::protocol::{
    WireCheckpoint, WireExecResult, WireFileInfo, WireGrepMatch,
};
use serde::Deserialize;
use serde_json::Value;

/// The targets by name, for the corpus test and the fuzz script.
/// A fuzz target: its input, whatever bytes.
pub type Target = fn(&[u8]);

pub const TARGETS: [(&str, Target); 6] = [
    ("adapter_reply", adapter_reply),
    ("adapter_stream", adapter_stream),
    ("adapter_hello", adapter_hello),
    ("suite_toml", suite_toml),
    ("lint_bytes", lint_bytes),
    ("lint_grammar", lint_grammar),
];

/// The repository root (from the main crate or from fuzz/).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join("fuzz_targets").is_dir() {
        here.parent().expect("fuzz/ has a parent").to_path_buf()
    } else {
        here
    }
}

#[derive(Deserialize)]
struct TenancyId {
    #[allow(dead_code)]
    tenancy: String,
}

#[derive(Deserialize)]
struct SessionId {
    #[allow(dead_code)]
    session: String,
}

/// Decodes `ok` as the result of every operation, the way the adapter
/// client does (see src/subject/adapter/mod.rs); errors are fine, panics
/// are not.
fn decode_every_shape(ok: &Value) {
    let _ = TenancyId::deserialize(ok);
    let _ = SessionId::deserialize(ok);
    let _ = Option::<()>::deserialize(ok);
    let _ = Vec::<WireFileInfo>::deserialize(ok)
        .map(|v| v.into_iter().map(isocheck::subject::FileInfo::from).count());
    let _ = Vec::<WireGrepMatch>::deserialize(ok).map(|v| {
        v.into_iter()
            .map(isocheck::subject::GrepMatch::from)
            .count()
    });
    let _ = WireExecResult::deserialize(ok).map(isocheck::subject::ExecResult::from);
    let _ = Option::<WireCheckpoint>::deserialize(ok)
        .map(|c| c.map(isocheck::subject::Checkpoint::from));
    let _ = Vec::<WireCheckpoint>::deserialize(ok);
    let _ = Vec::<String>::deserialize(ok);
    let _ = Option::<String>::deserialize(ok);
    let _ = bool::deserialize(ok);
    let _ = u64::deserialize(ok);
    if let Ok(h) = String::deserialize(ok) {
        let _ = hex::decode(&h).map_err(|_| conn::quote(&h));
    }
}

/// One reply line: decoded, then its `ok` as every reply shape.
pub fn adapter_reply(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let _ = conn::quote(line);
    match conn::decode_reply(line) {
        Ok((_, Ok(ok))) => decode_every_shape(&ok),
        Ok((_, Err(e))) => assert!(!e.to_string().is_empty()),
        Err(why) => assert!(!why.is_empty() && !why.contains('\n'), "{why}"),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

/// A whole stdout stream (any bytes: several lines, truncated lines, bytes
/// that are not UTF-8) through the real reply reader, with four requests
/// waiting. Once the stream ends, the connection is dead and no request
/// waits any more.
pub fn adapter_stream(data: &[u8]) {
    let (got, dead) = runtime().block_on(conn::read_replies(data, 4));
    assert!(
        dead.is_some(),
        "the reader returned with the connection alive"
    );
    for r in got {
        match r {
            Some(Ok(v)) => decode_every_shape(&v),
            Some(Err(e)) => assert!(!e.to_string().is_empty()),
            None => panic!("a request still waits after the stream ended"),
        }
    }
}

/// The handshake line.
pub fn adapter_hello(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match conn::decode_hello(line) {
        Ok((caps, _)) => {
            let _ = format!("{caps:?}");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// A `--suite` TOML profile, then every template filled.
pub fn suite_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = toml::from_str::<isocheck::profile::Profile>(text) {
        let agent = "a/../b";
        let _ = p.memory_path(agent);
        let _ = p.evicted_path("call:1");
        let _ = p.plan_path(&isocheck::profile::slugify(text), "0123");
        let _ = p.plan_dir();
    }
    let _ = isocheck::profile::slugify(text);
}

/// Runs the lint front end and every rule on `source` on a thread with the
/// stack `isocheck lint` gives its workers; a panic is re-raised here.
fn lint_source(source: &str) {
    let src = source.to_string();
    let worker = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let diags = isocheck::lint::check_source("fuzz.py", &src);
            for d in &diags {
                assert!(d.line >= 1 && d.column >= 1, "{d:?}");
                assert!(
                    (d.end_line, d.end_column) >= (d.line, d.column),
                    "a diagnostic ends before it starts: {d:?}"
                );
            }
            let _ = isocheck::lint::output::json(&diags);
        })
        .expect("a lint thread");
    if let Err(p) = worker.join() {
        std::panic::resume_unwind(p);
    }
}

/// Arbitrary bytes as a Python file (`isocheck lint` reports a file that is
/// not UTF-8 as ISO000 before parsing; so does this target).
pub fn lint_bytes(data: &[u8]) {
    if let Ok(source) = std::str::from_utf8(data) {
        lint_source(source);
    }
}

/// Every line of the Python fixture corpus (fixtures/lint, recursively).
fn fixture_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let mut files = Vec::new();
        let mut dirs = vec![repo_root().join("fixtures/lint")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "py") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut lines: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|t| {
                t.lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.sort();
        lines.dedup();
        lines
    })
}

/// Identifiers and expressions the rules care about, spliced into lines.
const TOKENS: [&str; 16] = [
    "user_id",
    "request.user.id",
    "f\"/workspaces/{user_id}\"",
    "StateBackend()",
    "LocalBackend(root_dir=f\"/data/{uid}\")",
    "MemorySaver()",
    "create_deep_agent(backend=backend)",
    "uuid.uuid4().hex[:4]",
    "os.path.join(base, user_id)",
    "thread_id",
    "\"default\"",
    "lambda rt: StateBackend(rt)",
    "await agent.run(prompt, deps=deps)",
    "global backend",
    "*args, **kwargs",
    "None",
];

/// Grammar-shaped Python: the bytes choose fixture lines, nest them under
/// block headers, dedent, and splice in tokens the rules look for.
pub fn lint_grammar(data: &[u8]) {
    let lines = fixture_lines();
    if lines.is_empty() {
        return;
    }
    let mut src = String::new();
    let mut indent = 0usize;
    for pair in data.chunks(3) {
        let op = pair[0];
        let arg = pair.get(1).copied().unwrap_or(0) as usize
            | (pair.get(2).copied().unwrap_or(0) as usize) << 8;
        let pad = "    ".repeat(indent);
        match op % 6 {
            0 | 1 => {
                src.push_str(&pad);
                src.push_str(&lines[arg % lines.len()]);
                src.push('\n');
            }
            2 => {
                let header = match arg % 6 {
                    0 => format!("def handler_{arg}(user_id, request):"),
                    1 => format!("async def run_{arg}(user_id: str):"),
                    2 => "class App:".to_string(),
                    3 => "if user_id:".to_string(),
                    4 => "with lock:".to_string(),
                    _ => "for user_id in users:".to_string(),
                };
                src.push_str(&pad);
                src.push_str(&header);
                src.push('\n');
                indent = (indent + 1).min(60);
                src.push_str(&"    ".repeat(indent));
                src.push_str("pass\n");
            }
            3 => indent = indent.saturating_sub(1 + arg % 3),
            4 => {
                // A fixture line with one identifier replaced by a token.
                let line = &lines[arg % lines.len()];
                let token = TOKENS[(arg >> 4) % TOKENS.len()];
                let spliced = match line
                    .char_indices()
                    .find(|(_, c)| c.is_ascii_alphabetic() || *c == '_')
                {
                    Some((i, _)) => {
                        let end = line[i..]
                            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .map_or(line.len(), |e| i + e);
                        format!("{}{}{}", &line[..i], token, &line[end..])
                    }
                    None => token.to_string(),
                };
                src.push_str(&pad);
                src.push_str(&spliced);
                src.push('\n');
            }
            _ => {
                src.push_str(&pad);
                src.push_str(TOKENS[arg % TOKENS.len()]);
                src.push('\n');
            }
        }
    }
    lint_source(&src);
}
