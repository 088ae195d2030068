"""Subjects for LangGraph checkpointers and LangChain deepagents backends:
what a user factory returns, and the ready factories for the common setups,
right and wrong, on the real packages.

A user factory takes the user id and returns what the app uses for that
user, sync or async:

- a deepagents backend (StoreBackend, FilesystemBackend, LocalShellBackend,
  CompositeBackend, ...): the user's files, memory and evicted results;
- or a dict with any of `backend`, `checkpointer` and `config` (the
  RunnableConfig the app runs its graph with, or just `thread_id`), and
  `store` + `namespace` (a LangGraph BaseStore and the namespace tuple the
  app files the user's data under: served through deepagents' StoreBackend).

An app that takes the thread id from the request declares a keyword
parameter `thread_id`: the factory gets the identifier the user presents
(None on a first visit; the app then makes a thread and the client keeps
its id, so a returning user presents it again).
"""

from __future__ import annotations

import inspect
import os
import shutil
import sqlite3
import tempfile
import uuid
from types import SimpleNamespace
from typing import Any, Callable

from ..mapping import AdapterError, Subject
from .mapping import IdMap, LgSession, conversation_graph, probe_view

POSTGRES_URL_ENV = "ISOCHECK_POSTGRES_URL"


def _short(e: BaseException, n: int = 240) -> str:
    m = f"{type(e).__name__}: {e}"
    return m if len(m) <= n else m[:n] + "..."


def session_of(result: Any, ids: IdMap | None = None, graphs: dict | None = None) -> LgSession:
    if not isinstance(result, dict):
        return LgSession(backend=result)
    backend = result.get("backend")
    store = result.get("store")
    if backend is None and store is not None:
        from deepagents.backends import StoreBackend

        ns = result.get("namespace")
        if ns is None:
            raise AdapterError("failed", "the factory returned a store without a namespace")
        ns_fn = ns if callable(ns) else (lambda _rt, ns=tuple(ns): ns)
        backend = StoreBackend(store=store, namespace=ns_fn)
    saver = result.get("checkpointer")
    config = result.get("config")
    if config is None and "thread_id" in result:
        config = {"configurable": {"thread_id": result["thread_id"]}}
    graph = None
    if saver is not None:
        if config is None:
            raise AdapterError("failed", "the factory returned a checkpointer without a config (or thread_id)")
        if graphs is not None:
            graph = graphs.get(id(saver))
            if graph is None:
                graph = graphs[id(saver)] = conversation_graph(saver)
    return LgSession(backend=backend, saver=saver, config=config, ids=ids, graph=graph,
                     memory_path=result.get("memory_path"), store=store)


class Client:
    """What a user's client keeps between visits: the thread id the app gave
    it (the honest client presents its own)."""

    def __init__(self) -> None:
        self.threads: dict[str, str] = {}

    def present(self, user: str) -> str | None:
        return self.threads.get(user)

    def keep(self, user: str, session: LgSession) -> None:
        if session.config is not None:
            self.threads[user] = str(session.config["configurable"]["thread_id"])


# -- checkpointers ----------------------------------------------------------
def _need_langgraph() -> None:
    try:
        import langgraph.checkpoint.memory  # noqa: F401
        import deepagents  # noqa: F401
    except ImportError as e:
        raise AdapterError("unsupported", f"needs the deepagents pinned set (bash scripts/python-venv.sh deepagents): {e}")


