"""Agent mode (`--agent`): every protocol operation is one run of the real
pydantic-deep agent, offline.

The agent is `create_deep_agent(include_memory=True, include_checkpoints=True,
...)` with pydantic-ai's `FunctionModel` in place of an LLM. Each operation
becomes a short script: the model calls the agent's own tools (`write_file`,
`read_file`, `ls`, `glob`, `grep`, `execute`, `write_memory`,
`read_memory`, `task` to the built-in `planner` for `save_plan`,
`save_checkpoint`, `list_checkpoints`, `rewind_to`) and the reply is read
off the tool returns *the model was shown*, so what isocheck judges is what
a user of the app would see through the production code path:

- memory is written by the real memory tool (per agent: `main`, or a
  subagent of that name), and read back by `read_memory` plus the system
  prompt the memory is injected into;
- plans are written by the real `save_plan` of the `planner` subagent;
- evicted results are a real oversized tool result under the requested
  tool-call id, evicted by the real `EvictionCapability` (the default
  20,000-token limit; the document is padded past it);
- checkpoints are taken by the real `CheckpointMiddleware` (`every_tool`)
  and named with `save_checkpoint`; `ck_get` is `rewind_to`, whose
  `RewindRequested` carries the checkpoint back to the app; lists and counts
  come from `list_checkpoints`;
- a message history is what the app keeps of `result.all_messages()`, and
  `hist_get` is the user prompts the model is shown in the next run.

Where the agent has no tool the app's own code does it, as an app would:
`ck_remove`, `ck_remove_oldest` and `ck_clear` call the session's checkpoint
store directly. Checkpoints the middleware takes on its own (labels
`tool-N-name`, `turn-N`) are the framework's bookkeeping and are not shown
to isocheck as checkpoints of the user; `max_checkpoints` is set high so
they never prune the ones a user named.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import threading
from types import SimpleNamespace
from typing import Any, Callable, Generator

from .mapping import AdapterError, FrameworkLog, Session, Subject, _error_kind

MARK = "isocheck-op:"
_MARK_RE = re.compile(r"isocheck-op:([0-9]+(?:\.sub)?)")
# Checkpoints the middleware takes by itself.
_AUTO_LABEL = re.compile(r"^(turn-\d+|tool-\d+-.+)$")
_CK_LINE = re.compile(r"^- \*\*(?P<label>.*)\*\* \(id: `(?P<id>[^`]+)`, turn (?P<turn>\d+), (?P<n>\d+) messages")
_EVICTED = re.compile(r"saved to: (\S+)")
_PLAN = re.compile(r"Plan saved to `([^`]+)`")
_NUMBERED = re.compile(r"^ *(\d+)\t(.*)$", re.S)
_MORE = re.compile(r"\n\n\.\.\. \((\d+) more lines?\)$")
# An evicted document must exceed the capability's limit (20,000 tokens x 4 chars).
_PAD_LINE = "padding " + "." * 66
_PAD_CHARS = 84_000
# Lines per read_file call: pages stay under the eviction limit.
_PAGE = 500

Call = tuple  # (tool name, args, tool-call id or None)
Script = Generator[Call, Any, Any]


class Conversation:
    """One agent run (or one subagent run inside it), driven by a script."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.started = False
        self.instructions: str | None = None
        # Why the framework refused the last tool call (unknown tool, bad arguments).
        self.refused: str | None = None
        # The user prompts the model was shown (history included).
        self.prompts: list[str] = []
        self.done = False


