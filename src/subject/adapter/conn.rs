//! The adapter process and its pipelined connection: one writer task feeds
//! the child's stdin, one reader task reads its stdout and hands every
//! reply to the request waiting for its id.
//!
//! Anything that breaks the protocol (the process exits, closes stdout,
//! writes a line that is not JSON, a reply with an unknown id or of the
//! wrong shape) kills the connection: every waiting and every later request
//! fails with [`SubjectError::Crashed`] and a message naming the cause.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{Call, Hello, HelloErrorKind, Request, WireError, PROTOCOL};
use crate::subject::{Capabilities, SubjectError, SubjectResult};

type Waiter = oneshot::Sender<Result<Value, SubjectError>>;

/// How long the adapter may take to announce itself, and to answer the
/// lifecycle requests that the engine does not time (new/close tenancy).
pub const LIFECYCLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits for the adapter to exit after closing its stdin.
pub const GRACE: Duration = Duration::from_secs(2);
/// Longest piece of an offending line quoted in an error.
const QUOTE: usize = 200;
/// Longest line an adapter may write (a reply or the handshake). A longer
/// line breaks the connection instead of growing isocheck's memory without
/// bound; the largest legitimate reply, `read_bytes` of a 10 MB file, is
/// about 20 MB of hex.
pub const MAX_LINE: usize = 64 << 20;

struct Shared {
    pending: HashMap<u64, Waiter>,
    /// Why the connection is dead, once it is.
    dead: Option<String>,
}

impl Shared {
    fn kill(&mut self, why: String) {
        if self.dead.is_none() {
            self.dead = Some(why.clone());
        }
        let why = self.dead.clone().unwrap_or(why);
        for (_, w) in self.pending.drain() {
            let _ = w.send(Err(SubjectError::Crashed(why.clone())));
        }
    }
}

/// A running adapter.
pub struct Conn {
    shared: Arc<Mutex<Shared>>,
    next_id: AtomicU64,
    tx: Mutex<Option<mpsc::UnboundedSender<String>>>,
    child: tokio::sync::Mutex<Option<Child>>,
    pid: Option<u32>,
    what: String,
    /// The adapter's private TMPDIR: removed once the adapter is reaped (or
    /// with the connection), even when the adapter had to be killed.
    tmpdir: Mutex<Option<tempfile::TempDir>>,
}

/// Quotes the start of an offending line.
pub fn quote(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() <= QUOTE {
        format!("{line:?}")
    } else {
        let head: String = line.chars().take(QUOTE).collect();
        format!("{head:?}... ({} bytes)", line.len())
    }
}

/// A decoder's error on one line: serde quotes the offending field names
/// and values verbatim, newlines included.
fn one_line(e: impl std::fmt::Display) -> String {
    e.to_string()
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a request's waiter if the request is dropped before its reply
/// (the engine's op timeout).
/// A request abandoned before its reply has timed out (or its run has
/// ended): the adapter is then considered hung and the connection dead, so
/// nothing later waits on it again.
struct PendingGuard<'a> {
    shared: &'a Mutex<Shared>,
    id: u64,
    op: &'static str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut sh = lock(self.shared);
        if sh.pending.remove(&self.id).is_some() {
            sh.kill(format!(
                "the adapter did not answer request {} ({}) in time",
                self.id, self.op
            ));
        }
    }
}

