//! execute-escape (checklist C5: sandboxed execution of untrusted code)
//!
//! What it checks: where the subject offers `execute`, users write canary
//! files (and, through the shell, canary files in the temp directory), and
//! commands run as one user look for the others' canaries: small regular
//! files found from relative paths (`find ..`, `find ../..`, bounded in
//! depth, size, count and total output; never device files, never `proc`,
//! `sys` or `dev`), a listing of the parent of the
//! working directory, the shared temp directory (`$TMPDIR`, `/tmp`), the
//! environment and the process list. Any other user's canary, or another
//! user's file name, in a command's output is a finding (C5).
//!
//! Why it matters: an agent that can run code runs whatever a prompt
//! injection tells it to. Per-user directories do not confine a shell: it
//! reads every sibling directory the process can.
//!
//! Fix: run untrusted code in a sandbox per user (the guide's DockerSandbox
//! with a SessionManager), with no access to other users' storage or to a
//! shared temp directory.

use proptest::strategy::BoxedStrategy;

use super::{doc_from_file, Family};
use crate::gen::{self, GenConfig, IdMix, Scenario};
use crate::subject::Capabilities;

pub struct ExecuteEscape;

impl Family for ExecuteEscape {
    fn name(&self) -> &'static str {
        "execute-escape"
    }
    doc_from_file!("execute_escape.rs");
    fn items(&self) -> &'static [&'static str] {
        &["C5"]
    }
    fn surfaces(&self, _caps: &Capabilities) -> Vec<super::Surface> {
        vec![super::Surface::Execute]
    }
    fn applicable(&self, caps: &Capabilities, _: &super::CheckOptions) -> Result<(), String> {
        super::needs(caps.execute, "the subject offers no execute")
    }
    fn strategy(&self, cfg: &GenConfig) -> BoxedStrategy<Scenario> {
        // Plain ids: a hostile id could root a user's shell high up the host
        // tree (hostile-user-ids covers the ids themselves).
        let cfg = GenConfig {
            ids: IdMix::Plain,
            ..cfg.clone()
        };
        gen::scenario(&cfg, gen::execute_ops())
    }
}
