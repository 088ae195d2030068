"""LangGraph checkpointers and stores, and LangChain deepagents backends
(the `deepagents` pinned set: bash scripts/python-venv.sh deepagents).

Only the standard library at import: the adapter package still works where
langgraph is absent; the modules below import it when used.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

# Ready factories of this stack (see factories.READY); the names only, so
# that the list needs no langgraph to print.
READY_NAMES = tuple(
    [f"lg-{w}-thread-{k}" for w in ("constant", "user", "request") for k in ("memory", "sqlite", "postgres")]
    + ["da-store-static-ns", "da-store-user-ns", "da-store-static-ns-postgres", "da-store-user-ns-postgres",
       "da-fs-virtual", "da-fs-host-paths", "da-local-shell",
       "da-composite-memories"]
)


def ready(name: str) -> Callable[[], Any]:
    def make() -> Any:
        from .factories import READY

        return READY[name]()
    return make


def claims(result: Any) -> bool:
    """Whether a factory's result is a LangGraph/deepagents object (or a
    dict of them): then this package maps it."""
    def ours(o: Any) -> bool:
        m = type(o).__module__ or ""
        return m.startswith(("deepagents", "langgraph"))
    if isinstance(result, dict):
        if "checkpointer" in result or "thread_id" in result or "namespace" in result:
            return True
        return any(ours(v) for v in result.values())
    return ours(result)


def takes_thread_id(fn: Callable) -> bool:
    """Whether the app's factory takes the thread id from the request."""
    try:
        return "thread_id" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def call_factory(fn: Callable, user: str, tenancy: Any, present: dict | None = None) -> Any:
    """`fn(user)`, or `fn(user, thread_id=<what the user presents>)` when the
    app takes the thread id from the request: the one its own client kept,
    or the one `present` carries (identifier replay)."""
    if not takes_thread_id(fn):
        return fn(user)
    if present:
        return fn(user, thread_id=present.get("thread_id"))
    threads = _state(tenancy).setdefault("threads", {})
    return fn(user, thread_id=threads.get(user))


def _state(tenancy: Any) -> dict:
    st = getattr(tenancy, "lg_state", None)
    if st is None:
        st = {}
        try:
            tenancy.lg_state = st
        except AttributeError:
            pass
    return st


def session_of(result: Any, tenancy: Any, user: str | None = None, keep: bool = True,
               hand_out: bool = False) -> Any:
    """The session of a factory's LangGraph/deepagents result, with the
    tenancy's (the app's) checkpoint id map and compiled graphs; the client
    keeps the thread id the app gave the user."""
    from .factories import session_of as make
    from .mapping import IdMap

    st = _state(tenancy) if tenancy is not None else {}
    s = make(result, st.setdefault("ids", IdMap()), st.setdefault("graphs", {}))
    if user is not None and s.config is not None:
        try:
            tid = str(s.config["configurable"]["thread_id"])
        except (KeyError, TypeError):
            tid = None
        if tid is not None and keep:
            # The user's own client keeps it (a presented one is not kept).
            st.setdefault("threads", {})[user] = tid
        if tid is not None and hand_out:
            s.identifiers = {"thread_id": tid}
    return s


def agent_mode_is_ours(factory: str, subject: Any) -> bool:
    """Whether --agent means deepagents' agent: a ready factory of this
    stack, or a user factory whose app imported deepagents (and not
    pydantic-deep)."""
    import sys

    if factory in READY_NAMES:
        return True
    return "deepagents" in sys.modules and "pydantic_deep" not in sys.modules