impl Conn {
    /// Starts `argv`, reads the handshake and returns the connection and the
    /// announced capabilities.
    pub async fn start(argv: &[String]) -> SubjectResult<(Arc<Conn>, Handshake)> {
        let what = argv.join(" ");
        let tmpdir = tempfile::Builder::new()
            .prefix("isocheck-adapter-")
            .tempdir()
            .map_err(|e| {
                SubjectError::Config(format!("cannot make a temp dir for the adapter: {e}"))
            })?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("TMPDIR", tmpdir.path())
            .env(
                "ISOCHECK_DEBRIS_FILE",
                tmpdir.path().join(super::debris::FILE),
            )
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to
        // kill the adapter if isocheck dies without stopping it.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            SubjectError::Config(format!("cannot start the adapter '{}': {e}", argv[0]))
        })?;
        let pid = child.id();
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout);

        let conn = Arc::new(Conn {
            shared: Arc::new(Mutex::new(Shared {
                pending: HashMap::new(),
                dead: None,
            })),
            next_id: AtomicU64::new(1),
            tx: Mutex::new(None),
            child: tokio::sync::Mutex::new(Some(child)),
            pid,
            what: what.clone(),
            tmpdir: Mutex::new(Some(tmpdir)),
        });

        // The handshake.
        let mut first = String::new();
        let read = tokio::time::timeout(LIFECYCLE_TIMEOUT, read_line(&mut lines, &mut first)).await;
        let hello = match read {
            Err(_) => {
                conn.stop().await;
                return Err(SubjectError::Crashed(format!(
                    "the adapter did not announce itself within {LIFECYCLE_TIMEOUT:?}"
                )));
            }
            Ok(Err(e)) => {
                conn.stop().await;
                return Err(SubjectError::Crashed(format!(
                    "reading the adapter's handshake failed: {e}"
                )));
            }
            Ok(Ok(0)) => {
                let status = conn.stop().await;
                return Err(SubjectError::Crashed(format!(
                    "the adapter exited before its handshake ({status})"
                )));
            }
            Ok(Ok(_)) => match decode_handshake(&first) {
                Ok(h) => h,
                Err(e) => {
                    conn.stop().await;
                    return Err(e);
                }
            },
        };
        let hello = Handshake {
            subject: Some(hello.subject.unwrap_or_else(|| what.clone())),
            ..hello
        };

        let (tx, rx) = mpsc::unbounded_channel::<String>();
        *conn.tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        tokio::spawn(writer(stdin, rx, conn.shared.clone()));
        tokio::spawn(reader(lines, conn.shared.clone()));
        Ok((conn, hello))
    }

    /// Sends `call` and waits for its reply, decoded as `T`.
    pub async fn call<T: DeserializeOwned>(&self, call: Call) -> SubjectResult<T> {
        let op = call.name();
        let v = self.raw(call).await?;
        T::deserialize(&v).map_err(|e| {
            let msg = format!(
                "the adapter's reply to {op} has the wrong shape ({}): {}",
                one_line(&e),
                quote(&v.to_string())
            );
            lock(&self.shared).kill(msg.clone());
            SubjectError::Crashed(msg)
        })
    }

    /// [`Conn::call`] with [`LIFECYCLE_TIMEOUT`].
    pub async fn call_timed<T: DeserializeOwned>(&self, call: Call) -> SubjectResult<T> {
        let op = call.name();
        match tokio::time::timeout(LIFECYCLE_TIMEOUT, self.call(call)).await {
            Ok(r) => r,
            Err(_) => Err(SubjectError::Timeout(format!(
                "the adapter did not answer {op} within {LIFECYCLE_TIMEOUT:?}"
            ))),
        }
    }

    async fn raw(&self, call: Call) -> SubjectResult<Value> {
        let op = call.name();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = serde_json::to_string(&Request { id, call }).expect("a request serializes");
        let (wtx, wrx) = oneshot::channel();
        {
            let mut sh = lock(&self.shared);
            if let Some(why) = &sh.dead {
                return Err(SubjectError::Crashed(why.clone()));
            }
            sh.pending.insert(id, wtx);
        }
        let _guard = PendingGuard {
            shared: &self.shared,
            id,
            op,
        };
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|tx| tx.send(line).is_ok())
            .unwrap_or(false);
        if !sent {
            let mut sh = lock(&self.shared);
            sh.kill("the adapter connection is closed".into());
            return Err(SubjectError::Crashed(sh.dead.clone().unwrap_or_default()));
        }
        match wrx.await {
            Ok(r) => r,
            Err(_) => Err(SubjectError::Crashed(
                lock(&self.shared)
                    .dead
                    .clone()
                    .unwrap_or_else(|| "the adapter connection was dropped".into()),
            )),
        }
    }

    /// Closes stdin, waits [`GRACE`] for the adapter to exit, then kills
    /// its process group; always reaps the child. Returns how it ended.
    pub async fn stop(&self) -> String {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut child) = self.child.lock().await.take() else {
            return "already stopped".into();
        };
        let status = match tokio::time::timeout(GRACE, child.wait()).await {
            Ok(Ok(s)) => s.to_string(),
            _ => {
                #[cfg(unix)]
                if let Some(pid) = self.pid {
                    // The adapter leads its own process group: end it whole.
                    unsafe {
                        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    }
                }
                let _ = child.start_kill();
                match child.wait().await {
                    Ok(s) => format!("killed after {GRACE:?}: {s}"),
                    Err(e) => format!("killed after {GRACE:?}; waiting failed: {e}"),
                }
            }
        };
        // What the adapter's app created outside the process and did not
        // release (it was killed, say): removed before the temp dir goes.
        let debris = self
            .tmpdir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|t| t.path().join(super::debris::FILE));
        if let Some(file) = debris {
            if let Some(line) = super::debris::sweep(&file).await {
                eprintln!("isocheck: {line}");
            }
        }
        lock(&self.shared).kill(format!("the adapter was stopped ({status})"));
        self.tmpdir.lock().unwrap_or_else(|p| p.into_inner()).take();
        status
    }

    /// The adapter's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn command(&self) -> &str {
        &self.what
    }
}

