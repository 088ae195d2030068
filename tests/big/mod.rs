//! Big and odd inputs through a subject's own operations: a 10 MB file,
//! a directory of 10,000 entries, a tree 50 deep, 300-character and
//! NUL-containing user ids. Shared by tests/big_inputs.rs (which asserts
//! what comes back) and benches/big_inputs.rs (which prints time and peak
//! memory for each, per subject).
#![allow(dead_code)]

use std::sync::Arc;

use isocheck::subject::{Session, SubjectError, SubjectFactory, Tenancy};

/// A subject by name: `state`, `local`, or `adapter` (the stdlib fake
/// adapter, fixtures/adapters/fake.py, under `python3`).
pub fn factory(name: &str) -> Arc<dyn SubjectFactory> {
    match name {
        "adapter" => {
            let fake = root().join("fixtures/adapters/fake.py");
            Arc::new(isocheck::subject::adapter::AdapterFactory::new(vec![
                "python3".into(),
                fake.to_string_lossy().into_owned(),
                "ok".into(),
            ]))
        }
        n => isocheck::registry::subject(n, Arc::default()).expect("a built-in subject"),
    }
}

pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts `f`, makes a tenancy, runs `body` with it, then shuts it and the
/// subject down.
pub async fn with_tenancy<F, Fut>(f: &Arc<dyn SubjectFactory>, body: F) -> Result<(), String>
where
    F: FnOnce(Box<dyn Tenancy>) -> Fut,
    Fut: std::future::Future<Output = Result<Box<dyn Tenancy>, String>>,
{
    f.start().await.map_err(|e| e.to_string())?;
    let t = f.create().await.map_err(|e| e.to_string())?;
    let r = body(t).await;
    let stopped = match r {
        Ok(t) => {
            let shut = t.shutdown().await.map_err(|e| e.to_string());
            drop(t);
            shut
        }
        Err(e) => Err(e),
    };
    f.stop().await.map_err(|e| e.to_string())?;
    stopped
}

