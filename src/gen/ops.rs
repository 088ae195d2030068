//! Abstract operations. Each names *what* to touch (a shared logical path,
//! one of the user's own paths, another user's path) rather than concrete
//! strings, so a failing case shrinks to a readable one.

use proptest::prelude::*;

/// Paths every user writes at the same logical location: the storage paths
/// of pydantic-deep's stateful features plus a plain workspace file.
pub const SHARED_PATHS: [&str; 5] = [
    "/notes.md",
    "/.deep/memory/main/MEMORY.md",
    "/plans/plan.md",
    "/large_tool_results/call_0",
    "/workspace/data.txt",
];

/// Directories listed and searched.
pub const DIRS: [&str; 6] = [
    "/",
    "/files",
    "/plans",
    "/.deep/memory",
    "/large_tool_results",
    "/workspace",
];

/// Glob patterns (with the directory they are taken from).
pub const GLOBS: [(&str, &str); 3] = [("**/*", "/"), ("*", "/files"), ("**/*.md", "/")];

/// Checkpoint labels, the same for every user (pydantic-deep's auto labels).
pub const LABELS: [&str; 3] = ["auto-1", "auto-2", "before-edit"];

/// Agent names for memory: shared across users (`main`), with separators,
/// dots and look-alikes.
pub const AGENTS: [&str; 7] = ["main", "a/b", "a_b", "..", "A", "a", "a.b"];

/// Plan titles that slugify alike, empty, punctuation-only and non-ASCII.
pub const TITLES: [&str; 7] = [
    "Fix bug!",
    "fix-bug",
    "FIX   BUG???",
    "",
    "???",
    "\u{dc}n\u{ef}c\u{f6}d\u{e9} plan",
    "Refactor",
];

/// Tool-call ids: the same in every session (`call_0`), differing only in
/// characters a sanitizer rewrites (`a.b`, `a/b`), crafted to equal another
/// one's sanitized form (`a_b`), empty, and crafted at run time from the
/// subject's real naming ([`ECHO_CALL_ID`]).
pub const CALL_IDS: [&str; 7] = ["call_0", "a.b", "a_b", "a/b", "", "call_1", ECHO_CALL_ID];

/// A tool-call id the driver crafts when the operation runs: the name under
/// which the subject stored an earlier id of the same user that it
/// rewrote (the last part of the path that evict returned; pydantic-deep
/// appends a hash to a rewritten id: `a.b` is stored as `a_b-2e7336dc`).
/// A clean id equal to that name must not land on the same path. Without
/// such a rewritten name yet, the driver uses `a_b`.
pub const ECHO_CALL_ID: &str = "\u{1}echo";

/// Commands run as one user that look for other users' data: relative
/// paths, the parent of the working directory, shared temp dirs, the
/// environment and the process list.
///
/// The file walks skip `proc`, `sys` and `dev` and keep at most 1 MB of
/// output: from a sandbox's `/workspace`, `..` is `/`, and
/// `/proc/<pid>/pagemap` is a "regular file" of size 0 that `cat` turns
/// into gigabytes. pydantic-ai-backends' DockerSandbox reads a command's
/// whole output before it truncates it, so the unbounded walk took the
/// pattern-c adapter to 12.9 GB of memory (the 7 GB process seen in CI).
pub const PROBES: [&str; 6] = [
    "find .. -maxdepth 3 '(' -name proc -o -name sys -o -name dev ')' -prune -o -type f -size -64k -print 2>/dev/null | head -n 200 | xargs cat 2>/dev/null | head -c 1000000",
    "find ../.. -maxdepth 4 '(' -name proc -o -name sys -o -name dev ')' -prune -o -type f -size -64k -print 2>/dev/null | head -n 200 | xargs cat 2>/dev/null | head -c 1000000",
    "ls -R .. 2>/dev/null | head -n 500",
    "cat \"${TMPDIR:-/tmp}\"/icq* 2>/dev/null",
    "env",
    "ps -eo args 2>/dev/null || ps",
];

