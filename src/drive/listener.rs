//! The harness's own TCP listener for sandbox-hardening's network probe.
//!
//! When a plan holds a command with [`LISTENER_PORT`], the driver opens a
//! listener for the case on an ephemeral port of the host (all IPv4
//! addresses: loopback for a sandbox on the host's network, the bridge's
//! gateway address for one on a Docker bridge) and runs such commands with
//! the real port in place of the placeholder (the history keeps the
//! placeholder, so reports do not depend on the port). Each connection may
//! send one line (at most 256 bytes); the listener records it with the
//! peer's address, then answers `isocheck-ack LINE`, so a probe that got
//! the answer knows its line was recorded. Nothing else is read or sent,
//! and the listener closes with the case. The probe only ever connects to
//! this listener: never to any outside address.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::gen::hardening::LISTENER_PORT;
use crate::gen::{Op, Plan};

/// A line the listener received.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Receipt {
    /// The connecting address (`127.0.0.1`, a bridge address, ...).
    pub peer: String,
    pub text: String,
}

/// What the listener of a case saw (empty when the plan needed none).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Listened {
    /// Why no listener could be opened, if it could not.
    pub error: Option<String>,
    pub receipts: Vec<Receipt>,
}

/// A case's listener.
pub struct Listener {
    port: u16,
    receipts: Arc<Mutex<Vec<Receipt>>>,
    task: tokio::task::JoinHandle<()>,
}

/// Whether `plan` runs a command that connects to the listener.
pub fn wanted(plan: &Plan) -> bool {
    plan.steps
        .iter()
        .flatten()
        .any(|(_, op)| matches!(op, Op::Execute { command } if command.contains(LISTENER_PORT)))
}

/// The listener a plan needs (`None` when it needs none, or when it could
/// not be opened: then [`Listened::error`] says why).
pub async fn for_plan(plan: &Plan) -> (Option<Listener>, Listened) {
    if !wanted(plan) {
        return (None, Listened::default());
    }
    match Listener::open().await {
        Ok(l) => (Some(l), Listened::default()),
        Err(error) => (
            None,
            Listened {
                error: Some(error),
                receipts: Vec::new(),
            },
        ),
    }
}

impl Listener {
    /// Opens the listener; `Err` says why it could not be.
    pub async fn open() -> Result<Self, String> {
        let socket = TcpListener::bind(("0.0.0.0", 0))
            .await
            .map_err(|e| format!("the harness could not open its listener: {e}"))?;
        let port = socket
            .local_addr()
            .map_err(|e| format!("the harness's listener has no address: {e}"))?
            .port();
        let receipts: Arc<Mutex<Vec<Receipt>>> = Arc::default();
        let log = receipts.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, peer)) = socket.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 256];
                    let read = async {
                        while buf.len() < 256 && !buf.contains(&b'\n') {
                            match conn.read(&mut chunk).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
                    let text = String::from_utf8_lossy(&buf[..buf.len().min(256)])
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(Receipt {
                        peer: peer.ip().to_string(),
                        text: text.clone(),
                    });
                    let _ = conn
                        .write_all(format!("isocheck-ack {text}\n").as_bytes())
                        .await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Ok(Listener {
            port,
            receipts,
            task,
        })
    }

    /// `op` as it runs, when it names the listener: its port in place of
    /// the placeholder. `None`: the operation runs as planned.
    pub fn craft(&self, op: &Op) -> Option<Op> {
        match op {
            Op::Execute { command } if command.contains(LISTENER_PORT) => Some(Op::Execute {
                command: command.replace(LISTENER_PORT, &self.port.to_string()),
            }),
            _ => None,
        }
    }

    /// Closes the listener; what it received.
    pub fn finish(self) -> Vec<Receipt> {
        let mut r = std::mem::take(&mut *self.receipts.lock().unwrap_or_else(|e| e.into_inner()));
        r.sort_by(|a, b| a.text.cmp(&b.text).then_with(|| a.peer.cmp(&b.peer)));
        r
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