class Runtime:
    """The deep agent shared by every session of the process, and the
    scripts of the runs in flight."""

    def __init__(self, execute: bool = False) -> None:
        from pydantic_ai import Tool
        from pydantic_ai.models.function import FunctionModel

        self._convs: dict[str, Conversation] = {}
        self._docs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._model = FunctionModel(self._respond)
        self._tools = [Tool(self._fetch_document, name="fetch_document")]
        self._execute = execute
        # Agents of closed tenancies, by configuration, with their fallback
        # checkpoint store emptied: building one costs 0.3-1 s.
        self._pool: dict[tuple, list] = {}

    # -- the agent -----------------------------------------------------------
    def _build(self, names: tuple[str, ...], context: tuple[str, ...]) -> Any:
        from pydantic_deep import create_deep_agent

        subs = [{"name": n, "description": f"the {n!r} agent", "instructions": "Keep notes in your memory."}
                for n in names]
        return create_deep_agent(
            model=self._model,
            include_memory=True,
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
        )

    def agent_for(self, t: Any, name: str = "main") -> Any:
        """The tenancy's agent (one per app instance: its fallback
        checkpoint store is the app's too), with a subagent `name` (for its
        memory) when not `main`."""
        with self._lock:
            if name != "main" and name not in t.subagents and name not in ("planner", "research"):
                t.subagents = t.subagents + (name,)
                t.agent = None
            if t.agent is None:
                key = (t.subagents, tuple((t.context_map or str)(p) for p in t.context))
                pool = self._pool.get(key)
                t.agent = pool.pop() if pool else self._build(*key)
                t.agent_key = key
            return t.agent

    async def release(self, t: Any) -> None:
        """A tenancy's agent goes back to the pool once what it kept for
        itself (its fallback checkpoint store) is empty again; an agent
        whose store cannot be emptied is dropped."""
        agent, t.agent = t.agent, None
        if agent is None:
            return
        stores = [ts._fallback_store for ts in agent.toolsets if getattr(ts, "_fallback_store", None) is not None]
        try:
            for store in stores:
                await store.clear()
                if await store.count() != 0:
                    return
        except Exception:  # noqa: BLE001 - not reusable
            return
        with self._lock:
            self._pool.setdefault(t.agent_key, []).append(agent)

    def context_files(self, t: Any, path: str) -> None:
        """The agent loads `path` into its system prompt from the run's backend."""
        with self._lock:
            if path not in t.context:
                t.context = t.context + (path,)
                t.agent = None

    def _fetch_document(self, ref: str) -> str:
        """Fetch a document of the app by its reference."""
        return self._docs.pop(ref, f"no document {ref!r}")

    # -- the model -----------------------------------------------------------
    async def _respond(self, messages: list, info: Any) -> Any:
        # async: FunctionModel runs a sync function in a worker thread.
        from pydantic_ai.messages import (ModelRequest, ModelResponse, RetryPromptPart, TextPart, ToolCallPart,
                                          ToolReturnPart, UserPromptPart)

        key = None
        for m in messages:
            if isinstance(m, ModelRequest):
                for p in m.parts:
                    if isinstance(p, UserPromptPart) and isinstance(p.content, str):
                        found = _MARK_RE.findall(p.content)
                        if found:
                            key = found[-1]
        conv = self._convs.get(key) if key else None
        if conv is None or conv.done:
            # A turn with no script (hist_append): the model just answers.
            return ModelResponse(parts=[TextPart("noted")])
        try:
            if not conv.started:
                conv.started = True
                conv.instructions = info.instructions
                conv.prompts = [p.content for m in messages if isinstance(m, ModelRequest)
                                for p in m.parts if isinstance(p, UserPromptPart) and isinstance(p.content, str)]
                call = next(conv.script)
            else:
                last = messages[-1]
                # pydantic-ai 2.x answers a refused call (unknown tool, bad
                # arguments) with a return whose outcome is "retried" (older
                # versions: a RetryPromptPart).
                retry = next((p for p in last.parts if isinstance(p, RetryPromptPart)
                              or getattr(p, "outcome", None) == "retried"), None)
                if retry is not None:
                    # The operation fails and the run ends.
                    conv.refused = str(retry.content)
                    conv.done = True
                    return ModelResponse(parts=[TextPart("stopped")])
                ret = next((p.content for p in last.parts if isinstance(p, ToolReturnPart)), None)
                call = conv.script.send(ret)
        except StopIteration:
            conv.done = True
            return ModelResponse(parts=[TextPart("done")])
        name, args, call_id = call
        part = ToolCallPart(name, args, tool_call_id=call_id) if call_id is not None else ToolCallPart(name, args)
        return ModelResponse(parts=[part])

    # -- running a script ----------------------------------------------------
    def new_key(self) -> str:
        return str(next(self._ids))

    async def run(self, deps: Any, script: Script, *, agent: Any, history: list | None = None,
                  subs: dict[str, Conversation] | None = None, key: str | None = None) -> Conversation:
        """Runs the agent on one operation; `subs` are the scripts of the
        subagent runs it delegates to (their task description is
        `isocheck-op:KEY.NAME`)."""
        key = key or self.new_key()
        conv = Conversation(script)
        self._convs[key] = conv
        for k, c in (subs or {}).items():
            self._convs[f"{key}.{k}"] = c
        try:
            await agent.run(f"{MARK}{key}", deps=deps, message_history=history)
        finally:
            for k in [k for k in self._convs if k == key or k.startswith(f"{key}.")]:
                self._convs.pop(k, None)
        for c in [conv, *(subs or {}).values()]:
            if c.refused is not None:
                # A tool error steered back to the model (file not found,
                # string not in file) or a call the framework refuses.
                if "Unknown tool name" in c.refused:
                    raise AdapterError("unsupported", f"the agent has no such tool: {c.refused[:300]}")
                raise AdapterError(_error_kind(c.refused), c.refused)
        return conv

    def stash(self, ref: str, doc: str) -> None:
        self._docs[ref] = doc

    def unstash(self, ref: str) -> None:
        self._docs.pop(ref, None)