class Saver:
    """Makes one checkpointer (and closes it) per tenancy, as an app makes
    one at startup: InMemorySaver, SqliteSaver on a file, PostgresSaver on
    the server $ISOCHECK_POSTGRES_URL names, in a schema of its own."""

    def __init__(self, kind: str) -> None:
        _need_langgraph()
        self.kind = kind
        self.url = os.environ.get(POSTGRES_URL_ENV, "").strip()
        if kind == "postgres":
            if not self.url:
                raise AdapterError("unsupported", f"PostgresSaver needs a PostgreSQL server: set {POSTGRES_URL_ENV} "
                                                  "(eval \"$(scripts/postgres.sh start)\")")
            try:
                import psycopg

                psycopg.connect(self.url, connect_timeout=5).close()
            except Exception as e:  # noqa: BLE001
                raise AdapterError("unsupported", f"PostgreSQL at {POSTGRES_URL_ENV} does not answer: {_short(e)}")

    def open(self, t: Any) -> Any:
        if self.kind == "memory":
            from langgraph.checkpoint.memory import InMemorySaver

            return InMemorySaver()
        if self.kind == "sqlite":
            from langgraph.checkpoint.sqlite import SqliteSaver

            t.top = tempfile.mkdtemp(prefix=f"isocheck-sqlite-{t.id}-")
            t.conn = sqlite3.connect(f"{t.top}/checkpoints.sqlite", check_same_thread=False)
            return SqliteSaver(t.conn)
        from langgraph.checkpoint.postgres import PostgresSaver

        saver = PostgresSaver(self.connect(t))
        saver.setup()
        return saver

    def connect(self, t: Any) -> Any:
        """A schema of the tenancy's own, and the connection
        PostgresSaver/PostgresStore.from_conn_string would open, in it."""
        import psycopg
        from psycopg.rows import dict_row

        t.schema = f"isocheck_{os.getpid()}_{t.id}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{t.schema}"')
        t.conn = psycopg.connect(self.url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                                 options=f"-c search_path={t.schema}")
        return t.conn

    def close(self, t: Any) -> None:
        conn = getattr(t, "conn", None)
        if conn is not None:
            conn.close()
        if getattr(t, "schema", None):
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA "{t.schema}" CASCADE')
        if getattr(t, "top", None):
            shutil.rmtree(t.top, ignore_errors=True)


class ThreadSubject(Subject):
    """One checkpointer for the app; each user's thread id chosen by
    `thread(user, presented)`."""

    def __init__(self, kind: str, thread: Callable[[str, str | None], str], persistence: str = "persistent",
                 from_request: bool = False) -> None:
        self.saver = Saver(kind)
        self.thread = thread
        self.persistence = persistence
        # Whether the app takes the thread id from the request (and so hands
        # it to the client, which presents it back).
        self.from_request = from_request

    def capabilities(self) -> dict:
        caps = {"files": False, "execute": False, "checkpoints": True, "history": True,
                "features": {"memory": False, "plans": False, "eviction": False},
                "persistence": self.persistence}
        if self.from_request:
            caps["identifiers"] = ["thread_id"]
        return caps

    def new_tenancy(self, tid: str) -> Any:
        t = SimpleNamespace(id=tid, ids=IdMap(), client=Client(), graphs={})
        t.saver = self.saver.open(t)
        return t

    def close_tenancy(self, t: Any) -> None:
        self.saver.close(t)

    def open(self, t: Any, user: str, present: dict | None = None) -> LgSession:
        # The honest client presents the thread id the app gave it; a
        # presented one (identifier replay) is what a request carries.
        presented = present.get("thread_id") if present else t.client.present(user)
        tid = self.thread(user, presented)
        s = session_of({"checkpointer": t.saver, "config": {"configurable": {"thread_id": tid}}}, t.ids, t.graphs)
        if not present:
            t.client.keep(user, s)
        if self.from_request:
            s.identifiers = {"thread_id": tid}
        return s


def constant_thread(kind: str) -> Callable[[], Subject]:
    # The docs' quickstart config, for every user: {"thread_id": "1"}.
    return lambda: ThreadSubject(kind, lambda user, presented: "1")


def user_thread(kind: str) -> Callable[[], Subject]:
    # Derived from the authenticated user: f"user-{user_id}".
    return lambda: ThreadSubject(kind, lambda user, presented: f"user-{user}")


def request_thread(kind: str) -> Callable[[], Subject]:
    # Taken from the request, no ownership check; a new uuid when none.
    return lambda: ThreadSubject(kind, lambda user, presented: presented or str(uuid.uuid4()), from_request=True)


