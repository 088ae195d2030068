//! What a history exercised: the evidence that a pass means something.
//!
//! A family may say `pass` only if, for every store it speaks for, the
//! history holds at least one successful write by one user followed (at a
//! later step) by a successful observation by *another* user that could
//! have shown that write: a read of the same path, a listing or search of a
//! directory above it, a read of the memory, a checkpoint read, list or
//! count, a history read, or a command run after the write. Otherwise the
//! family is `not tested`, with the reason (every write failed, and how;
//! or nobody else looked).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backends::common::{is_under, normalize};
use crate::drive::{History, Obs};
use crate::gen::Op;
use crate::subject::SubjectError;

/// Where a piece of user state lives: finer than a checklist channel, so
/// that "memory was never stored" is not hidden by a pass on plain files.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Surface {
    Files,
    Memory,
    Plans,
    Evicted,
    Context,
    Checkpoints,
    History,
    Execute,
    /// A returning user's own memory or checkpoints (the persistence family).
    Reopen,
    /// The sandbox that runs a user's commands (sandbox-hardening).
    Sandbox,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Files => "files",
            Surface::Memory => "memory",
            Surface::Plans => "plans",
            Surface::Evicted => "evicted results",
            Surface::Context => "context files",
            Surface::Checkpoints => "checkpoints",
            Surface::History => "message history",
            Surface::Execute => "command execution",
            Surface::Reopen => "a returning user's memory and checkpoints",
            Surface::Sandbox => "sandbox",
        }
    }

    /// Whether it is kept as files of the backend.
    pub(crate) fn file_like(self) -> bool {
        matches!(
            self,
            Surface::Files | Surface::Memory | Surface::Plans | Surface::Evicted | Surface::Context
        )
    }

    /// The operations that write to it, for reasons.
    fn writers(self) -> &'static str {
        match self {
            Surface::Files => "write",
            Surface::Memory => "save_memory",
            Surface::Plans => "save_plan",
            Surface::Evicted => "evict",
            Surface::Context => "write of a context file",
            Surface::Checkpoints => "checkpoint save",
            Surface::History => "history append",
            Surface::Execute => "write",
            Surface::Reopen => "save_memory or checkpoint save",
            Surface::Sandbox => "probe",
        }
    }
}

/// Counts for one surface.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SurfaceCoverage {
    /// Writes attempted, and those that succeeded.
    pub write_attempts: usize,
    pub writes: usize,
    /// Successful observations by another user after a successful write
    /// (for `Reopen`: by the same user after a reopen).
    pub cross: usize,
    /// Operations on the surface that failed (not-found answers aside), and
    /// the first error of a write and of an observation.
    pub failures: usize,
    pub first_write_error: Option<String>,
    pub first_observation_error: Option<String>,
}

/// Per-channel counts of judged and failed observations, and what each
/// surface exercised.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    pub judged: BTreeMap<crate::gen::Channel, usize>,
    pub errors: BTreeMap<crate::gen::Channel, usize>,
    pub surfaces: BTreeMap<Surface, SurfaceCoverage>,
    /// Checks that are not cross-user observations (sandbox-hardening's
    /// probes): name -> times judged, and why it was not when it was not.
    pub probes: BTreeMap<&'static str, ProbeCoverage>,
}

/// How one probe went across the cases.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProbeCoverage {
    /// Cases in which the probe gave a verdict (pass or finding).
    pub judged: usize,
    /// Why it gave none, the first time it did not.
    pub first_reason: Option<String>,
}

impl Coverage {
    pub fn merge(&mut self, from: &Coverage) {
        for (c, n) in &from.judged {
            *self.judged.entry(*c).or_default() += n;
        }
        for (c, n) in &from.errors {
            *self.errors.entry(*c).or_default() += n;
        }
        for (s, f) in &from.surfaces {
            let t = self.surfaces.entry(*s).or_default();
            t.write_attempts += f.write_attempts;
            t.writes += f.writes;
            t.cross += f.cross;
            t.failures += f.failures;
            if t.first_write_error.is_none() {
                t.first_write_error = f.first_write_error.clone();
            }
            if t.first_observation_error.is_none() {
                t.first_observation_error = f.first_observation_error.clone();
            }
        }
        for (p, f) in &from.probes {
            let t = self.probes.entry(p).or_default();
            t.judged += f.judged;
            if t.first_reason.is_none() {
                t.first_reason = f.first_reason.clone();
            }
        }
    }