def _unnumber(text: str) -> tuple[list[str], int]:
    """read_file's numbered lines back as lines; and the last line number."""
    out, last = [], 0
    for line in text.split("\n"):
        m = _NUMBERED.match(line)
        if not m:
            raise AdapterError("failed", f"read_file returned an unexpected line: {line[:120]!r}")
        last = int(m.group(1))
        out.append(m.group(2))
    return out, last


def _tool_error(text: Any) -> None:
    t = str(text)
    if t.startswith("Error"):
        raise AdapterError(_error_kind(t), t)


class AgentSession(Session):
    """One user's session, operated through the agent."""

    def __init__(self, base: Session, rt: Runtime, tenancy: Any, user: str) -> None:
        from pydantic_deep import DeepAgentDeps

        super().__init__(base.backend, base.checkpoints, base.history, files=base.files)
        self.rt = rt
        self.t = tenancy
        self.user = user
        # The agent gets the app's own deps, or what the app builds from its
        # own objects: never isocheck's probe view.
        if base._deps is not None:
            self.deps = base._deps
        else:
            kw = {"backend": base.backend}
            if base.checkpoints is not None:
                kw["checkpoint_store"] = base.checkpoints
            self.deps = DeepAgentDeps(**kw)
        if tenancy.context_map is None:
            tenancy.context_map = self._p
        # The app keeps the agent's messages per user, in the list its
        # factory gave as the history.
        self.messages: list | None = getattr(base.history, "items", None)
        ops: dict[str, Callable[[dict], tuple[Any, Any]]] = {
            "write": lambda r: (self._write(r["path"], r["content"]), None),
            "edit": lambda r: (self._edit(r["path"], r["old"], r["new"], bool(r["replace_all"])), None),
            "read": lambda r: (self._read(r["path"], int(r["offset"]), int(r["limit"])), None),
            "read_bytes": lambda r: (self._read_bytes(r["path"]), None),
            "exists": lambda r: (self._exists(r["path"]), None),
            "ls_info": lambda r: (self._ls(r["path"]), None),
            "glob_info": lambda r: (self._glob(r["pattern"], r["path"]), None),
            "grep_raw": lambda r: (self._grep(r["pattern"], r.get("path"), r.get("glob")), None),
            "execute": lambda r: (self._execute(r["command"], r.get("timeout")), None),
            "save_memory": lambda r: (self._save_memory(r["agent"], r["content"]), None),
            "read_memory": lambda r: (self._read_memory(r["agent"]), None),
            "save_plan": lambda r: (self._save_plan(r["title"], r["content"]), None),
            "evict": lambda r: (self._evict(r["call_id"], r["content"]), None),
            # The agent checkpoints whether or not the app gave it a store:
            # without one, pydantic-deep's agent-wide fallback store holds
            # them. Every checkpoint operation goes through the agent's tools.
            "ck_save": lambda r: (self._ck_save(r["checkpoint"]), None),
            "ck_get": lambda r: (self._ck_get(r["checkpoint_id"]), None),
            "ck_get_by_label": lambda r: (self._ck_get_by_label(r["label"]), None),
            "ck_list": lambda r: (self._ck_list(), None),
            "ck_count": lambda r: (self._ck_count(), None),
            "ck_remove": lambda r: (self._ck_remove(r["checkpoint_id"]), None),
            "ck_remove_oldest": lambda r: (self._ck_remove_oldest(), None),
            "ck_clear": lambda r: (self._ck_clear(), None),
        }
        if base.history is not None:
            ops.update({
                "hist_append": lambda r: (self._hist_append(r["message"]), None),
                "hist_get": lambda r: (self._hist_get(), None),
            })
        self.ops = ops

    # -- isocheck's probe paths, as the app's backend names them -------------
    def _p(self, path: str | None) -> str | None:
        f = getattr(self.files, "_in", None)
        return f(path) if callable(f) and path is not None else path

    def _o(self, path: str) -> str:
        f = getattr(self.files, "_out", None)
        return f(path) if callable(f) else path

    async def _run(self, script: Script, *, agent: str = "main", **kw: Any) -> Conversation:
        return await self.rt.run(self.deps, script, agent=self.rt.agent_for(self.t, agent), **kw)

    # -- one tool call, the model's view of its return -------------------------
    async def _one(self, name: str, args: dict, call_id: str | None = None) -> Any:
        box: dict[str, Any] = {}

        def script() -> Script:
            box["ret"] = yield (name, args, call_id)

        await self._run(script())
        if "ret" not in box:
            raise AdapterError("failed", f"the agent did not return the {name} result")
        return box["ret"]

    # -- files -----------------------------------------------------------------
    async def _write(self, path: str, content: str) -> None:
        out = str(await self._one("write_file", {"path": self._p(path), "content": content}))
        _tool_error(out)
        if not out.startswith("Wrote "):
            raise AdapterError("failed", out)

    async def _edit(self, path: str, old: str, new: str, replace_all: bool) -> int:
        box: dict[str, Any] = {}

        def script() -> Script:
            # As an agent does: read the file, then edit it (the tool refuses
            # an edit of a file the agent has not seen).
            box["read"] = yield ("read_file", {"path": self._p(path)}, None)
            box["ret"] = yield ("edit_file", {"path": self._p(path), "old_string": old, "new_string": new,
                                              "replace_all": replace_all}, None)

        await self._run(script())
        out = str(box.get("ret"))
        _tool_error(out)
        m = re.search(r"replaced (\d+) occurrence", out)
        if not m:
            raise AdapterError("failed", out)
        return int(m.group(1))

    async def _pages(self, path: str, offset: int, limit: int) -> str:
        """read_file in pages that stay under the eviction limit, as the
        eviction message tells an agent to read a large file."""
        box: dict[str, Any] = {"pages": []}

        def script() -> Script:
            at, left = offset, limit
            while left > 0:
                n = min(_PAGE, left)
                page = yield ("read_file", {"path": self._p(path), "offset": at, "limit": n}, None)
                box["pages"].append(page)
                text = str(page)
                if text.startswith("Error") or text.startswith("Tool result too large"):
                    return
                # The backend marks a page that stops before the end.
                if not _MORE.search(text):
                    return
                at, left = at + n, left - n

        await self._run(script())
        pages = [str(p) for p in box["pages"]]
        if not pages:
            raise AdapterError("failed", "the agent read nothing")
        if len(pages) > 1 and pages[-1].startswith("Error") and "exceed" in pages[-1]:
            pages.pop()  # the file ended exactly at a page boundary
        for p in pages:
            _tool_error(p)
            if p.startswith("Tool result too large"):
                raise AdapterError("failed", "a page of read_file was evicted: " + p[:200])
        more = _MORE.search(pages[-1])
        body = "\n".join(_MORE.sub("", p) for p in pages)
        return body + more.group(0) if more and len(pages) * _PAGE >= limit else body

    async def _read(self, path: str, offset: int, limit: int) -> str:
        return await self._pages(path, offset, limit)

    async def _read_bytes(self, path: str) -> str:
        text = _MORE.sub("", await self._pages(path, 0, 1 << 30))
        if text.startswith("Offset ") or text == "":
            return ""
        lines, _ = _unnumber(text)
        return "\n".join(lines).encode().hex()

    async def _ls(self, path: str) -> list:
        out = str(await self._one("ls", {"path": self._p(path)}))
        _tool_error(out)
        if out.startswith("Directory ") and out.endswith("is empty or does not exist"):
            return []
        entries = []
        for line in out.split("\n")[1:]:
            name = line[2:] if line.startswith("  ") else line
            if name.endswith("/"):
                entries.append({"path": posixpath.join(path, name[:-1]), "is_dir": True})
                continue
            m = re.match(r"^(.*) \((\d+) bytes\)$", name)
            if m:
                entries.append({"path": posixpath.join(path, m.group(1)), "is_dir": False, "size": int(m.group(2))})
            else:
                entries.append({"path": posixpath.join(path, name), "is_dir": False})
        return entries

    async def _exists(self, path: str) -> bool:
        # No exists tool: the agent lists the parent directory.
        parent, name = posixpath.split(path.rstrip("/") or "/")
        if not name:
            return True
        return any(posixpath.basename(e["path"]) == name for e in await self._ls(parent or "/"))

    async def _glob(self, pattern: str, path: str) -> list:
        out = str(await self._one("glob", {"pattern": pattern, "path": self._p(path)}))
        _tool_error(out)
        if out.startswith("No files matching"):
            return []
        return [{"path": self._o(line.strip()), "is_dir": False} for line in out.split("\n")[1:]
                if line.startswith("  ") and not line.startswith("  ... and ")]

    async def _grep(self, pattern: str, path: str | None, glob: str | None) -> list:
        args = {"pattern": pattern, "path": self._p(path), "glob_pattern": glob, "output_mode": "content"}
        out = str(await self._one("grep", args))
        if out.startswith("No matches for"):
            return []
        _tool_error(out)
        matches = []
        for line in out.split("\n")[1:]:
            m = re.match(r"^ *(.*?):(\d+): (.*)$", line, re.S)
            if m:
                matches.append({"path": self._o(m.group(1)), "line_number": int(m.group(2)), "line": m.group(3)})
        return matches

    async def _execute(self, command: str, timeout: int | None) -> dict:
        out = str(await self._one("execute", {"command": command, "timeout": timeout}))
        if out.startswith("Error: Shell execution is disabled") or out.startswith("Error: Backend does not support"):
            raise AdapterError("unsupported", out)
        m = re.match(r"^Command failed \(exit code (-?\d+)\):\n", out)
        if m:
            return {"output": out[m.end():], "exit_code": int(m.group(1)), "truncated": False}
        truncated = out.endswith("\n\n... (output truncated)")
        return {"output": out, "exit_code": 0, "truncated": truncated}

    # -- features --------------------------------------------------------------
    async def _as(self, agent: str, name: str, args: dict) -> tuple[Any, str | None]:
        """Calls a tool as `agent`: the main agent itself, or through `task`
        to the subagent of that name. Returns the tool's return and the
        system prompt that agent was given."""
        box: dict[str, Any] = {}

        def inner() -> Script:
            box["ret"] = yield (name, args, None)

        if agent == "main":
            conv = await self._run(inner(), agent=agent)
            return box.get("ret"), conv.instructions
        key = self.rt.new_key()

        def outer() -> Script:
            box["task"] = yield ("task", {"description": f"{MARK}{key}.sub", "subagent_type": agent}, None)

        sub = Conversation(inner())
        await self._run(outer(), agent=agent, key=key, subs={"sub": sub})
        if "ret" not in box:
            raise AdapterError("failed", f"the {agent!r} agent did not run {name}: {str(box.get('task'))[:300]}")
        return box["ret"], sub.instructions

    async def _save_memory(self, agent: str, content: str) -> str:
        from pydantic_deep.features.memory.toolset import AgentMemoryToolset

        out, _ = await self._as(agent, "write_memory", {"content": content})
        out = str(out)
        _tool_error(out)
        if not out.startswith("Memory updated"):
            raise AdapterError("failed", out)
        return self._outward(AgentMemoryToolset(agent_name=agent)._path)

    async def _read_memory(self, agent: str) -> str | None:
        out, prompt = await self._as(agent, "read_memory", {})
        out = str(out)
        _tool_error(out)
        if out == "No memory saved yet.":
            return None
        # What the tool returned, and the system prompt the memory is injected into.
        return f"{out}\n\n--- system prompt of {agent!r} ---\n{prompt or ''}"

    async def _save_plan(self, title: str, content: str) -> str:
        out, _ = await self._as("planner", "save_plan", {"title": title, "content": content})
        out = str(out)
        m = _PLAN.search(out)
        if not m:
            raise AdapterError(_error_kind(out), out)
        return self._outward(m.group(1))

    async def _evict(self, call_id: str, content: str) -> str:
        ref = f"doc-{self.rt.new_key()}"
        pad = "\n".join([_PAD_LINE] * (_PAD_CHARS // (len(_PAD_LINE) + 1) + 1))
        self.rt.stash(ref, f"{content}\n{pad}\n")
        try:
            with FrameworkLog("pydantic_deep.features.eviction") as log:
                out = str(await self._one("fetch_document", {"ref": ref}, call_id))
        finally:
            self.rt.unstash(ref)
        m = _EVICTED.search(out)
        if not out.startswith("Tool result too large") or not m:
            # pydantic-deep falls back to a truncated preview when the write
            # fails; its log says why.
            why = log.text()
            raise AdapterError("failed", f"the result under {call_id!r} was not evicted"
                               + (f": {why}" if why else "") + f" (the model was shown: {out[:160]!r})")
        return self._outward(m.group(1))

    # -- checkpoints -----------------------------------------------------------
    # isocheck names checkpoints by ids of its own; the framework by uuids.
    # The adapter keeps the map for the whole app (tenancy), and translates
    # every isocheck id inside an id a user presents, so a hostile id such
    # as `../alice/<id>` reaches the framework as `../alice/<uuid>`: what
    # the store does with it is the observation.
    def _fid(self, hid: str) -> str:
        names = self.t.ck_fids
        if hid in names:
            return names[hid]
        for h, f in names.items():
            if h and h in hid:
                hid = hid.replace(h, f)
        return hid

    def _hid(self, fid: str) -> str:
        return self.t.ck_names.get(fid, fid)

    def _named(self, listing: str) -> list[dict]:
        """The checkpoints list_checkpoints showed, without the middleware's own."""
        out = []
        if listing.startswith("No checkpoints saved"):
            return out
        _tool_error(listing)
        for line in listing.split("\n")[1:]:
            m = _CK_LINE.match(line)
            if not m:
                raise AdapterError("failed", f"list_checkpoints returned an unexpected line: {line[:200]!r}")
            if _AUTO_LABEL.match(m.group("label")):
                continue
            fid = m.group("id")
            out.append({"id": self._hid(fid), "label": m.group("label"),
                        "turn": int(m.group("turn")), "messages": [], "created_at": 0, "_fid": fid})
        return out

    async def _ck_save(self, c: dict) -> None:
        from pydantic_ai.messages import ModelRequest, UserPromptPart

        history = [ModelRequest(parts=[UserPromptPart(content=m)]) for m in c["messages"]]
        box: dict[str, Any] = {}

        def script() -> Script:
            # A tool call first, so the middleware takes a checkpoint of this
            # conversation; save_checkpoint names the most recent one.
            yield ("list_checkpoints", {}, None)
            box["saved"] = yield ("save_checkpoint", {"label": c["label"]}, None)
            box["list"] = yield ("list_checkpoints", {}, None)

        await self._run(script(), history=history)
        saved = str(box.get("saved"))
        if not saved.startswith("Checkpoint saved"):
            raise AdapterError("failed", saved)
        mine = [e for e in self._named(str(box.get("list"))) if e["label"] == c["label"]]
        if not mine:
            raise AdapterError("failed", f"the checkpoint labelled {c['label']!r} is not listed after saving it")
        fid = mine[-1]["_fid"]
        self.t.ck_fids[c["id"]] = fid
        self.t.ck_names[fid] = c["id"]

    async def _rewind(self, fid: str) -> dict | None:
        from pydantic_ai.messages import UserPromptPart
        from pydantic_deep import RewindRequested

        box: dict[str, Any] = {}

        def script() -> Script:
            box["ret"] = yield ("rewind_to", {"checkpoint_id": fid}, None)

        try:
            await self._run(script())
        except RewindRequested as r:
            # The conversation the checkpoint holds, as the user's prompts in it.
            prompts = [p.content for m in r.messages for p in getattr(m, "parts", [])
                       if isinstance(p, UserPromptPart) and isinstance(p.content, str)
                       and not _MARK_RE.search(p.content)]
            return {"id": self._hid(r.checkpoint_id), "label": r.label,
                    "turn": 0, "messages": prompts, "created_at": 0}
        out = str(box.get("ret"))
        if "not found" in out:
            return None
        raise AdapterError("failed", out)

    async def _ck_get(self, hid: str) -> dict | None:
        return await self._rewind(self._fid(hid))

    async def _ck_list_named(self) -> list[dict]:
        return self._named(str(await self._one("list_checkpoints", {})))

    async def _ck_get_by_label(self, label: str) -> dict | None:
        named = [e for e in await self._ck_list_named() if e["label"] == label]
        if not named:
            return None
        return await self._rewind(named[0]["_fid"])

    async def _ck_list(self) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "_fid"} for e in await self._ck_list_named()]

    async def _ck_count(self) -> int:
        return len(await self._ck_list_named())

    # App-side: the agent has no tool to delete checkpoints, so the app's
    # own code does it on the store it gave the agent. An app that gave
    # none has no such code (the agent's fallback store is internal).
    def _store(self) -> Any:
        if self.checkpoints is None:
            raise AdapterError("unsupported", "the app gave the agent no checkpoint store, so it has no code "
                               "that removes checkpoints (the agent's fallback store holds them)")
        return self.checkpoints

    async def _ck_remove(self, hid: str) -> bool:
        return bool(await self._store().remove(self._fid(hid)))

    async def _ck_remove_oldest(self) -> bool:
        store = self._store()
        for cp in await store.list_all():
            if not _AUTO_LABEL.match(str(cp.label)):
                return bool(await store.remove(cp.id))
        return False

    async def _ck_clear(self) -> None:
        await self._store().clear()

    # -- message history ---------------------------------------------------------
    def _kept(self) -> list:
        if self.messages is None:
            raise AdapterError("unsupported", "agent mode keeps a message history in a list; this factory's "
                               f"history is a {type(self.history).__name__}")
        return self.messages

    async def _hist_append(self, message: str) -> None:
        self._kept()
        result = await self.rt.agent_for(self.t).run(message, deps=self.deps, message_history=list(self.messages) or None)
        self.messages[:] = result.all_messages()

    async def _hist_get(self) -> list[str]:
        def script() -> Script:
            return
            yield  # a script with no tool call

        # The next turn shows the model the history: what it is shown is
        # what the user's conversation holds (the turn itself is not kept).
        conv = await self._run(script(), history=list(self._kept()) or None)
        return [p for p in conv.prompts if not _MARK_RE.search(p)]


