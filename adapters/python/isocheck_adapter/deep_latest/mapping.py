"""Maps what a 0.3.50 app uses per user (a pydantic-ai workspace, the
harness Memory capability, a checkpoint store, a history) to protocol
operations.

isocheck's own file probes go through pydantic-ai-backends' `WorkspaceOps`
(the translation its console tools use: numbered reads, string edits,
glob, grep, execute) on the app's workspace, with isocheck's `/x` names
read relative to the workspace's working directory (`WorkspaceProbe`).
Framework code (the Memory capability's store and namespace, the plan
tool, eviction) gets the app's own workspace and deps, unchanged.
"""

from __future__ import annotations

import copy
import posixpath
from types import SimpleNamespace
from typing import Any

from ..mapping import AdapterError, Session, _error_kind

MAIN_FILE = "MEMORY.md"


def as_workspace(obj: Any, ctx: Any = None) -> Any:
    """The `Workspace` a run gets from what the app provides: a Workspace
    (kept as it is), a bare backend (wrapped as pydantic-ai wraps it), or a
    workspace capability (`LocalWorkspace`, `DockerWorkspace`, ...), asked
    for a new workspace as a run without a ref asks it."""
    from pydantic_ai.workspaces import Workspace

    if isinstance(obj, Workspace):
        return obj
    get = getattr(obj, "get_workspace", None)
    if callable(get):
        backend = get(ctx if ctx is not None else SimpleNamespace(deps=None), ref=None)
        if backend is None:
            raise AdapterError("failed", f"{type(obj).__name__}.get_workspace returned no workspace")
        return backend if isinstance(backend, Workspace) else Workspace(backend)
    if callable(getattr(obj, "working_dir", None)):
        return Workspace(obj)
    raise AdapterError("failed", f"{type(obj).__name__} is not a pydantic-ai workspace or workspace capability")


def is_workspace_like(obj: Any) -> bool:
    return callable(getattr(obj, "get_workspace", None)) or (
        callable(getattr(obj, "working_dir", None)) and callable(getattr(obj, "exists", None)))


class WorkspaceProbe:
    """How isocheck's probes address a workspace: `/x` is `x` under the
    working directory (an agent's relative path), and paths the workspace
    reports under it come back as `/x`. A path outside it is reported as
    it is, so an escape stays visible. Only probes go through this view."""

    def __init__(self, ops: Any, root: str) -> None:
        self._ops = ops
        self._root = root.rstrip("/") or "/"

    def _in(self, path: str | None) -> str | None:
        if path is None or self._root == "/":
            return path
        p = path.lstrip("/")
        return p or "."

    def _out(self, path: Any) -> Any:
        if not isinstance(path, str):
            return path
        if self._root == "/":
            return path if path.startswith("/") else "/" + posixpath.normpath(path)
        if not path.startswith("/"):
            n = posixpath.normpath(path)
            return "/" if n == "." else "/" + n
        if path == self._root:
            return "/"
        if path.startswith(self._root + "/"):
            return path[len(self._root):]
        return path

    def outward(self, path: str) -> str:
        return self._out(path)

    def _fix(self, entries: Any) -> Any:
        if isinstance(entries, str):
            return entries
        out = []
        for e in entries:
            e = dict(e)
            e["path"] = self._out(e.get("path"))
            out.append(e)
        return out

    async def ls_info(self, path: str) -> Any:
        return self._fix(await self._ops.ls_info(self._in(path)))

    async def read(self, path: str, offset: int = 0, limit: int = 2000) -> Any:
        return await self._ops.read(self._in(path), offset, limit)

    async def read_bytes(self, path: str) -> Any:
        return await self._ops.read_bytes(self._in(path))

    async def write(self, path: str, content: Any) -> Any:
        return await self._ops.write(self._in(path), content)

    async def edit(self, path: str, old: str, new: str, replace_all: bool = False) -> Any:
        return await self._ops.edit(self._in(path), old, new, replace_all)

    async def glob_info(self, pattern: str, path: str = "/") -> Any:
        return self._fix(await self._ops.glob_info(pattern, self._in(path)))

    async def grep_raw(self, pattern: str, path: str | None = None, glob: str | None = None,
                       ignore_hidden: bool = True) -> Any:
        return self._fix(await self._ops.grep_raw(pattern, self._in(path), glob, ignore_hidden))

    async def exists(self, path: str) -> bool:
        return await self._ops.exists(self._in(path))

    async def execute(self, command: str, timeout: int | None = None) -> Any:
        return await self._ops.execute(command, timeout)


