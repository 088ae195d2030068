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
}

/// A checkpoint id, relative to the acting user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CkRef {
    /// the id of the user's `k`-th save (or a fresh id if it made none)
    Own(u8),
    /// another user's `k`-th save
    Foreign(u8, u8),
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
    ]
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