/// Identifiers every subject hands to a user as the answer of one of its
/// operations, which the identifier-replay family presents as another
/// user: the id of a saved checkpoint, and the path a plan, an evicted
/// result or a memory was saved at. Kinds an app hands out at `open`
/// (`thread_id`, ...) come from the subject ([`OpSpec::PresentAtOpen`]).
pub const REPLAY_KINDS: [&str; 4] = ["checkpoint-id", "plan-path", "evicted-path", "memory-path"];

/// How a path handed to another user is written in a plan until the
/// driver resolves it: `REPLAY_MARK` + kind + `@` + owner index.
pub const REPLAY_MARK: char = '\u{1}';

/// How many private paths each user has.
pub const OWN_PATHS: u8 = 4;

/// A file path, relative to the acting user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathSpec {
    /// `SHARED_PATHS[i]`
    Shared(u8),
    /// the user's own `/files/f_<token>.txt` number `k`
    Own(u8),
    /// another user's own path `k` (offset `d` picks the user)
    Foreign(u8, u8),
    /// the profile's context file `i` (`/DEEP.md`, `/AGENTS.md`)
    Context(u8),
}

/// A checkpoint id, relative to the acting user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CkRef {
    /// the id of the user's `k`-th save (or a fresh id if it made none)
    Own(u8),
    /// another user's `k`-th save
    Foreign(u8, u8),
    /// a hostile id aimed at another user's `k`-th save: `../<user>/<id>`,
    /// `/<id>` or the empty id
    Hostile(u8, u8),
}

/// An abstract operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpSpec {
    Write(PathSpec),
    Edit(PathSpec),
    Read(PathSpec),
    ReadBytes(PathSpec),
    Exists(PathSpec),
    Ls(u8),
    Glob(u8),
    Grep(u8),
    CkSave(u8),
    CkGet(CkRef),
    CkGetByLabel(u8),
    CkList,
    CkRemove(CkRef),
    CkRemoveOldest,
    CkCount,
    CkClear,
    HistAppend,
    HistGet,
    SaveMemory(u8),
    ReadMemory(u8),
    SavePlan(u8),
    Evict(u8),
    Reopen,
    /// run `PROBES[i]`
    Probe(u8),
    /// write a canary into the shared temp dir through `execute`
    ExecWrite,
    /// present the identifier of kind `REPLAY_KINDS[kind]` last handed to
    /// another user (offset `d`) to an operation that takes one (`via`
    /// picks it: checkpoint get/remove; read, read_bytes, exists)
    Replay(u8, u8, u8),
    /// reopen the session presenting the identifier of the subject's kind
    /// `k` (see [`crate::subject::SubjectFactory::identifiers`]) that the
    /// app handed to another user (offset `d`)
    PresentAtOpen(u8, u8),
    /// run step `i` of the sandbox-hardening probes ([`super::hardening::STEPS`])
    Harden(u8),
}

fn path_spec() -> impl Strategy<Value = PathSpec> {
    prop_oneof![
        (0..SHARED_PATHS.len() as u8).prop_map(PathSpec::Shared),
        (0..OWN_PATHS).prop_map(PathSpec::Own),
        (any::<u8>(), 0..OWN_PATHS).prop_map(|(d, k)| PathSpec::Foreign(d, k)),
    ]
}

fn ck_ref() -> impl Strategy<Value = CkRef> {
    prop_oneof![
        (0..4u8).prop_map(CkRef::Own),
        (any::<u8>(), 0..4u8).prop_map(|(d, k)| CkRef::Foreign(d, k)),
        (any::<u8>(), 0..4u8).prop_map(|(d, k)| CkRef::Hostile(d, k)),
    ]
}

pub(crate) fn idx(n: usize) -> impl Strategy<Value = u8> {
    0..n as u8
}