class AgentSubject(Subject):
    """Wraps a subject: its per-user objects, operated through the agent.
    Each tenancy (a fresh app) has its own agent, as an app builds its
    agent once: what the agent keeps for itself (its fallback checkpoint
    store) is shared by the app's users, never across tenancies."""

    def __init__(self, inner: Subject) -> None:
        self.inner = inner
        self.rt = Runtime(execute=bool(inner.capabilities().get("execute")))

    def capabilities(self) -> dict:
        caps = dict(self.inner.capabilities())
        caps["history"] = bool(caps.get("history"))
        # The agent checkpoints (include_checkpoints=True), with the app's
        # store or its own fallback store.
        caps["checkpoints"] = True
        # Context files (when the factory seeds them) reach the agent's
        # system prompt through context_files.
        context = bool(caps.get("features", {}).get("context"))
        caps["features"] = {"memory": True, "plans": True, "eviction": True, "context": context}
        return caps

    def seed_context(self, t: Any, path: str, content: str) -> Any:
        self.rt.context_files(t, path)
        return self.inner.seed_context(t.inner, path, content)

    def new_tenancy(self, tid: str) -> Any:
        inner = self.inner.new_tenancy(tid)
        return SimpleNamespace(inner=inner, ck_fids={}, ck_names={}, agent=None, agent_key=None, subagents=(),
                               context=(), context_map=None)

    async def close_tenancy(self, t: Any) -> None:
        import inspect

        await self.rt.release(t)
        r = self.inner.close_tenancy(t.inner)
        if inspect.isawaitable(r):
            await r

    def open(self, t: Any, user: str) -> Any:
        import inspect

        s = self.inner.open(t.inner, user)
        if inspect.isawaitable(s):
            return self._open_async(s, t, user)
        return AgentSession(s, self.rt, t, user)

    async def _open_async(self, s: Any, t: Any, user: str) -> Session:
        return AgentSession(await s, self.rt, t, user)