    /// Whether `s` was judged (a cross-user observation after a write).
    pub fn judged(&self, s: Surface) -> bool {
        self.surfaces.get(&s).is_some_and(|c| c.cross > 0)
    }

    /// Why `s` was not judged, in one line.
    pub fn why_not(&self, s: Surface) -> String {
        let c = self.surfaces.get(&s).cloned().unwrap_or_default();
        let what = s.as_str();
        if c.write_attempts == 0 {
            return format!("{what}: no {} ran", s.writers());
        }
        if c.writes == 0 {
            // Not-found answers (a delete or edit of a file nobody wrote)
            // are answers of a working subject, not failures.
            return match c.first_write_error {
                Some(err) => format!("{what}: every {} failed ({err})", s.writers()),
                None => format!(
                    "{what}: no {} succeeded (each named a file that did not exist)",
                    s.writers()
                ),
            };
        }
        let looked = if s == Surface::Reopen {
            "the user read them back after reopening the session"
        } else {
            "another user looked after a successful write"
        };
        match c.first_observation_error {
            Some(err) => format!("{what}: no observation succeeded where {looked} ({err})"),
            None => format!("{what}: no case had {looked}"),
        }
    }
}

/// The surface an operation writes to, if it writes.
pub(crate) fn written(op: &Op, seeded: &[String]) -> Option<Surface> {
    Some(match op {
        Op::Write { path, .. } | Op::Edit { path, .. } => {
            if seeded.contains(&normalize(path)) {
                Surface::Context
            } else {
                Surface::Files
            }
        }
        Op::SaveMemory { .. } => Surface::Memory,
        Op::SavePlan { .. } => Surface::Plans,
        Op::Evict { .. } => Surface::Evicted,
        Op::CkSave { .. } => Surface::Checkpoints,
        Op::HistAppend { .. } => Surface::History,
        _ => return None,
    })
}

/// The surface an observation reads by its own nature (for failures).
pub(crate) fn observed_kind(op: &Op) -> Option<Surface> {
    Some(match op {
        Op::Read { .. }
        | Op::ReadBytes { .. }
        | Op::Exists { .. }
        | Op::Ls { .. }
        | Op::Glob { .. }
        | Op::Grep { .. } => Surface::Files,
        Op::ReadMemory { .. } => Surface::Memory,
        Op::CkGet { .. } | Op::CkGetByLabel { .. } | Op::CkList | Op::CkCount => {
            Surface::Checkpoints
        }
        Op::HistGet => Surface::History,
        Op::Execute { .. } => Surface::Execute,
        _ => return None,
    })
}

struct Write {
    user: usize,
    step: usize,
    surface: Surface,
    path: Option<String>,
}

/// Whether `op` (by its own nature) could show the write `w`.
/// Whether observation `op` (its path normalized: `at`) could show write
/// `w`.
fn shows(op: &Op, at: Option<&str>, w: &Write) -> bool {
    let file_like = w.surface.file_like();
    match op {
        Op::Read { .. } | Op::ReadBytes { .. } | Op::Exists { .. } => {
            file_like && w.path.as_deref() == at
        }
        Op::Ls { .. } | Op::Glob { .. } | Op::Grep { .. } => {
            file_like
                && w.path
                    .as_deref()
                    .zip(at)
                    .is_some_and(|(p, at)| is_under(p, at))
        }
        Op::ReadMemory { .. } => w.surface == Surface::Memory,
        Op::CkGet { .. } | Op::CkGetByLabel { .. } | Op::CkList | Op::CkCount => {
            w.surface == Surface::Checkpoints
        }
        Op::HistGet => w.surface == Surface::History,
        Op::Execute { .. } => file_like,
        _ => false,
    }
}