/// Memory saves and reads over look-alike agent names.
pub fn memory_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        3 => idx(AGENTS.len()).prop_map(OpSpec::SaveMemory),
        2 => idx(AGENTS.len()).prop_map(OpSpec::ReadMemory),
        1 => (0..DIRS.len() as u8).prop_map(OpSpec::Grep),
    ]
    .boxed()
}

/// Plan saves with colliding titles, and listings.
pub fn plan_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        5 => idx(TITLES.len()).prop_map(OpSpec::SavePlan),
        1 => Just(OpSpec::Glob(2)),
        1 => Just(OpSpec::Grep(2)),
    ]
    .boxed()
}

/// Evictions over adversarial call ids, across sessions.
pub fn eviction_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        5 => idx(CALL_IDS.len()).prop_map(OpSpec::Evict),
        1 => Just(OpSpec::Reopen),
        1 => Just(OpSpec::Ls(4)),
    ]
    .boxed()
}

/// Reads and writes of the shared context files.
pub fn context_ops() -> BoxedStrategy<OpSpec> {
    let ctx = (0..2u8).prop_map(PathSpec::Context);
    prop_oneof![
        3 => ctx.clone().prop_map(OpSpec::Read),
        2 => ctx.clone().prop_map(OpSpec::Write),
        1 => ctx.prop_map(OpSpec::Edit),
        1 => Just(OpSpec::Ls(0)),
    ]
    .boxed()
}

/// Saves, reopens and reads of memory and checkpoints.
pub fn persistence_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        3 => idx(3).prop_map(OpSpec::SaveMemory),
        2 => idx(3).prop_map(OpSpec::CkSave),
        3 => Just(OpSpec::Reopen),
        2 => idx(3).prop_map(OpSpec::ReadMemory),
        1 => Just(OpSpec::CkList),
    ]
    .boxed()
}

/// Canary files and shell probes.
pub fn execute_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        3 => (0..OWN_PATHS).prop_map(|k| OpSpec::Write(PathSpec::Own(k))),
        1 => (0..SHARED_PATHS.len() as u8).prop_map(|i| OpSpec::Write(PathSpec::Shared(i))),
        1 => Just(OpSpec::ExecWrite),
        2 => idx(PROBES.len()).prop_map(OpSpec::Probe),
    ]
    .boxed()
}

/// Everything the store families do, for the hostile-user-ids family.
pub fn all_store_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![3 => file_ops(), 1 => checkpoint_ops(), 1 => history_ops(), 1 => memory_ops()]
        .boxed()
}

/// File operations (writes weighted up so there is something to observe).
pub fn file_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        4 => path_spec().prop_map(OpSpec::Write),
        1 => path_spec().prop_map(OpSpec::Edit),
        2 => path_spec().prop_map(OpSpec::Read),
        1 => path_spec().prop_map(OpSpec::ReadBytes),
        1 => path_spec().prop_map(OpSpec::Exists),
        1 => (0..DIRS.len() as u8).prop_map(OpSpec::Ls),
        1 => (0..GLOBS.len() as u8).prop_map(OpSpec::Glob),
        1 => (0..DIRS.len() as u8).prop_map(OpSpec::Grep),
    ]
    .boxed()
}

/// Checkpoint-store operations.
pub fn checkpoint_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![
        4 => (0..LABELS.len() as u8).prop_map(OpSpec::CkSave),
        1 => ck_ref().prop_map(OpSpec::CkGet),
        1 => (0..LABELS.len() as u8).prop_map(OpSpec::CkGetByLabel),
        1 => Just(OpSpec::CkList),
        1 => ck_ref().prop_map(OpSpec::CkRemove),
        1 => Just(OpSpec::CkRemoveOldest),
        1 => Just(OpSpec::CkCount),
        1 => Just(OpSpec::CkClear),
    ]
    .boxed()
}

/// Message-history operations.
pub fn history_ops() -> BoxedStrategy<OpSpec> {
    prop_oneof![3 => Just(OpSpec::HistAppend), 1 => Just(OpSpec::HistGet)].boxed()
}
