"""Agent mode for deepagents: every operation is one run of the real
`create_deep_agent` graph on the user's backend, driven offline by a
scripted chat model.

The model is a real langchain `BaseChatModel`: `bind_tools` returns itself,
and each call replays the tool call the harness asks for, then ends the
turn. So files go through deepagents' own tools (`ls`, `read_file`,
`write_file`, `edit_file`, `glob`, `grep`), memory is the AGENTS.md file the
agent's MemoryMiddleware loads into the system prompt (read_memory is what
the model is shown there), and evicted results are written by the real
filesystem middleware when an app tool returns more than its token limit.
The reply is what the model was shown.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ..mapping import AdapterError, Subject
from .mapping import LgSession, _kind



def _scripted_model() -> Any:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class ScriptedModel(BaseChatModel):
        """Replays `calls` (one tool call per turn), then answers "done".
        `seen` keeps the messages of each turn (system prompt included)."""

        calls: list = []
        seen: list = []

        @property
        def _llm_type(self) -> str:
            return "isocheck-scripted"

        def bind_tools(self, tools: Any, **kw: Any) -> Any:
            return self

        def _generate(self, messages: list, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
            self.seen.append(list(messages))
            if self.calls:
                name, args, call_id = self.calls.pop(0)
                msg = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])
            else:
                msg = AIMessage(content="done")
            return ChatResult(generations=[ChatGeneration(message=msg)])

    return ScriptedModel()


def _big_result_tool() -> Any:
    """An app tool that returns what the harness gives it (the content to
    evict, padded past the middleware's 20,000-token limit)."""
    from langchain_core.tools import tool

    @tool
    def fetch_report(content: str) -> str:
        """Returns the report."""
        return content + "\n" + ("." * 100 + "\n") * 1000

    return fetch_report


class AgentSession:
    def __init__(self, direct: LgSession) -> None:
        self.tenancy_id: str | None = None
        self.direct = direct
        self.model = _scripted_model()
        self.agents: dict[str, Any] = {}
        self.n = 0
        self.ops = {k: (lambda r, k=k: (getattr(self, "_" + k)(r), None))
                    for k in ("write", "read", "read_bytes", "edit", "ls_info", "glob_info", "grep_raw", "exists",
                              "save_memory", "read_memory", "evict")}

    def agent(self, name: str = "main") -> Any:
        """The app's agent `name` on the user's backend: create_deep_agent
        with its memory file (`memory=[/memories/{name}/AGENTS.md]`)."""
        a = self.agents.get(name)
        if a is None:
            from deepagents import create_deep_agent

            a = self.agents[name] = create_deep_agent(
                model=self.model, tools=[_big_result_tool()], backend=self.direct.backend,
                memory=[self.direct.memory_path(name)], system_prompt="isocheck agent", name=name)
        return a

    def _run(self, name: str, args: dict, call_id: str | None = None, agent: str = "main") -> str:
        """One turn: the model calls `name(**args)`; returns the tool's reply."""
        from langchain_core.messages import HumanMessage, ToolMessage

        self.n += 1
        cid = call_id or f"call_{self.n}"
        self.model.calls[:] = [(name, args, cid)]
        self.model.seen[:] = []
        out = self.agent(agent).invoke({"messages": [HumanMessage(content=f"isocheck: {name}")]})
        for m in out["messages"]:
            if isinstance(m, ToolMessage) and m.tool_call_id == cid:
                text = m.content if isinstance(m.content, str) else str(m.content)
                if m.status == "error":
                    raise AdapterError(_kind(text), text)
                return text
        raise AdapterError("failed", f"the agent did not run {name}")

    def _fail_on(self, text: str) -> str:
        if text.startswith("Error") or text.startswith("Cannot"):
            raise AdapterError(_kind(text), text)
        return text

    def _write(self, r: dict) -> None:
        self._fail_on(self._run("write_file", {"file_path": r["path"], "content": r["content"]}))

    @staticmethod
    def _body(text: str) -> str:
        """read_file's reply without its `@@ lines a-b of n @@` header."""
        first, _, rest = text.partition("\n")
        if first.startswith("@@ ") and first.endswith(" @@"):
            return rest
        return text

    def _read(self, r: dict) -> str:
        return self._body(self._fail_on(self._run("read_file", {"file_path": r["path"], "offset": int(r["offset"]),
                                                                "limit": int(r["limit"])})))

    def _read_bytes(self, r: dict) -> str:
        text = self._body(self._fail_on(self._run("read_file", {"file_path": r["path"], "offset": 0, "limit": 100000})))
        return text.encode().hex()

    def _edit(self, r: dict) -> int:
        self._run("read_file", {"file_path": r["path"]})
        text = self._fail_on(self._run("edit_file", {"file_path": r["path"], "old_string": r["old"],
                                                     "new_string": r["new"], "replace_all": bool(r["replace_all"])}))
        m = re.search(r"(\d+) (?:instance|occurrence)", text)
        return int(m.group(1)) if m else 1

    def _paths(self, text: str) -> list:
        text = self._fail_on(text)
        if text.startswith("No files found"):
            return []
        try:
            v = ast.literal_eval(text.split("\n", 1)[0])
        except (ValueError, SyntaxError):
            raise AdapterError("failed", f"unparsed tool reply: {text[:200]}") from None
        return [{"path": p.rstrip("/") or "/", "is_dir": p.endswith("/") and p != "/"} for p in v]

    def _ls_info(self, r: dict) -> list:
        return self._paths(self._run("ls", {"path": r["path"]}))

    def _glob_info(self, r: dict) -> list:
        return self._paths(self._run("glob", {"pattern": r["pattern"], "path": r.get("path") or "/"}))

    def _grep_raw(self, r: dict) -> list:
        args = {"pattern": r["pattern"], "output_mode": "content"}
        if r.get("path"):
            args["path"] = r["path"]
        if r.get("glob"):
            args["glob"] = r["glob"]
        text = self._fail_on(self._run("grep", args))
        out, path = [], None
        for line in text.split("\n"):
            m = re.match(r"^  (\d+): (.*)$", line)
            if m and path is not None:
                out.append({"path": path, "line_number": int(m.group(1)), "line": m.group(2)})
            elif line.endswith(":") and line.startswith("/"):
                path = line[:-1]
        return out

    def _exists(self, r: dict) -> bool:
        path = r["path"].rstrip("/") or "/"
        parent = path.rsplit("/", 1)[0] or "/"
        try:
            return any(e["path"] == path for e in self._ls_info({"path": parent}))
        except AdapterError:
            return False

    def _memory_path(self, agent: str) -> str:
        return self.direct.memory_path(agent)

    def _save_memory(self, r: dict) -> str:
        # The agent writes its own memory file with write_file.
        path = self._memory_path(r["agent"])
        self._fail_on(self._run("write_file", {"file_path": path, "content": r["content"]}, agent=r["agent"]))
        return path

    def _read_memory(self, r: dict) -> str | None:
        """The memory section of the system prompt the model is shown."""
        path = self._memory_path(r["agent"])
        self._run("ls", {"path": "/"}, agent=r["agent"])
        system = self.model.seen[0][0].content if self.model.seen else ""
        if not isinstance(system, str):
            system = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in system)
        i = system.find(path + "\n\n")
        if i < 0:
            return None
        body = system[i + len(path) + 2:]
        end = body.find("</agent_memory>")
        return (body[:end] if end >= 0 else body).strip() or None

    def _evict(self, r: dict) -> str:
        text = self._run("fetch_report", {"content": r["content"]}, call_id=r["call_id"])
        m = re.search(r"(/large_tool_results/[^\s`'\"]+)", text)
        if not m:
            raise AdapterError("failed", f"the result was not evicted: {text[:200]}")
        return m.group(1)


class AgentSubject(Subject):
    """Wraps a deepagents subject: each session becomes an agent on the
    user's own backend."""

    def __init__(self, inner: Subject) -> None:
        self.inner = inner
        if not inner.capabilities().get("files"):
            raise AdapterError("unsupported", "agent mode drives deepagents' agent on a backend: this factory "
                                              "gives none (a checkpointer only; its direct mode covers it)")

    def capabilities(self) -> dict:
        caps = dict(self.inner.capabilities())
        caps["execute"] = False
        caps["checkpoints"] = False
        caps["history"] = False
        # The agent is driven without a request: no identifier is presented.
        caps.pop("identifiers", None)
        return caps

    def new_tenancy(self, tid: str) -> Any:
        return self.inner.new_tenancy(tid)

    def close_tenancy(self, t: Any) -> Any:
        return self.inner.close_tenancy(t)

    def open(self, t: Any, user: str) -> Any:
        s = self.inner.open(t, user)
        if getattr(s, "backend", None) is None:
            raise AdapterError("unsupported", "agent mode needs a deepagents backend")
        return AgentSession(s)
