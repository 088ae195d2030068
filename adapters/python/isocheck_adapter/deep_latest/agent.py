"""Agent mode (`--agent`) on pydantic-deep 0.3.50: every protocol operation
is one run of the real `create_deep_agent(...)` driven by pydantic-ai's
`FunctionModel`, offline, as in the guide-era agent mode (../agent.py,
whose scripts and parsing of tool returns this reuses). What differs:

- the agent is built with `workspace=False` and every run gets the user's
  own workspace, `agent.run(..., workspace=<the app's workspace>)`, as an
  app that serves many users from one agent does;
- memory is the harness `Memory` capability: with the app's default
  (`include_memory=True`, `memory_namespace=...`) pydantic-deep wires it on
  the main agent and every subagent; an app's own `Memory` (a store of its
  own) is passed as a capability of the main agent (`include_memory=False,
  capabilities=[memory]`), as the harness docs wire it. `write_memory`
  appends; a read is `read_memory` (or, where the harness lets the file
  reader replace it, `read_file` on the notebook) plus the `<memory>`
  snapshot the model was shown with its prompt;
- files, execute, plans, eviction and checkpoints go through the same tools
  as before (`write_file`, `read_file`, ..., `execute` through the
  workspace's shell, `save_plan` of the planner, `save_checkpoint`, ...).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ..agent import MARK, AgentSession, Conversation, Runtime, _tool_error
from ..mapping import AdapterError, Session, Subject, _error_kind
from .mapping import MAIN_FILE, WorkspaceSession


def _memory_key(memory: Any) -> Any:
    """What decides how the agent is built for this memory: pydantic-deep's
    own wiring by its namespace (a function by its code: the app's lambda is
    made anew per user), or the app's own Memory capability itself."""
    if memory is None:
        return None
    if getattr(memory, "_isocheck_default", False):
        ns = getattr(memory, "namespace", "")
        return ("default", ns if isinstance(ns, str) else getattr(ns, "__code__", ns))
    return ("own", id(memory))


class LatestRuntime(Runtime):
    """One deep agent per app instance (tenancy), by configuration; runs get
    the user's workspace."""

    def _build_latest(self, names: tuple[str, ...], context: tuple[str, ...], memory: Any) -> Any:
        from pydantic_deep import create_deep_agent

        subs = [{"name": n, "description": f"the {n!r} agent", "instructions": "Keep notes in your memory."}
                for n in names]
        kw: dict[str, Any] = {}
        if memory is None or getattr(memory, "_isocheck_default", False):
            kw["include_memory"] = True
            ns = getattr(memory, "namespace", "") if memory is not None else ""
            kw["memory_namespace"] = ns
        else:
            kw["include_memory"] = False
            kw["capabilities"] = [memory]
        return create_deep_agent(
            model=self._model,
            workspace=False,
            include_checkpoints=True,
            checkpoint_frequency="every_tool",
            max_checkpoints=1_000_000,
            edit_format="str_replace",
            include_execute=self._execute,
            context_files=list(context) or None,
            tools=self._tools,
            subagents=subs or None,
            web_search=False,
            web_fetch=False,
            include_skills=False,
            cost_tracking=False,
            include_monitoring=False,
            **kw,
        )

    def agent_for(self, t: Any, name: str = "main") -> Any:
        with self._lock:
            if name != "main" and name not in t.subagents and name not in ("planner", "research"):
                t.subagents = t.subagents + (name,)
                t.agent = None
            if t.agent is None:
                key = (t.subagents, tuple((t.context_map or str)(p) for p in t.context), _memory_key(t.memory))
                pool = self._pool.get(key)
                t.agent = pool.pop() if pool else self._build_latest(key[0], key[1], t.memory)
                t.agent_key = key
            return t.agent

    async def run(self, deps: Any, script: Any, *, agent: Any, history: list | None = None,
                  subs: dict[str, Conversation] | None = None, key: str | None = None,
                  workspace: Any = None) -> Conversation:
        key = key or self.new_key()
        conv = Conversation(script)
        self._convs[key] = conv
        for k, c in (subs or {}).items():
            self._convs[f"{key}.{k}"] = c
        try:
            await agent.run(f"{MARK}{key}", deps=deps, message_history=history, workspace=workspace)
        finally:
            for k in [k for k in self._convs if k == key or k.startswith(f"{key}.")]:
                self._convs.pop(k, None)
        for c in [conv, *(subs or {}).values()]:
            if c.refused is not None:
                if "Unknown tool name" in c.refused:
                    raise AdapterError("unsupported", f"the agent has no such tool: {c.refused[:300]}")
                raise AdapterError(_error_kind(c.refused), c.refused)
        return conv


