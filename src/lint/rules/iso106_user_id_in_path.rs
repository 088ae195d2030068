//! ISO106: a request-controlled value in a filesystem path.

use crate::lint::diagnostic::Finding;
use crate::lint::program::Ctx;
use crate::lint::taint;

declare_rule! {
    /// # ISO106 user-id-in-path
    ///
    /// Checklist item: C1 (a separate backend per user, that stays separate).
    ///
    /// ## What it does
    /// Follows request-controlled values (parameters of route, websocket and bot
    /// handlers: path, query and body fields, websocket query params, the message
    /// sender, but not `request.app`, the application and its state; parameters of
    /// functions that run an agent with per-request deps) through assignments,
    /// f-strings, `+`, `%`, `.format`, `os.path.join`, `Path` and its `/` operator,
    /// path getters of objects it cannot resolve (`settings.get_tenant_dir(t)`: a
    /// method named `*_dir`, `*_path`, `*_file`, `*_folder`, `*_root`), same-file
    /// helpers, and helpers in other modules of the
    /// program (through their summaries; reported at the argument, with the flow
    /// down to the sink in SARIF `codeFlows` and JSON `flow`), into a filesystem path:
    /// `root_dir=`, `workspace_root=`, `FileCheckpointStore(...)`, `LocalWorkspace(...)`,
    /// `SessionManager.get_or_create(id)` on a manager with a `workspace_root` (it
    /// builds and mounts `workspace_root/<id>/workspace`), checkpoint database file
    /// names (`SqliteSaver.from_conn_string`, `sqlite3.connect`), `open`,
    /// `shutil.rmtree`, `os.remove`, `os.makedirs`, `Path(...)`, pathlib methods on a
    /// tainted path (`(BASE / user_id).write_text(...)`), `aiofiles.open`. A pure
    /// path (`PurePosixPath(area_id) / name`, an object-storage key) opens nothing
    /// and is no sink; a file operation on it later still is.
    ///
    /// A value is cleared by validation before use: a regex `fullmatch` (or a
    /// `match` anchored with `$`) whose failure returns or raises, `uuid.UUID(...)`,
    /// a hash digest, `int(...)`, a parameter typed `int` or `UUID`, or an explicit
    /// check that rejects both separators and dots (`if "/" in x or ".." in x: raise`),
    /// an allow-list (`if suffix not in ALLOWED: raise`), `secure_filename`, a `uuid4()`
    /// name, or `os.path.realpath` followed by a `startswith(BASE + os.sep)` check
    /// (also `is_relative_to`, and either inside `any(... for base in bases)`;
    /// also `if base not in p.parents: raise` on a resolved `p`, optionally with
    /// `and p != base`).
    /// A value reduced to one component (`Path(x).name`, `re.sub(r"[^\w.-]", "", x)`:
    /// no separator, but maybe `..`) is cleared by a later check against dots
    /// (`if name in (".", ".."): raise`) or by stripping them (`.strip(".")`); a
    /// `re.sub` whose class keeps no dot either clears it at once. A helper, in
    /// this module or another, whose return value no longer carries a parameter's
    /// taint (it sanitises so) clears that argument at every call, also as
    /// `self._sanitize(...)`; stripping whitespace sanitises nothing. A path
    /// built into a name that is checked to stay under its base later in the
    /// function is judged at the file operations, not where it is built.
    ///
    /// ## Why is this bad
    /// A user id is not a safe path segment. A framework path parameter cannot hold
    /// `/` but it can be `..`, and query or body fields can hold anything:
    /// `user_id=".."` roots the backend in the parent of every user's directory,
    /// `"../alice"` in another user's. The agent then reads and writes that user's
    /// files, memory and checkpoints.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/chat/{user_id}")
    /// async def chat(user_id: str, message: str):
    ///     backend = LocalBackend(root_dir=f"/workspaces/{user_id}")
    /// ```
    ///
    /// ## Fix
    /// Validate the id (or derive the directory from a hash or UUID of it):
    /// ```python
    /// USER_ID = re.compile(r"[a-z0-9_-]{1,64}")
    ///
    /// @app.post("/chat/{user_id}")
    /// async def chat(user_id: str, message: str):
    ///     if not USER_ID.fullmatch(user_id):
    ///         raise HTTPException(400)
    ///     backend = LocalBackend(root_dir=f"/workspaces/{user_id}")
    /// ```
    pub const RULE = ("ISO106", "user-id-in-path", "C1", Critical, "A request-controlled value flows into a filesystem path without validation");
}

pub fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    if !ctx.model().has_entry {
        return;
    }
    for hit in taint::analyze(ctx) {
        out.push(
            Finding::new(
                &RULE,
                hit.range,
                format!(
                    "request-controlled value flows into {} without validation: `..` or `../<other user>` escapes the user's directory",
                    hit.sink
                ),
            )
            .with_flow(hit.flow),
        );
    }
}
