//! One shell per user's backend for its file operations.
//!
//! Each file operation through the engine's archive API is an HTTP request
//! the engine serves by entering the container (about 17 ms on 2 cores),
//! and a case makes a hundred of them. Instead, a backend keeps one
//! `docker exec -i sh` open in its container (as root, in `/`, as the
//! archive API reads and writes) and sends each operation as a short
//! script on its stdin: the same tar archives go both ways, base64 on the
//! wire, so reads, listings and writes mean what they meant through the
//! archive API. Every script ends by printing a marker line with a number
//! and the script's status; the reply is everything before it. Base64
//! never contains the marker's `@`, so a reply cannot forge one.
//!
//! The shell is started on the first operation and ends when its channel
//! is dropped (its stdin closes): with the backend, or for a pool
//! container with the container (see `pool`). An operation whose shell
//! ended (killed, or the container stopped) starts a new one and is tried
//! once more; then it fails, as an archive request to a stopped container
//! would.
//!
//! Commands that users run (`execute`) never go through this shell: each
//! is its own `docker exec` as the sandbox user, as before.

use std::pin::Pin;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::engine_err;
use crate::subject::{SubjectError, SubjectResult};

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

struct Shell {
    input: Input,
    output: Output,
    /// Replies sent so far (the next marker's number).
    sent: u64,
}

/// A script's reply: its status, what it printed, and its stderr.
pub(super) struct Reply {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Creates an exec with `opts` in `container` and starts it attached: its
/// id, its output and its stdin (`what` names it in errors).
pub(super) async fn attach(
    docker: &Docker,
    container: &str,
    opts: CreateExecOptions<String>,
    what: &str,
) -> SubjectResult<(String, Output, Input)> {
    let created = docker
        .create_exec(container, opts)
        .await
        .map_err(|e| engine_err(what, e))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| engine_err(what, e))?;
    let StartExecResults::Attached { output, input } = started else {
        return Err(SubjectError::Failed(format!("{what}: exec did not attach")));
    };
    Ok((created.id, output, input))
}

/// The file channel of one backend (see the module doc).
pub(super) struct Channel {
    docker: Docker,
    container: String,
    shell: tokio::sync::Mutex<Option<Shell>>,
}

const MARK: &[u8] = b"@@isocheck:";

/// `s` as one shell word: single-quoted, with `'` written as `'\''`
/// (anything else, newlines included, stands as it is inside quotes).
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Channel {
    pub(super) fn new(docker: Docker, container: String) -> Self {
        Self {
            docker,
            container,
            shell: tokio::sync::Mutex::new(None),
        }
    }

    async fn start(&self, what: &str) -> SubjectResult<Shell> {
        let opts = CreateExecOptions {
            cmd: Some(vec!["sh".to_string()]),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            working_dir: Some("/".to_string()),
            ..Default::default()
        };
        let (_, output, input) = attach(&self.docker, &self.container, opts, what).await?;
        Ok(Shell {
            input,
            output,
            sent: 0,
        })
    }

    /// Runs `script` in the backend's shell; `what` names the operation in
    /// errors.
    pub(super) async fn run(&self, script: &str, what: &str) -> SubjectResult<Reply> {
        let mut guard = self.shell.lock().await;
        // A shell that ended is started again, once per operation (every
        // script is safe to run twice: reads, and whole-file writes).
        let mut last = String::new();
        for _ in 0..2 {
            if guard.is_none() {
                *guard = Some(self.start(what).await?);
            }
            let shell = guard.as_mut().expect("a shell");
            match exchange(shell, script).await {
                Ok(r) => return Ok(r),
                Err(e) => {
                    *guard = None;
                    last = e;
                }
            }
        }
        Err(SubjectError::Failed(format!(
            "{what}: the container's shell: {last}"
        )))
    }
}

/// Sends `script` and reads up to its marker line.
async fn exchange(shell: &mut Shell, script: &str) -> Result<Reply, String> {
    shell.sent += 1;
    let n = shell.sent;
    let text = format!("{script}\nprintf '\\n@@isocheck:{n}:%s\\n' \"$?\"\n");
    shell
        .input
        .write_all(text.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    shell.input.flush().await.map_err(|e| e.to_string())?;
    let want = format!("\n@@isocheck:{n}:");
    let mut stdout: Vec<u8> = Vec::new();
    let mut stderr: Vec<u8> = Vec::new();
    // Where the marker may start (what was scanned before cannot hold it).
    let mut from = 0usize;
    loop {
        if let Some(at) = find(&stdout[from..], want.as_bytes()).map(|i| i + from) {
            let rest = &stdout[at + want.len()..];
            if let Some(end) = rest.iter().position(|&b| b == b'\n') {
                let status = std::str::from_utf8(&rest[..end])
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or("a malformed status")?;
                stdout.truncate(at);
                return Ok(Reply {
                    status,
                    stdout,
                    stderr: String::from_utf8_lossy(&stderr).into_owned(),
                });
            }
        }
        from = stdout.len().saturating_sub(want.len() + 24);
        match shell.output.next().await {
            Some(Ok(LogOutput::StdErr { message })) => stderr.extend_from_slice(&message),
            Some(Ok(out)) => stdout.extend_from_slice(&out.into_bytes()),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("it ended".into()),
        }
        if stdout.len() > 256 << 20 {
            return Err("more than 256 MiB of reply".into());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    debug_assert!(needle.starts_with(b"\n") && needle[1..].starts_with(MARK));
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Base64 as busybox `base64` prints it (lines of 76), decoded.
pub(super) fn unbase64(text: &[u8]) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("bad base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_keep_quotes_and_newlines() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("a\nb"), "'a\nb'");
    }

    #[test]
    fn busybox_base64_lines_decode() {
        assert_eq!(unbase64(b"aGVs\nbG8=\n").unwrap(), b"hello");
        assert!(unbase64(b"@@").is_err());
    }
}