class LatestAgentSession(AgentSession):
    """One user's session, operated through the agent in the user's workspace."""

    def __init__(self, base: WorkspaceSession, rt: LatestRuntime, tenancy: Any, user: str) -> None:
        base._ctx()  # the app's deps (or what the app builds): never a backend field in 0.3.50
        self.base = base
        if tenancy.memory is None:
            tenancy.memory = base.memory
        elif _memory_key(tenancy.memory) != _memory_key(base.memory):
            raise AdapterError("failed", "the factory gave users different Memory capabilities; agent mode "
                               "builds one agent per app")
        super().__init__(base, rt, tenancy, user)

    async def _run(self, script: Any, *, agent: str = "main", **kw: Any) -> Conversation:
        return await self.rt.run(self.deps, script, agent=self.rt.agent_for(self.t, agent),
                                 workspace=self.base.workspace, **kw)

    def _default_memory(self) -> bool:
        return getattr(self.base.memory, "_isocheck_default", False)

    def _check_agent(self, agent: str) -> None:
        if agent != "main" and not self._default_memory():
            raise AdapterError("unsupported", "the app's own Memory capability is wired on the main agent "
                               f"only (include_memory=False, capabilities=[memory]); agent {agent!r} has none")

    async def _save_memory(self, agent: str, content: str) -> str:
        self._check_agent(agent)
        out, _ = await self._as(agent, "write_memory", {"content": content})
        text = str(out)
        _tool_error(text)
        if "MEMORY.md" not in text:
            raise AdapterError("failed", f"write_memory returned {text[:300]!r}")
        return self.base._memory_path(*self.base._scope(agent))

    async def _read_memory(self, agent: str) -> str | None:
        self._check_agent(agent)
        try:
            out, prompt = await self._as(agent, "read_memory", {"file": MAIN_FILE})
        except AdapterError as e:
            if e.kind != "unsupported":
                if "no memory file named" in e.message:
                    return None
                raise
            # The harness lets the file reader replace read_memory when the
            # notebook is a file in the run's workspace.
            path = self.base._memory_path(*self.base._scope(agent))
            try:
                out, prompt = await self._as(agent, "read_file", {"path": self._p(path)})
            except AdapterError as e2:
                if e2.kind == "not-found":
                    return None
                raise
        text = str(out)
        if text.startswith("Error") and "not found" in text:
            return None
        _tool_error(text)
        return f"{text}\n\n--- instructions of {agent!r} ---\n{prompt or ''}"


class AgentSubject(Subject):
    """Wraps a workspace-generation subject: its per-user objects, operated
    through one agent per app instance."""

    def __init__(self, inner: Subject) -> None:
        self.inner = inner
        self.rt = LatestRuntime(execute=bool(inner.capabilities().get("execute")))

    def capabilities(self) -> dict:
        caps = dict(self.inner.capabilities())
        caps["history"] = bool(caps.get("history"))
        caps["checkpoints"] = True
        context = bool(caps.get("features", {}).get("context"))
        caps["features"] = {"memory": True, "plans": True, "eviction": True, "context": context}
        return caps

    def seed_context(self, t: Any, path: str, content: str) -> Any:
        self.rt.context_files(t, path)
        return self.inner.seed_context(t.inner, path, content)

    def new_tenancy(self, tid: str) -> Any:
        inner = self.inner.new_tenancy(tid)
        return SimpleNamespace(inner=inner, ck_fids={}, ck_names={}, agent=None, agent_key=None, subagents=(),
                               context=(), context_map=None, memory=None)

    async def close_tenancy(self, t: Any) -> None:
        import inspect

        await self.rt.release(t)
        r = self.inner.close_tenancy(t.inner)
        if inspect.isawaitable(r):
            await r

    async def open(self, t: Any, user: str) -> Session:
        import inspect

        s = self.inner.open(t.inner, user)
        if inspect.isawaitable(s):
            s = await s
        return LatestAgentSession(s, self.rt, t, user)