def default_memory() -> Any:
    """What `create_deep_agent(include_memory=True)` gives the main agent:
    the harness Memory over `FileStore('.deep/memory')` in the run's workspace."""
    from pydantic_deep.features.memory.store import build_memory_capability

    m = build_memory_capability(agent_name="main")
    m._isocheck_default = True  # create_deep_agent wires this one itself
    return m


def memory_for(memory: Any, agent: str) -> Any:
    """The app's Memory capability as agent `agent` remembers with it: the
    same store and namespace under the agent's own (sanitized) segment, as
    pydantic-deep wires a subagent's memory."""
    from pydantic_deep.features.memory.store import sanitize_agent_name

    if agent == getattr(memory, "agent_name", "main"):
        return memory
    m = copy.copy(memory)
    m.agent_name = sanitize_agent_name(agent)
    return m


class WorkspaceSession(Session):
    """One user's objects in the workspace generation."""

    def __init__(self, workspace: Any, checkpoints: Any = None, history: Any = None, deps: Any = None,
                 memory: Any = None, root: str = "/", provider: Any = None) -> None:
        from pydantic_ai_backends.toolsets._workspace import WorkspaceOps

        ops = WorkspaceOps(workspace)
        self.workspace = workspace
        self.provider = provider
        self.memory = memory if memory is not None else default_memory()
        super().__init__(ops, checkpoints, history, deps=deps, files=WorkspaceProbe(ops, root))

    def _ctx(self) -> Any:
        """What the framework's code reads of a RunContext: the app's deps
        and the run's workspace."""
        if self._deps is None:
            from pydantic_deep import DeepAgentDeps

            kw = {}
            if self.checkpoints is not None:
                kw["checkpoint_store"] = self.checkpoints
            self._deps = DeepAgentDeps(**kw)
        return SimpleNamespace(deps=self._deps, workspace=self.workspace)

    def _scope(self, agent: str) -> tuple[Any, str]:
        try:
            return memory_for(self.memory, agent).resolve_scope(self._ctx())
        except (ValueError, AttributeError) as e:
            # The harness validates the namespace and the agent's segment
            # when a run starts: the run fails, the memory is not kept.
            raise AdapterError("refused", f"the Memory capability refused this scope: {type(e).__name__}: {e}")

    def _memory_path(self, store: Any, scope: str) -> str:
        directory = getattr(store, "directory", None)
        if directory is None or getattr(store, "workspace", None) is not None:
            return f"/{scope}/{MAIN_FILE}"  # outside the run's workspace
        return self._outward(posixpath.normpath(f"{directory}/{scope}/{MAIN_FILE}"))

    async def _save_memory(self, agent: str, content: str) -> str:
        from pydantic_ai.workspaces import WorkspaceError

        store, scope = self._scope(agent)
        path = f"{scope}/{MAIN_FILE}"
        try:
            cur = await store.read(path, max_chars=65_536)
            # write_memory appends: the notebook grows by one entry.
            text = content if cur is None else (cur.content.rstrip("\n") + "\n" + content)
            await store.write(path, text, expected_version=None if cur is None else cur.version)
        except (WorkspaceError, OSError) as e:
            raise AdapterError(_error_kind(str(e)), f"{type(e).__name__}: {e}")
        except ValueError as e:
            raise AdapterError("refused", f"{type(e).__name__}: {e}")
        return self._memory_path(store, scope)

    async def _read_memory(self, agent: str) -> str | None:
        store, scope = self._scope(agent)
        try:
            f = await store.read(f"{scope}/{MAIN_FILE}", max_chars=65_536)
        except ValueError as e:
            raise AdapterError("refused", f"{type(e).__name__}: {e}")
        return None if f is None else f.content

