"""LangGraph / deepagents objects as protocol operations.

- a deepagents backend (`BackendProtocol`: ls, read, write, edit, glob,
  grep literal, download_files, execute on sandbox backends; results carry
  their error) is the file store; memory is an AGENTS.md file on it loaded
  by deepagents' own `MemoryMiddleware`, evicted results are written by its
  own offload function under `/large_tool_results/{tool_call_id}`;
- a checkpointer (`BaseCheckpointSaver`: InMemorySaver, SqliteSaver,
  PostgresSaver) with the app's `config` is the checkpoint store (put,
  get_tuple, list, delete_thread) and, through a minimal compiled graph
  run with that config, the message history.

Imported only when a LangGraph object is in play (langgraph may be absent).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ..mapping import AdapterError

EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

# isocheck's named checkpoints live in the app's thread under their own
# checkpoint namespace (as a subgraph's would), so that the thread's root
# namespace stays the graph's conversation (the message history).
CK_NS = "isocheck"

_NOT_FOUND = re.compile(r"not found|path_not_found|file_not_found|No such file", re.I)


def _kind(msg: str) -> str:
    return "not-found" if _NOT_FOUND.search(msg) else "failed"


def _fail(err: Any) -> None:
    if err:
        raise AdapterError(_kind(str(err)), str(err))


def _then(value: Any, post: Callable[[Any], Any]) -> tuple[Any, Callable[[Any], Any]]:
    return value, post


# -- files: deepagents' BackendProtocol ------------------------------------
def _info(e: Any) -> dict:
    out = {"path": str(e.get("path")), "is_dir": bool(e.get("is_dir", False))}
    if isinstance(e.get("size"), int):
        out["size"] = e["size"]
    return out


def _ls(r: Any) -> list:
    _fail(r.error)
    return [_info(e) for e in r.entries or []]


def _glob(r: Any) -> list:
    _fail(r.error)
    return [_info(e) for e in r.matches or []]


def _grep(r: Any) -> list:
    _fail(r.error)
    return [{"path": str(m["path"]), "line_number": int(m.get("line", 0)), "line": str(m.get("text", ""))}
            for m in r.matches or []]


def _read(r: Any) -> str:
    _fail(r.error)
    fd = r.file_data or {}
    return str(fd.get("content", ""))


def _edit(r: Any) -> int:
    _fail(r.error)
    return int(r.occurrences) if r.occurrences is not None else 1


def _download(rs: Any) -> str:
    r = rs[0]
    if r.error:
        raise AdapterError("not-found" if r.error == "file_not_found" else "failed", f"{r.path}: {r.error}")
    return bytes(r.content or b"").hex()


def _exec(r: Any) -> dict:
    return {"output": str(r.output), "exit_code": r.exit_code, "truncated": bool(r.truncated)}


def _parent(path: str) -> str:
    p = path.rstrip("/")
    i = p.rfind("/")
    return p[:i] or "/"


def can_execute(backend: Any) -> bool:
    from deepagents.backends.protocol import SandboxBackendProtocol

    return isinstance(backend, SandboxBackendProtocol)


def file_ops(b: Any, memory_path: Callable[[str], str], app: Any = None) -> dict:
    """The file operations (isocheck's probes, through `b`) and the feature
    operations (deepagents' own code, on the app's backend `app`)."""
    probe, b = b, (app if app is not None else b)

    def exists(r: dict) -> bool:
        path = r["path"].rstrip("/") or "/"
        if path == "/":
            return True
        ls = probe.ls(_parent(path))
        if ls.error:
            return False
        return any(str(e.get("path", "")).rstrip("/") == path for e in ls.entries or [])

    def execute(r: dict) -> tuple[Any, Any]:
        if not can_execute(b):
            raise AdapterError("unsupported", f"{type(b).__name__} is not a sandbox backend (no execute)")
        import asyncio

        return asyncio.to_thread(b.execute, r["command"], timeout=r.get("timeout")), _exec

    def save_memory(r: dict) -> str:
        # What the agent's write_file tool does to its memory file.
        path = memory_path(r["agent"])
        _fail(b.write(path, r["content"]).error)
        return path

    def read_memory(r: dict) -> str | None:
        # deepagents' own MemoryMiddleware loads the sources it was given.
        from deepagents.middleware.memory import MemoryMiddleware

        mw = MemoryMiddleware(backend=b, sources=[memory_path(r["agent"])])
        upd = mw.before_agent({}, None, {})  # type: ignore[arg-type]
        contents = (upd or {}).get("memory_contents") or {}
        return "\n".join(contents.values()) if contents else None

    def evict(r: dict) -> str:
        from deepagents.middleware._message_eviction import _offload_tool_message_content
        from langchain_core.messages import ToolMessage

        msg = ToolMessage(content=r["content"], tool_call_id=r["call_id"])
        out = _offload_tool_message_content(msg, r["content"], b, "/large_tool_results")
        if out is None:
            # deepagents keeps the original message when the write fails.
            raise AdapterError("failed", "deepagents did not offload the result (the backend refused the write)")
        m = re.search(r"(/large_tool_results/\S+?)[`'\"\s]", str(out.content) + " ")
        return m.group(1) if m else "/large_tool_results/" + r["call_id"]

    return {
        "ls_info": lambda r: _then(probe.ls(r["path"]), _ls),
        "read": lambda r: _then(probe.read(r["path"], int(r["offset"]), int(r["limit"])), _read),
        "read_bytes": lambda r: _then(probe.download_files([r["path"]]), _download),
        "write": lambda r: _then(probe.write(r["path"], r["content"]), lambda v: _fail(v.error)),
        "edit": lambda r: _then(probe.edit(r["path"], r["old"], r["new"], bool(r["replace_all"])), _edit),
        "glob_info": lambda r: _then(probe.glob(r["pattern"], r.get("path") or "/"), _glob),
        "grep_raw": lambda r: _then(probe.grep(r["pattern"], r.get("path"), r.get("glob")), _grep),
        "exists": lambda r: (exists(r), None),
        "execute": execute,
        "save_memory": lambda r: (save_memory(r), None),
        "read_memory": lambda r: (read_memory(r), None),
        "evict": lambda r: (evict(r), None),
    }


# -- checkpoints: BaseCheckpointSaver --------------------------------------
def _iso(stamp: int) -> str:
    return (EPOCH + timedelta(microseconds=int(stamp))).isoformat()


def _stamp(ts: str) -> int:
    d = datetime.fromisoformat(ts)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    d = d - EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def _text(m: Any) -> str:
    c = getattr(m, "content", m)
    return c if isinstance(c, str) else str(c)


class IdMap:
    """isocheck's checkpoint ids and the framework's (uuid6, monotonic, as
    LangGraph makes them), for the whole app. An id a user presents is
    translated wherever it contains an id isocheck knows, so a hostile
    `../alice/<id>` reaches the checkpointer as `../alice/<uuid>`."""

    def __init__(self) -> None:
        self.to_fw: dict[str, str] = {}

    def new(self, ident: str) -> str:
        from langgraph.checkpoint.base.id import uuid6

        if ident not in self.to_fw:
            self.to_fw[ident] = str(uuid6(clock_seq=-2))
        return self.to_fw[ident]

    def presented(self, ident: str) -> str:
        if ident in self.to_fw:
            return self.to_fw[ident]
        for k in sorted(self.to_fw, key=len, reverse=True):
            if k and k in ident:
                ident = ident.replace(k, self.to_fw[k])
        return ident


def thread_of(config: Any) -> str:
    try:
        return str(config["configurable"]["thread_id"])
    except (KeyError, TypeError):
        raise AdapterError("failed", f"the app's config has no configurable.thread_id: {config!r}") from None


def checkpoint_ops(saver: Any, config: dict, ids: IdMap) -> dict:
    thread = thread_of(config)

    def cfg(checkpoint_id: str | None = None) -> dict:
        c = {"thread_id": thread, "checkpoint_ns": CK_NS}
        if checkpoint_id is not None:
            c["checkpoint_id"] = checkpoint_id
        return {"configurable": c}

    def out(t: Any) -> dict | None:
        if t is None:
            return None
        md = t.metadata or {}
        cp = t.checkpoint
        return {"id": str(md.get("isocheck_id", cp["id"])), "label": str(md.get("label", "")),
                "turn": int(md.get("step", 0)),
                "messages": [_text(m) for m in (cp.get("channel_values") or {}).get("messages", [])],
                "created_at": _stamp(cp["ts"])}

    def save(r: dict) -> None:
        from langchain_core.messages import HumanMessage
        from langgraph.checkpoint.base import empty_checkpoint

        c = r["checkpoint"]
        cp = empty_checkpoint()
        cp["id"] = ids.new(str(c["id"]))
        cp["ts"] = _iso(c["created_at"])
        v = saver.get_next_version(None, None)
        cp["channel_values"] = {"messages": [HumanMessage(content=m) for m in c["messages"]]}
        cp["channel_versions"] = {"messages": v}
        meta = {"source": "update", "step": int(c["turn"]), "label": str(c["label"]), "isocheck_id": str(c["id"])}
        saver.put(cfg(), cp, meta, {"messages": v})

    def listed(flt: dict | None = None) -> list:
        return sorted(saver.list(cfg(), filter=flt), key=lambda t: t.checkpoint["ts"])

    def by_label(r: dict) -> dict | None:
        ts = listed({"label": str(r["label"])})
        return out(ts[-1]) if ts else None

    def unsupported(what: str) -> Callable[[dict], Any]:
        def f(r: dict) -> Any:
            raise AdapterError("unsupported", f"{what}: {type(saver).__name__} deletes whole threads only "
                                              "(BaseCheckpointSaver.delete_thread), not one checkpoint")
        return f

    return {
        "ck_save": lambda r: (save(r), None),
        "ck_get": lambda r: (out(saver.get_tuple(cfg(ids.presented(str(r["checkpoint_id"]))))), None),
        "ck_get_by_label": lambda r: (by_label(r), None),
        "ck_list": lambda r: ([out(t) for t in listed()], None),
        "ck_count": lambda r: (len(listed()), None),
        "ck_remove": unsupported("ck_remove"),
        "ck_remove_oldest": unsupported("ck_remove_oldest"),
        "ck_clear": lambda r: (saver.delete_thread(thread), None),
    }


# -- history: a minimal compiled graph on the checkpointer -----------------
def conversation_graph(saver: Any) -> Any:
    """A one-node graph over MessagesState, compiled with the app's
    checkpointer: each run appends the user's message to the thread's
    conversation, as any LangGraph chat graph does."""
    from langgraph.graph import END, START, MessagesState, StateGraph

    g = StateGraph(MessagesState)
    g.add_node("turn", lambda state: {"messages": []})
    g.add_edge(START, "turn")
    g.add_edge("turn", END)
    return g.compile(checkpointer=saver)


def history_ops(graph: Any, config: dict) -> dict:
    def append(r: dict) -> None:
        from langchain_core.messages import HumanMessage

        graph.invoke({"messages": [HumanMessage(content=r["message"])]}, config)

    def get(r: dict) -> list:
        st = graph.get_state(config)
        return [_text(m) for m in (st.values or {}).get("messages", []) if getattr(m, "type", "") == "human"]

    return {"hist_append": lambda r: (append(r), None), "hist_get": lambda r: (get(r), None)}


def _namespace_refusal(fn: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """StoreBackend validates the namespace the app's factory gives it at
    every call (deepagents.backends.store._validate_namespace): a user id
    with a space, a slash or nothing at all is refused there, in the
    framework's own words. That is the app refusing the id, not a failure."""
    def f(r: dict) -> Any:
        try:
            return fn(r)
        except (ValueError, TypeError) as e:
            if str(e).startswith(("Namespace component", "Namespace tuple")):
                raise AdapterError("refused", f"StoreBackend: {e}") from None
            raise
    return f


class LgSession:
    """One user's objects (the app's own) and the operations on them."""

    def __init__(self, backend: Any = None, saver: Any = None, config: dict | None = None,
                 ids: IdMap | None = None, graph: Any = None, memory_path: Callable[[str], str] | None = None,
                 store: Any = None, files: Any = None, features: bool | None = None) -> None:
        self.tenancy_id: str | None = None
        self.backend = backend
        self.files = files if files is not None else (probe_view(backend) if backend is not None else None)
        self.saver = saver
        self.config = config
        self.store = store
        self.memory_path = memory_path or default_memory_path
        if features is None:
            # deepagents' memory and eviction write absolute paths: on a
            # host-paths backend (virtual_mode=False) those are the host's
            # own /memories/ and /large_tool_results/, shared by every user
            # and every app on the machine. Not exercised: the host stays clean.
            features = backend is not None and self.files is backend
        ops: dict = {}
        if backend is not None:
            ops.update({k: _namespace_refusal(f) for k, f in file_ops(self.files, self.memory_path, backend).items()})
            if not features:
                for k in ("save_memory", "read_memory", "evict"):
                    del ops[k]
        if saver is not None and config is not None:
            ops.update(checkpoint_ops(saver, config, ids or IdMap()))
            ops.update(history_ops(graph if graph is not None else conversation_graph(saver), config))
        self.ops = ops
        self.features = features

    def capabilities(self) -> dict:
        files = self.backend is not None
        f = files and self.features
        ck = self.saver is not None
        return {"files": files, "execute": files and can_execute(self.backend), "checkpoints": ck, "history": ck,
                "features": {"memory": f, "plans": False, "eviction": f}}


def default_memory_path(agent: str) -> str:
    """The memory file an agent's MemoryMiddleware is configured with, one
    per agent under `/memories/` (deepagents' documented hybrid setup routes
    `/memories/` to a StoreBackend): `memory=["/memories/main/AGENTS.md"]`."""
    return f"/memories/{agent or 'main'}/AGENTS.md"


class HostPathsView:
    """isocheck's probes on a FilesystemBackend with `virtual_mode=False`.

    That backend takes an absolute path as a host path (`/x` is the host's
    `/x`, whatever the root) and resolves a relative one under its root.
    isocheck names files `/x`: this view sends them as `x`, relative to the
    root, and reports host paths under the root back as `/x`; a host path
    outside the root is reported as it is, so an escape stays visible. Only
    probes go through it, never framework code."""

    def __init__(self, backend: Any) -> None:
        self._b = backend
        self._root = str(backend.cwd).rstrip("/")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)

    def _in(self, path: str | None) -> str:
        p = (path or "/").lstrip("/")
        return p or "."

    def _out(self, path: str) -> str:
        if path == self._root:
            return "/"
        if path.startswith(self._root + "/"):
            return path[len(self._root):]
        return path

    def _fix(self, r: Any, field: str) -> Any:
        items = getattr(r, field, None)
        if items:
            for e in items:
                e["path"] = self._out(str(e.get("path")))
        return r

    def ls(self, path: str) -> Any:
        return self._fix(self._b.ls(self._in(path)), "entries")

    def read(self, path: str, offset: int = 0, limit: int = 2000) -> Any:
        return self._b.read(self._in(path), offset, limit)

    def write(self, path: str, content: str) -> Any:
        return self._b.write(self._in(path), content)

    def edit(self, path: str, old: str, new: str, replace_all: bool = False) -> Any:
        return self._b.edit(self._in(path), old, new, replace_all)

    def glob(self, pattern: str, path: str | None = None) -> Any:
        return self._fix(self._b.glob(pattern, self._in(path)), "matches")

    def grep(self, pattern: str, path: str | None = None, glob: str | None = None) -> Any:
        return self._fix(self._b.grep(pattern, self._in(path), glob), "matches")

    def download_files(self, paths: list) -> Any:
        return self._b.download_files([self._in(p) for p in paths])


def probe_view(backend: Any) -> Any:
    """How isocheck's probes address a backend: FilesystemBackend (and
    LocalShellBackend) with virtual_mode=False through HostPathsView; any
    other backend as it is."""
    if getattr(backend, "virtual_mode", True) is False and hasattr(backend, "cwd"):
        return HostPathsView(backend)
    return backend