async fn writer(
    mut stdin: tokio::process::ChildStdin,
    mut rx: mpsc::UnboundedReceiver<String>,
    shared: Arc<Mutex<Shared>>,
) {
    let mut buf = Vec::with_capacity(4096);
    while let Some(first) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(first.as_bytes());
        buf.push(b'\n');
        // Batch whatever else is queued into one write.
        while let Ok(more) = rx.try_recv() {
            buf.extend_from_slice(more.as_bytes());
            buf.push(b'\n');
        }
        let r = async {
            stdin.write_all(&buf).await?;
            stdin.flush().await
        }
        .await;
        if let Err(e) = r {
            lock(&shared).kill(format!("writing to the adapter failed: {e}"));
            return;
        }
    }
    // The sender was dropped (stop): dropping stdin closes it.
}

async fn reader<R: AsyncBufRead + Unpin>(mut lines: R, shared: Arc<Mutex<Shared>>) {
    let mut line = String::new();
    loop {
        line.clear();
        match read_line(&mut lines, &mut line).await {
            Ok(0) => {
                lock(&shared).kill("the adapter closed its stdout (it exited or crashed)".into());
                return;
            }
            Err(e) => {
                lock(&shared).kill(format!("reading from the adapter failed: {e}"));
                return;
            }
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Err(why) = dispatch(&line, &shared) {
            lock(&shared).kill(why);
            return;
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes (an error beyond, and for
/// bytes that are not UTF-8); `Ok(0)` at the end of the stream.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut String,
) -> std::io::Result<usize> {
    let n = match r.take(MAX_LINE as u64 + 1).read_line(line).await {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(std::io::Error::other(format!(
                "the adapter wrote a line that is not UTF-8 ({e})"
            )))
        }
        Err(e) => return Err(e),
    };
    if n > MAX_LINE && !line.ends_with('\n') {
        return Err(std::io::Error::other(format!(
            "the adapter wrote a line longer than {} MiB: {}",
            MAX_LINE >> 20,
            quote(line)
        )));
    }
    Ok(n)
}

/// Feeds `stream` to the reply reader as if the adapter had written it,
/// with requests `1..=requests` waiting; returns what each request got
/// (`None`: no reply before the stream ended) and why the connection
/// died. For the fuzz targets and the tests of the reader.
#[doc(hidden)]
pub async fn read_replies(
    stream: &[u8],
    requests: u64,
) -> (Vec<Option<Result<Value, SubjectError>>>, Option<String>) {
    let shared = Arc::new(Mutex::new(Shared {
        pending: HashMap::new(),
        dead: None,
    }));
    let mut rxs = Vec::new();
    for id in 1..=requests {
        let (tx, rx) = oneshot::channel();
        lock(&shared).pending.insert(id, tx);
        rxs.push(rx);
    }
    reader(BufReader::new(stream), shared.clone()).await;
    let mut got = Vec::new();
    for mut rx in rxs {
        got.push(rx.try_recv().ok());
    }
    let dead = lock(&shared).dead.clone();
    (got, dead)
}

/// Decodes the adapter's handshake line: its capabilities and subject
/// name, or why it cannot serve (`Config`) or is broken (`Crashed`).
pub fn decode_hello(line: &str) -> SubjectResult<(Capabilities, Option<String>)> {
    decode_handshake(line).map(|h| (h.caps, h.subject))
}

/// What a valid handshake announces.
pub struct Handshake {
    pub caps: Capabilities,
    /// Identifier kinds the app hands to users (see `WireCapabilities`).
    pub identifiers: Vec<String>,
    pub subject: Option<String>,
    pub framework: Option<crate::subject::Framework>,
}

/// Decodes the handshake line: the capabilities, the subject's name and the
/// framework it declares (absent for adapters that declare none).
pub fn decode_handshake(line: &str) -> SubjectResult<Handshake> {
    let hello = match serde_json::from_str::<Hello>(line) {
        Ok(h) => h,
        Err(e) => {
            // Another protocol altogether, or a broken adapter.
            let proto = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v.get("protocol").and_then(|p| p.as_str()).map(String::from));
            return Err(match proto {
                Some(p) if p != PROTOCOL => SubjectError::Config(format!(
                    "the adapter speaks {}, isocheck speaks {PROTOCOL}",
                    quote(&p)
                )),
                _ => SubjectError::Crashed(format!(
                    "the adapter's first line is not a {PROTOCOL} handshake ({}): {}",
                    one_line(&e),
                    quote(line)
                )),
            });
        }
    };
    if hello.protocol != PROTOCOL {
        return Err(SubjectError::Config(format!(
            "the adapter speaks {}, isocheck speaks {PROTOCOL}",
            quote(&hello.protocol)
        )));
    }
    if let Some(err) = hello.error {
        let msg = match err.kind {
            HelloErrorKind::Config => format!("the adapter reports: {}", err.message),
            HelloErrorKind::Unsupported => {
                format!("the adapter cannot serve here: {}", err.message)
            }
        };
        return Err(SubjectError::Config(msg));
    }
    let Some(caps) = hello.capabilities else {
        return Err(SubjectError::Crashed(
            "the adapter's handshake has neither capabilities nor error".into(),
        ));
    };
    let identifiers = caps.identifiers.clone();
    Ok(Handshake {
        identifiers,
        caps: caps.into(),
        subject: hello.subject,
        framework: hello.framework.map(|f| crate::subject::Framework {
            name: f.name,
            generation: f.generation,
            versions: f.versions,
        }),
    })
}

/// Hands one reply line to its waiter; `Err` breaks the connection.
fn dispatch(line: &str, shared: &Mutex<Shared>) -> Result<(), String> {
    let (id, result) = decode_reply(line)?;
    let waiter = lock(shared).pending.remove(&id);
    match waiter {
        Some(w) => {
            let _ = w.send(result);
            Ok(())
        }
        // A request dropped after the engine's timeout leaves no waiter; by
        // then the run is over, so an unknown id is always a protocol error.
        None => Err(format!(
            "the adapter replied to unknown id {id}: {}",
            quote(line)
        )),
    }
}

/// Decodes one reply line into its request id and result; `Err` says why
/// the line breaks the protocol.
pub fn decode_reply(line: &str) -> Result<(u64, Result<Value, SubjectError>), String> {
    let mut v: Value = serde_json::from_str(line).map_err(|e| {
        format!(
            "the adapter wrote a line that is not JSON ({}): {}",
            one_line(&e),
            quote(line)
        )
    })?;
    let Some(obj) = v.as_object_mut() else {
        return Err(format!(
            "the adapter wrote a reply that is not an object: {}",
            quote(line)
        ));
    };
    let Some(id) = obj.get("id").and_then(Value::as_u64) else {
        return Err(format!(
            "the adapter wrote a reply without an integer id: {}",
            quote(line)
        ));
    };
    let result = match (obj.remove("ok"), obj.remove("error")) {
        (Some(ok), None) => Ok(ok),
        (None, Some(err)) => match serde_json::from_value::<WireError>(err) {
            Ok(e) => Err(SubjectError::from(e)),
            Err(e) => {
                return Err(format!(
                    "the adapter wrote an error of the wrong shape ({}; kinds: not-found, refused, unsupported, failed): {}",
                    one_line(&e),
                    quote(line)
                ))
            }
        },
        _ => {
            return Err(format!(
                "the adapter wrote a reply with neither or both of ok and error: {}",
                quote(line)
            ))
        }
    };
    Ok((id, result))
}

/// Splits `CMD ARGS` like a POSIX shell would for plain words, single and
/// double quotes and backslashes (no expansion).
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                have = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated ' in --adapter {s:?}")),
                    }
                }
            }
            '"' => {
                have = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err(format!("trailing \\ in --adapter {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated \" in --adapter {s:?}")),
                    }
                }
            }
            '\\' => {
                have = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err(format!("trailing \\ in --adapter {s:?}")),
                }
            }
            c if c.is_whitespace() => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                have = true;
                cur.push(c);
            }
        }
    }
    if have {
        out.push(cur);
    }
    if out.is_empty() {
        return Err("--adapter needs a command (\"CMD ARGS\")".into());
    }
    Ok(out)
}