fn short(e: &SubjectError) -> String {
    let mut s = format!("{}: {e}", e.kind());
    if s.len() > 400 {
        let mut end = 400;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// Adds what `h` exercised to `cov`.
pub fn record(h: &History, cov: &mut Coverage) {
    let seeded: Vec<String> = h.plan.seeds.iter().map(|(p, _)| normalize(p)).collect();
    let mut writes: Vec<Write> = Vec::new();
    // Per user: the step of the last successful reopen, and own saves of
    // memory and checkpoints before it.
    let n = h.plan.users.len();
    let mut saved_before_reopen = vec![false; n];
    let mut saved_now = vec![false; n];
    for e in &h.entries {
        let (b, s) = (e.user, e.step);
        // An edit whose old text is absent is an answer of a working
        // subject, not a failed write (as in the summary's subject errors).
        let edit_missed =
            matches!(e.op, Op::Edit { .. }) && matches!(e.outcome, Err(SubjectError::Failed(_)));
        if edit_missed {
            continue;
        }
        if let Some(surface) = written(&e.op, &seeded) {
            // A file written is what a shell of another user could reach.
            if surface.file_like() {
                let x = cov.surfaces.entry(Surface::Execute).or_default();
                x.write_attempts += 1;
                match &e.outcome {
                    Ok(_) => x.writes += 1,
                    Err(SubjectError::NotFound(_)) => {}
                    Err(err) => {
                        x.first_write_error.get_or_insert_with(|| short(err));
                    }
                }
            }
            let c = cov.surfaces.entry(surface).or_default();
            c.write_attempts += 1;
            match &e.outcome {
                Ok(obs) => {
                    c.writes += 1;
                    let path = match (obs, &e.op) {
                        (Obs::Path(p), _) => Some(normalize(p)),
                        (_, op) => op.path(),
                    };
                    writes.push(Write {
                        user: b,
                        step: s,
                        surface,
                        path,
                    });
                    if matches!(surface, Surface::Memory | Surface::Checkpoints) {
                        saved_now[b] = true;
                        let r = cov.surfaces.entry(Surface::Reopen).or_default();
                        r.write_attempts += 1;
                        r.writes += 1;
                    }
                }
                Err(SubjectError::NotFound(_)) => {}
                Err(err) => {
                    c.failures += 1;
                    c.first_write_error.get_or_insert_with(|| short(err));
                    if matches!(surface, Surface::Memory | Surface::Checkpoints) {
                        let r = cov.surfaces.entry(Surface::Reopen).or_default();
                        r.write_attempts += 1;
                        r.first_write_error.get_or_insert_with(|| short(err));
                    }
                }
            }
            continue;
        }
        if matches!(e.op, Op::Reopen) {
            if e.outcome.is_ok() && saved_now[b] {
                saved_before_reopen[b] = true;
                saved_now[b] = false;
            }
            continue;
        }
        let Some(kind) = observed_kind(&e.op) else {
            continue;
        };
        match &e.outcome {
            // A not-found answer is a definite answer too: it shows another
            // user's write (by its absence) as well as a read would.
            Ok(_) | Err(SubjectError::NotFound(_)) => {
                let at = match &e.op {
                    Op::Read { path }
                    | Op::ReadBytes { path }
                    | Op::Exists { path }
                    | Op::Ls { path }
                    | Op::Glob { path, .. }
                    | Op::Grep { path, .. } => Some(normalize(path)),
                    _ => None,
                };
                let mut seen: Vec<Surface> = writes
                    .iter()
                    .filter(|w| w.user != b && w.step < s && shows(&e.op, at.as_deref(), w))
                    .map(|w| w.surface)
                    .collect();
                if kind == Surface::Execute && !seen.is_empty() {
                    // A command run after another user wrote: what the
                    // shell could reach is what execute-escape judges.
                    seen = vec![Surface::Execute];
                }
                seen.sort();
                seen.dedup();
                for surface in seen {
                    cov.surfaces.entry(surface).or_default().cross += 1;
                }
                if saved_before_reopen[b]
                    && matches!(e.op, Op::ReadMemory { .. } | Op::CkList | Op::CkCount)
                {
                    cov.surfaces.entry(Surface::Reopen).or_default().cross += 1;
                }
            }
            Err(err) => {
                let c = cov.surfaces.entry(kind).or_default();
                c.failures += 1;
                c.first_observation_error.get_or_insert_with(|| short(err));
                if saved_before_reopen[b]
                    && matches!(e.op, Op::ReadMemory { .. } | Op::CkList | Op::CkCount)
                {
                    let r = cov.surfaces.entry(Surface::Reopen).or_default();
                    r.failures += 1;
                    r.first_observation_error.get_or_insert_with(|| short(err));
                }
            }
        }
    }
}