# -- deepagents backends ----------------------------------------------------
class BackendSubject(Subject):
    """`make(t, user)` gives the user's backend, per tenancy (a fresh app)."""

    def __init__(self, make: Callable[[Any, str], Any], persistence: str, execute: bool = False,
                 needs_dir: bool = False, features: bool = True, store: str = "memory") -> None:
        _need_langgraph()
        # The app's store: InMemoryStore, or PostgresStore on $ISOCHECK_POSTGRES_URL.
        self.pg = Saver("postgres") if store == "postgres" else None
        self.make = make
        self.persistence = persistence
        self.execute = execute
        self.needs_dir = needs_dir
        self.features = features

    def capabilities(self) -> dict:
        f = self.features
        return {"files": True, "execute": self.execute, "checkpoints": False, "history": False,
                "features": {"memory": f, "plans": False, "eviction": f},
                "persistence": self.persistence}

    def new_tenancy(self, tid: str) -> Any:
        from langgraph.store.memory import InMemoryStore

        t = SimpleNamespace(id=tid)
        if self.pg is not None:
            from langgraph.store.postgres import PostgresStore

            t.store = PostgresStore(self.pg.connect(t))
            t.store.setup()
        else:
            t.store = InMemoryStore()
        if self.needs_dir:
            t.top = tempfile.mkdtemp(prefix=f"isocheck-deepagents-{tid}-")
            t.base = f"{t.top}/workspaces"
            os.makedirs(t.base)
        return t

    def close_tenancy(self, t: Any) -> None:
        if self.pg is not None:
            self.pg.close(t)
        if getattr(t, "top", None):
            shutil.rmtree(t.top, ignore_errors=True)

    def open(self, t: Any, user: str) -> LgSession:
        try:
            b = self.make(t, user)
        except Exception as e:  # noqa: BLE001 - the app would fail this request
            raise AdapterError("refused", _short(e))
        return LgSession(backend=b, files=probe_view(b), features=self.features)


def _store_static(t: Any, user: str) -> Any:
    from deepagents.backends import StoreBackend

    # One namespace for everybody: `namespace=lambda rt: ("filesystem",)`.
    return StoreBackend(store=t.store, namespace=lambda rt: ("filesystem",))


def _store_user(t: Any, user: str) -> Any:
    from deepagents.backends import StoreBackend

    # The user in the namespace, as the docs' `(rt.server_info.user.identity,
    # "filesystem")`: here the authenticated user id the request carries.
    return StoreBackend(store=t.store, namespace=lambda rt: (user, "filesystem"))


def _fs(virtual: bool) -> Callable[[Any, str], Any]:
    def make(t: Any, user: str) -> Any:
        from deepagents.backends import FilesystemBackend

        return FilesystemBackend(root_dir=f"{t.base}/{user}", virtual_mode=virtual)
    return make


def _local_shell(t: Any, user: str) -> Any:
    from deepagents.backends import LocalShellBackend

    # The app makes the user's workspace, then a shell rooted there. The
    # shell gets no environment of the app's (inherit_env=False, the
    # default), so it would use the host's /tmp: it is given the adapter's
    # private TMPDIR, which users still share as they would share /tmp.
    root = f"{t.base}/{user}"
    os.makedirs(root, exist_ok=True)
    tmp = os.environ.get("TMPDIR") or tempfile.gettempdir()
    return LocalShellBackend(root_dir=root, virtual_mode=True, env={"TMPDIR": tmp})


def _composite(t: Any, user: str) -> Any:
    from deepagents.backends import CompositeBackend, StateBackend, StoreBackend

    # The docs' hybrid setup: ephemeral files in the graph state, /memories/
    # in the store under the user's namespace.
    return CompositeBackend(default=StateBackend(),
                            routes={"/memories/": StoreBackend(store=t.store, namespace=lambda rt: (user, "memories"))})


READY: dict[str, Callable[[], Subject]] = {}
for _k in ("memory", "sqlite", "postgres"):
    READY[f"lg-constant-thread-{_k}"] = constant_thread(_k)
    READY[f"lg-user-thread-{_k}"] = user_thread(_k)
    READY[f"lg-request-thread-{_k}"] = request_thread(_k)
READY.update({
    "da-store-static-ns": lambda: BackendSubject(_store_static, "persistent"),
    "da-store-user-ns": lambda: BackendSubject(_store_user, "persistent"),
    "da-store-static-ns-postgres": lambda: BackendSubject(_store_static, "persistent", store="postgres"),
    "da-store-user-ns-postgres": lambda: BackendSubject(_store_user, "persistent", store="postgres"),
    "da-fs-virtual": lambda: BackendSubject(_fs(True), "persistent", needs_dir=True),
    # virtual_mode=False: deepagents' memory and evicted results would go to
    # the host's own /memories/ and /large_tool_results/ (absolute paths are
    # host paths): not exercised, so that the host stays clean; probes go
    # through HostPathsView.
    "da-fs-host-paths": lambda: BackendSubject(_fs(False), "persistent", needs_dir=True, features=False),
    "da-local-shell": lambda: BackendSubject(_local_shell, "persistent", execute=True, needs_dir=True),
    "da-composite-memories": lambda: BackendSubject(_composite, "persistent"),
})
