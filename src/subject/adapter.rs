//! The adapter client: a subject reached through a separate process that
//! speaks newline-delimited JSON on its stdin/stdout (see docs/adapter-protocol.md).
//! (placeholder: the implementation lands with the adapter protocol)

use std::sync::Arc;

use super::SubjectFactory;

/// Parses `CMD ARGS` and returns a factory that starts the process when the
/// run starts. Errors are configuration errors (exit code 2).
pub fn adapter_factory(_command: &str) -> Result<Arc<dyn SubjectFactory>, String> {
    Err("--adapter is not implemented yet".into())
}