async fn open(t: &dyn Tenancy, user: &str) -> Result<Session, String> {
    t.open(user)
        .await
        .map_err(|e| format!("open {user:?}: {e}"))
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// 10 MB of text in 10-byte lines, with a needle in the last line.
pub fn ten_mb() -> String {
    let mut s = String::with_capacity(10 << 20);
    let mut i = 0u64;
    while s.len() < (10 << 20) - 32 {
        s.push_str(&format!("{:09}\n", i % 1_000_000_000));
        i += 1;
    }
    s.push_str("needle-at-the-end\n");
    s
}

/// Writes a 10 MB file, reads it back whole (bytes) and in part (lines),
/// greps the needle in its last line.
pub async fn ten_mb_file(t: Box<dyn Tenancy>) -> Result<Box<dyn Tenancy>, String> {
    let s = open(t.as_ref(), "alice").await?;
    let b = &s.backend;
    let content = ten_mb();
    b.write("/big.txt", &content)
        .await
        .map_err(|e| e.to_string())?;
    let back = b.read_bytes("/big.txt").await.map_err(|e| e.to_string())?;
    check(back == content.as_bytes(), || {
        format!(
            "read_bytes gave {} bytes, wrote {}",
            back.len(),
            content.len()
        )
    })?;
    let part = b
        .read("/big.txt", 1000, 5)
        .await
        .map_err(|e| e.to_string())?;
    check(
        part.contains("000001000") && !part.contains("000001005"),
        || format!("read offset 1000 limit 5 gave {part:?}"),
    )?;
    let hits = b
        .grep_raw("needle-at-the-end", Some("/"), None)
        .await
        .map_err(|e| e.to_string())?;
    check(hits.len() == 1 && hits[0].path == "/big.txt", || {
        format!("grep found {hits:?}")
    })?;
    let ls = b.ls_info("/").await.map_err(|e| e.to_string())?;
    check(
        ls.iter()
            .any(|f| f.path == "/big.txt" && f.size.is_none_or(|n| n == content.len() as u64)),
        || format!("ls / gave {ls:?}"),
    )?;
    drop(s);
    Ok(t)
}

pub const ENTRIES: usize = 10_000;

/// 10,000 files in one directory: listed, globbed, counted.
pub async fn ten_thousand_entries(t: Box<dyn Tenancy>) -> Result<Box<dyn Tenancy>, String> {
    let s = open(t.as_ref(), "alice").await?;
    let b = &s.backend;
    for i in 0..ENTRIES {
        b.write(&format!("/many/f{i:05}.txt"), "x")
            .await
            .map_err(|e| format!("write #{i}: {e}"))?;
    }
    let ls = b.ls_info("/many").await.map_err(|e| e.to_string())?;
    check(ls.len() == ENTRIES, || {
        format!("ls gave {} entries", ls.len())
    })?;
    let g = b
        .glob_info("*.txt", "/many")
        .await
        .map_err(|e| e.to_string())?;
    check(g.len() == ENTRIES, || {
        format!("glob gave {} entries", g.len())
    })?;
    let hits = b
        .grep_raw("x", Some("/many"), Some("f0999*.txt"))
        .await
        .map_err(|e| e.to_string())?;
    check(hits.len() == 10, || {
        format!("grep with glob gave {}", hits.len())
    })?;
    drop(s);
    Ok(t)
}

pub const DEPTH: usize = 50;

/// A file 50 directories deep: written, read, found by `**` glob, listed.
pub async fn fifty_deep(t: Box<dyn Tenancy>) -> Result<Box<dyn Tenancy>, String> {
    let s = open(t.as_ref(), "alice").await?;
    let b = &s.backend;
    let dir: String = (0..DEPTH).map(|i| format!("/d{i}")).collect();
    let leaf = format!("{dir}/leaf.txt");
    b.write(&leaf, "deep").await.map_err(|e| e.to_string())?;
    let back = b.read_bytes(&leaf).await.map_err(|e| e.to_string())?;
    check(back == b"deep", || format!("read back {back:?}"))?;
    let g = b
        .glob_info("**/leaf.txt", "/")
        .await
        .map_err(|e| e.to_string())?;
    check(g.len() == 1 && g[0].path == leaf, || {
        format!("glob gave {g:?}")
    })?;
    let ls = b.ls_info(&dir).await.map_err(|e| e.to_string())?;
    check(ls.len() == 1, || {
        format!("ls of the deepest dir gave {ls:?}")
    })?;
    check(b.exists(&leaf).await.map_err(|e| e.to_string())?, || {
        "exists says no".into()
    })?;
    drop(s);
    Ok(t)
}

/// Odd user ids: each is refused with a clear message or isolated from
/// its near twin (same 299-char prefix, or the id cut at its NUL).
pub async fn odd_user_ids(t: Box<dyn Tenancy>) -> Result<Box<dyn Tenancy>, String> {
    let long_a = format!("{}a", "u".repeat(299));
    let long_b = format!("{}b", "u".repeat(299));
    let pairs = [
        (long_a.as_str(), long_b.as_str()),
        ("al\0ice", "al"),
        ("nul\0", "nul"),
        ("ünï/çødé\u{202e}", "ünï"),
        ("\u{feff}bob", "bob"),
    ];
    for (x, y) in pairs {
        let (sx, sy) = match (t.open(x).await, t.open(y).await) {
            (Ok(sx), Ok(sy)) => (sx, sy),
            (Err(SubjectError::Refused(m)), _) | (_, Err(SubjectError::Refused(m))) => {
                check(!m.is_empty() && !m.contains('\n'), || {
                    format!("refusal of {x:?} or {y:?} is not one line: {m:?}")
                })?;
                continue;
            }
            (Err(e), _) | (_, Err(e)) => {
                return Err(format!("open {x:?} / {y:?} failed (not a refusal): {e}"))
            }
        };
        sx.backend
            .write("/me.txt", x)
            .await
            .map_err(|e| format!("{x:?} write: {e}"))?;
        let seen = sy
            .backend
            .exists("/me.txt")
            .await
            .map_err(|e| e.to_string())?;
        check(!seen, || format!("{y:?} sees the file of {x:?}"))?;
        let own = sx
            .backend
            .read_bytes("/me.txt")
            .await
            .map_err(|e| e.to_string())?;
        check(own == x.as_bytes(), || format!("{x:?} reads back {own:?}"))?;
    }
    Ok(t)
}

/// The scenarios by name, for the bench.
pub type Scenario = fn(
    Box<dyn Tenancy>,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Box<dyn Tenancy>, String>> + Send>,
>;

pub fn scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("10mb-file", |t| Box::pin(ten_mb_file(t))),
        ("10000-entries", |t| Box::pin(ten_thousand_entries(t))),
        ("50-deep", |t| Box::pin(fifty_deep(t))),
        ("odd-ids", |t| Box::pin(odd_user_ids(t))),
    ]
}
