"""Maps an app's per-user objects (a backend, a checkpoint store, a message
history, the framework's feature code) to protocol operations.

Standard library only: pydantic-ai-backends / pydantic-deep objects are
handled by duck typing; pydantic-deep itself is imported only when a
checkpoint or a feature operation needs it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import posixpath
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Callable

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

# pydantic-ai-backends reports errors as strings: "Error: File '/x' not found".
_NOT_FOUND = re.compile(r"^(Error: )?(File|Directory|Path) .* not found|No such file", re.I)


class AdapterError(Exception):
    """An answer of a working subject: kind is not-found|refused|unsupported|failed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _error_kind(msg: str) -> str:
    return "not-found" if _NOT_FOUND.search(msg) else "failed"


def _then(value: Any, post: Callable[[Any], Any]) -> tuple[Any, Callable[[Any], Any]]:
    return value, post


def _file_info(e: Any) -> dict:
    if type(e) is dict:  # pydantic-ai-backends' FileInfo (a TypedDict): the common case
        path, is_dir, size = e.get("path"), e.get("is_dir", False), e.get("size")
    else:
        path, is_dir, size = getattr(e, "path", None), getattr(e, "is_dir", False), getattr(e, "size", None)
    out = {"path": path if type(path) is str else str(path), "is_dir": is_dir is True or bool(is_dir)}
    if isinstance(size, int):
        out["size"] = size
    return out


def _entries(v: Any) -> list:
    if isinstance(v, str):
        raise AdapterError(_error_kind(v), v)
    return [_file_info(e) for e in v]


def _read(v: Any) -> str:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, str) and v.startswith("Error:"):
        raise AdapterError(_error_kind(v), v)
    return v


def _result_error(v: Any) -> None:
    err = getattr(v, "error", None) if not isinstance(v, dict) else v.get("error")
    if err:
        raise AdapterError(_error_kind(str(err)), str(err))


def _edited(v: Any) -> int:
    _result_error(v)
    n = getattr(v, "occurrences", None) if not isinstance(v, dict) else v.get("occurrences")
    return int(n) if n is not None else 1


def _grep(v: Any) -> list:
    if isinstance(v, str):
        raise AdapterError(_error_kind(v), v)
    out = []
    for m in v:
        get = m.get if isinstance(m, dict) else (lambda k, d=None, m=m: getattr(m, k, d))
        out.append({"path": str(get("path")), "line_number": int(get("line_number", 0)), "line": str(get("line", ""))})
    return out


def _exec(v: Any) -> dict:
    get = v.get if isinstance(v, dict) else (lambda k, d=None: getattr(v, k, d))
    return {"output": str(get("output", "")), "exit_code": get("exit_code"), "truncated": bool(get("truncated", False))}


# -- checkpoints -----------------------------------------------------------
def to_checkpoint(c: dict) -> Any:
    """The protocol's checkpoint as pydantic-deep's Checkpoint (messages as user prompts)."""
    created = EPOCH + timedelta(microseconds=int(c["created_at"]))
    try:
        from pydantic_ai.messages import ModelRequest, UserPromptPart
        from pydantic_deep import Checkpoint
    except ImportError:  # a store of the app's own, without pydantic-deep
        return SimpleNamespace(id=c["id"], label=c["label"], turn=c["turn"], messages=list(c["messages"]),
                               message_count=len(c["messages"]), created_at=created, metadata={})
    msgs = [ModelRequest(parts=[UserPromptPart(content=m)]) for m in c["messages"]]
    return Checkpoint(id=c["id"], label=c["label"], turn=int(c["turn"]), messages=msgs,
                      message_count=len(msgs), created_at=created, metadata={})


def _message_text(m: Any) -> str:
    if isinstance(m, str):
        return m
    parts = getattr(m, "parts", None)
    if parts:
        texts = [p.content for p in parts if isinstance(getattr(p, "content", None), str)]
        if texts:
            return "\n".join(texts)
    return str(m)


