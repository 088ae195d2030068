//! Resources an adapter's app created outside the adapter process (a
//! sandbox container per user, say), which the adapter records in the file
//! `$ISOCHECK_DEBRIS_FILE` names, one `kind id` a line. An adapter that
//! exits normally releases them itself; after one was killed (it hung, or
//! isocheck was interrupted and the adapter did not finish in time), isocheck
//! removes what is still there.

use std::path::Path;
use std::time::Duration;

/// The file's name inside the adapter's private temp dir.
pub const FILE: &str = "debris";

/// Removes every recorded resource that still exists; returns a line for
/// stderr when anything was removed or could not be.
pub async fn sweep(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut containers: Vec<String> = Vec::new();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("docker-container", id))
                if !id.is_empty() && !containers.iter().any(|c| c == id) =>
            {
                containers.push(id.to_string());
            }
            _ => {}
        }
    }
    if containers.is_empty() {
        return None;
    }
    let connected = match bollard::Docker::connect_with_defaults() {
        Ok(d) => tokio::time::timeout(
            Duration::from_secs(10),
            d.with_timeout(Duration::from_secs(30)).negotiate_version(),
        )
        .await
        .map_err(|_| "no answer within 10 s".to_string())
        .and_then(|r| r.map_err(|e| e.to_string())),
        Err(e) => Err(e.to_string()),
    };
    let docker = match connected {
        Ok(d) => d,
        Err(e) => {
            return Some(format!(
                "the adapter left {} container(s) and no Docker engine is reachable to remove them: {e}",
                containers.len()
            ))
        }
    };
    let (removed, err) = crate::backends::docker::remove_all(&docker, &containers).await;
    match (removed, err) {
        (0, None) => None,
        (n, None) => Some(format!("removed {n} container(s) the adapter left behind")),
        (n, Some(e)) => Some(format!(
            "removed {n} container(s) the adapter left behind; removing the rest failed: {e}"
        )),
    }
}