def from_checkpoint(cp: Any) -> dict | None:
    if cp is None:
        return None
    get = cp.get if isinstance(cp, dict) else (lambda k, d=None: getattr(cp, k, d))
    created = get("created_at")
    if isinstance(created, datetime):
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        d = created - EPOCH
        stamp = (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    else:
        stamp = int(created or 0)
    return {"id": str(get("id")), "label": str(get("label")), "turn": int(get("turn", 0)),
            "messages": [_message_text(m) for m in get("messages", []) or []], "created_at": stamp}


# -- sessions --------------------------------------------------------------
class Session:
    """One user's objects, and the protocol operations on them.

    `backend`, `checkpoints`, `history` and `deps` are the app's own objects:
    the framework's code (memory, plans, eviction, the agent) gets exactly
    these. `files` is how isocheck's own file probes address the backend:
    the backend itself, or a path-translating view of it (`probe_view`),
    which is never handed to framework code.
    """

    def __init__(self, backend: Any, checkpoints: Any = None, history: Any = None, deps: Any = None,
                 files: Any = None) -> None:
        self.tenancy_id: str | None = None
        self.backend = backend
        self.files = files if files is not None else probe_view(backend)
        self.checkpoints = checkpoints
        self.history = history
        self._deps = deps
        b, ck = self.files, checkpoints
        ops: dict[str, Callable[[dict], tuple[Any, Any]]] = {
            "ls_info": lambda r: _then(b.ls_info(r["path"]), _entries),
            "read": lambda r: _then(b.read(r["path"], int(r["offset"]), int(r["limit"])), _read),
            "read_bytes": lambda r: _then(b.read_bytes(r["path"]), lambda v: bytes(v).hex()),
            "write": lambda r: _then(b.write(r["path"], r["content"]), lambda v: _result_error(v)),
            "edit": lambda r: _then(b.edit(r["path"], r["old"], r["new"], bool(r["replace_all"])), _edited),
            "glob_info": lambda r: _then(b.glob_info(r["pattern"], r["path"]), _entries),
            "grep_raw": lambda r: _then(b.grep_raw(r["pattern"], r.get("path"), r.get("glob")), _grep),
            "exists": lambda r: _then(b.exists(r["path"]), bool),
            "execute": self._execute,
            "save_memory": lambda r: (self._save_memory(r["agent"], r["content"]), None),
            "read_memory": lambda r: (self._read_memory(r["agent"]), None),
            "save_plan": lambda r: (self._save_plan(r["title"], r["content"]), None),
            "evict": lambda r: (self._evict(r["call_id"], r["content"]), None),
        }
        if ck is not None:
            ops.update({
                "ck_save": lambda r: _then(ck.save(to_checkpoint(r["checkpoint"])), lambda v: None),
                "ck_get": lambda r: _then(ck.get(r["checkpoint_id"]), from_checkpoint),
                "ck_get_by_label": lambda r: _then(ck.get_by_label(r["label"]), from_checkpoint),
                "ck_list": lambda r: _then(ck.list_all(), lambda v: [from_checkpoint(c) for c in v]),
                "ck_remove": lambda r: _then(ck.remove(r["checkpoint_id"]), bool),
                "ck_remove_oldest": lambda r: _then(ck.remove_oldest(), bool),
                "ck_count": lambda r: _then(ck.count(), int),
                "ck_clear": lambda r: _then(ck.clear(), lambda v: None),
            })
        if history is not None:
            ops.update({
                "hist_append": lambda r: _then(history.append(r["message"]), lambda v: None),
                "hist_get": lambda r: _then(history.get() if hasattr(history, "get") else list(history), list),
            })
        self.ops = ops

    def _execute(self, r: dict) -> tuple[Any, Any]:
        fn = getattr(self.backend, "execute", None)
        if fn is None:
            raise AdapterError("unsupported", "the backend has no execute")
        if inspect.iscoroutinefunction(fn):
            return fn(r["command"], r.get("timeout")), _exec
        # Sandboxed commands block: run them off the loop.
        return asyncio.to_thread(fn, r["command"], r.get("timeout")), _exec

    # -- feature operations through pydantic-deep's own code -----------------
    def _ctx(self) -> Any:
        """A RunContext stand-in: the tools only use ctx.deps.backend. The
        deps are the app's own when its factory returned them; otherwise
        what the app builds from its objects, `DeepAgentDeps(backend=...,
        checkpoint_store=...)`."""
        if self._deps is None:
            from pydantic_deep import DeepAgentDeps

            kw = {"backend": self.backend}
            if self.checkpoints is not None:
                kw["checkpoint_store"] = self.checkpoints
            self._deps = DeepAgentDeps(**kw)
        return SimpleNamespace(deps=self._deps)

    def _outward(self, path: str) -> str:
        """A path the framework wrote, as isocheck's probes address it."""
        out = getattr(self.files, "outward", None)
        return out(path) if callable(out) else path

    async def _save_memory(self, agent: str, content: str) -> str:
        from pydantic_deep.features.memory.toolset import AgentMemoryToolset

        ts = AgentMemoryToolset(agent_name=agent)
        out = await ts.tools["write_memory"].function(self._ctx(), content)
        if str(out).startswith("Error"):
            # The framework's own refusal (a LocalBackend refuses the
            # absolute memory path): the memory is not kept.
            raise AdapterError(_error_kind(str(out)), str(out))
        return self._outward(ts._path)

    async def _read_memory(self, agent: str) -> str | None:
        from pydantic_deep.features.memory.toolset import AgentMemoryToolset

        ts = AgentMemoryToolset(agent_name=agent)
        out = str(await ts.tools["read_memory"].function(self._ctx()))
        if out == "No memory saved yet.":
            return None
        if out.startswith("Error"):
            raise AdapterError(_error_kind(out), out)
        return out

    async def _save_plan(self, title: str, content: str) -> str:
        from pydantic_deep.features.plan.toolset import create_plan_toolset

        out = str(await create_plan_toolset().tools["save_plan"].function(self._ctx(), title, content))
        m = re.search(r"Plan saved to `([^`]+)`", out)
        if not m:
            raise AdapterError(_error_kind(out), out)
        return self._outward(m.group(1))

    async def _evict(self, call_id: str, content: str) -> str:
        from pydantic_ai.messages import ToolCallPart
        from pydantic_deep import EvictionCapability
        from pydantic_deep.features.eviction.capability import _sanitize_id

        cap = EvictionCapability(token_limit=1)
        call = ToolCallPart(tool_name="read_file", args={}, tool_call_id=call_id)
        with FrameworkLog("pydantic_deep.features.eviction") as log:
            replaced = await cap._maybe_evict_text(self._ctx(), call=call, value=content)
        path = f"{cap.eviction_path}/{_sanitize_id(call_id)}"
        if replaced is None or path not in replaced:
            # pydantic-deep falls back to a truncated preview when the write
            # fails: the result is lost, and its log says why.
            why = log.text() or (f"the framework returned: {str(replaced)[:200]!r}" if replaced else "")
            raise AdapterError("failed", f"the eviction did not write {path}" + (f": {why}" if why else ""))
        return self._outward(path)


def record_debris(kind: str, ident: str) -> None:
    """Notes a resource outside the process that the app created for a
    user (a container, say) in the file isocheck names in
    $ISOCHECK_DEBRIS_FILE, one `kind id` a line: if the adapter is killed
    before it can release it, isocheck removes it."""
    path = os.environ.get("ISOCHECK_DEBRIS_FILE")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{kind} {ident}\n")


class FrameworkLog:
    """Collects what a framework logger says during a call (its silent
    fallbacks log their reason): the evidence of a refusal."""

    def __init__(self, name: str) -> None:
        import logging

        self._logger = logging.getLogger(name)
        self._records: list[str] = []
        outer = self

        class _H(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.levelno >= logging.WARNING:
                    outer._records.append(record.getMessage())

        self._handler = _H()

    def __enter__(self) -> "FrameworkLog":
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._logger.removeHandler(self._handler)

    def text(self) -> str:
        return "; ".join(self._records)[:400]


class ListHistory:
    """A message history kept as a plain list (what most apps do)."""

    def __init__(self, items: list | None = None) -> None:
        self.items = items if items is not None else []

    def append(self, message: str) -> None:
        self.items.append(message)

    def get(self) -> list:
        return list(self.items)


def as_history(h: Any) -> Any:
    if h is None:
        return None
    if isinstance(h, list):
        return ListHistory(h)
    return h


class Subject:
    """What a ready or user factory provides to the server."""

    def capabilities(self) -> dict:
        raise NotImplementedError

    def new_tenancy(self, tid: str) -> Any:
        return SimpleNamespace(id=tid)

    def close_tenancy(self, tenancy: Any) -> Any:
        return None

    def open(self, tenancy: Any, user: str) -> Any:
        raise NotImplementedError

    def seed_context(self, tenancy: Any, path: str, content: str) -> Any:
        """A context file shared by design, for every session the tenancy
        opens (declared by features.context)."""
        raise AdapterError("unsupported", "seed_context: this subject does not declare features.context")


class ContextSeeds:
    """Context files the way a pydantic-deep app provides them: the
    framework reads `context_files=[...]` (or discovers AGENTS.md and the
    like) from the run's own backend, `ctx.deps.backend`
    (pydantic_deep/features/context/toolset.py), so the app places each
    shared file into a user's backend when it opens the session. A file the
    backend already holds (the user's own copy, say after an edit) is kept."""

    def seed(self, tenancy: Any, path: str, content: str) -> None:
        seeds = getattr(tenancy, "context_seeds", None)
        if seeds is None:
            seeds = tenancy.context_seeds = []
        seeds.append((path, content))

    def apply(self, tenancy: Any, session: Session) -> Session:
        b = session.files
        for path, content in getattr(tenancy, "context_seeds", ()):
            if not b.exists(path):
                _result_error(b.write(path, content))
        return session

    async def apply_async(self, tenancy: Any, session: Session) -> Session:
        b = session.files
        for path, content in getattr(tenancy, "context_seeds", ()):
            there = b.exists(path)
            if inspect.isawaitable(there):
                there = await there
            if not there:
                r = b.write(path, content)
                _result_error(await r if inspect.isawaitable(r) else r)
        return session


def probe_view(backend: Any) -> Any:
    """How isocheck's own probes address an app's backend: isocheck names
    files `/x`, as agents on a StateBackend do. A LocalBackend (or anything
    wrapping one) is probed with its root as `/` (`RootedBackend`), a
    DockerSandbox with its working directory as `/` (`WorkspaceView`).
    Only probes go through the view: what framework code writes at a path
    the real backend refuses stays refused."""
    raw = getattr(backend, "unwrap", None)
    raw = raw() if callable(raw) else backend
    name = type(raw).__name__
    if name == "LocalBackend":
        return RootedBackend(backend)
    if name == "DockerSandbox":
        return WorkspaceView(backend)
    return backend


class RootedBackend:
    """Presents a LocalBackend's root as `/`.

    LocalBackend treats an absolute path as a host path (and denies one
    outside its root), while agents and isocheck address files as `/x`.
    This view turns `/x` into `x` (relative to the root) and reports host
    paths under the root back as `/x`; a host path outside the root is
    reported as it is, so an escape stays visible.
    """

    def __init__(self, backend: Any) -> None:
        self._b = backend
        # DeepAgentDeps wraps a sync backend in an async adapter: the root
        # is the wrapped backend's.
        raw = getattr(backend, "unwrap", None)
        raw = raw() if callable(raw) else backend
        root = getattr(raw, "_root", None) or getattr(raw, "root_dir", None)
        self._root = str(root).rstrip("/") if root is not None else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)

    def _in(self, path: str | None) -> str | None:
        if path is None:
            return None
        p = path.lstrip("/")
        return p or "."

    def outward(self, path: str) -> str:
        """A path the framework wrote on the real backend, as probes name it."""
        return self._out(path)

    def _out(self, path: Any) -> Any:
        if not isinstance(path, str) or self._root is None:
            return path
        if path == self._root:
            return "/"
        if path.startswith(self._root + "/"):
            return path[len(self._root):]
        return path

    def _fix(self, entries: Any) -> Any:
        if inspect.isawaitable(entries):
            # An async backend (DeepAgentDeps' adapter): fix the result.
            async def fixed() -> Any:
                return self._fix(await entries)

            return fixed()
        if isinstance(entries, str):
            return entries
        out = []
        for e in entries:
            e = dict(e)
            e["path"] = self._out(e.get("path"))
            out.append(e)
        return out

    def ls_info(self, path: str) -> Any:
        return self._fix(self._b.ls_info(self._in(path)))

    def read(self, path: str, offset: int = 0, limit: int = 2000) -> Any:
        return self._b.read(self._in(path), offset, limit)

    def read_bytes(self, path: str) -> Any:
        return self._b.read_bytes(self._in(path))

    def write(self, path: str, content: Any) -> Any:
        return self._b.write(self._in(path), content)

    def edit(self, path: str, old_string: str, new_string: str, replace_all: bool = False) -> Any:
        return self._b.edit(self._in(path), old_string, new_string, replace_all)

    def glob_info(self, pattern: str, path: str = "/") -> Any:
        return self._fix(self._b.glob_info(pattern, self._in(path)))

    def grep_raw(self, pattern: str, path: str | None = None, glob: str | None = None, ignore_hidden: bool = True) -> Any:
        return self._fix(self._b.grep_raw(pattern, self._in(path), glob, ignore_hidden))

    def exists(self, path: str) -> bool:
        return self._b.exists(self._in(path))

    def execute(self, command: str, timeout: int | None = None) -> Any:
        return self._b.execute(command, timeout)


class WorkspaceView(RootedBackend):
    """Presents a DockerSandbox's working directory (`/workspace`, where
    SessionManager mounts the session's persistent storage) as `/`.

    DockerSandbox reads an absolute path as a path of the container's whole
    filesystem, but maps `/` to its working directory for glob, and a grep
    of `/` walks the entire container (/proc, /sys, the image). Agents and
    isocheck address their files as `/x`: this view turns `/x` into
    `/workspace/x` and reports paths under it back as `/x`.
    """

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox)
        self._root = str(getattr(sandbox, "_work_dir", "/workspace")).rstrip("/") or "/workspace"

    # Paths the framework wrote outside the working directory (pydantic-
    # deep's absolute `/.deep/memory/...` land in the container's own
    # filesystem): probes of those names, by any user, reach them where they
    # are, in that user's own container.
    _outside: set[str] = set()

    def outward(self, path: str) -> str:
        p = posixpath.normpath(path) if path.startswith("/") else path
        if p != self._root and not p.startswith(self._root + "/") and p.startswith("/"):
            self._outside.add(p)
            return p
        return self._out(p)

    def _in(self, path: str | None) -> str | None:
        if path is not None and path.startswith("/"):
            n = posixpath.normpath(path)
            if n in self._outside:
                return n
        p = (path or "/").lstrip("/")
        return f"{self._root}/{p}" if p else self._root

