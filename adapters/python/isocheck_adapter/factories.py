"""Subjects: a user factory (`module:function`) and the ready factories that
reproduce the guide's setups with the real packages."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import shutil
import sys
import tempfile
from types import SimpleNamespace
from typing import Any, Callable

from . import langgraph as _lg
from .mapping import AdapterError, ContextSeeds, Session, Subject, as_history, record_debris

PROBE_USERS = ("isocheckprobe", "isocheck-probe", "probe_user_1")


def _short(e: BaseException, n: int = 240) -> str:
    m = f"{type(e).__name__}: {e}"
    return m if len(m) <= n else m[:n] + "..."


def _has_deep() -> bool:
    return importlib.util.find_spec("pydantic_deep") is not None


def _execute_enabled(backend: Any) -> bool:
    fn = getattr(backend, "execute", None)
    if not callable(fn):
        return False
    flag = getattr(backend, "execute_enabled", None)
    if isinstance(flag, bool):
        return flag
    if callable(flag):
        try:
            return bool(flag())
        except Exception:  # noqa: BLE001
            return False
    return bool(getattr(backend, "_enable_execute", True))


def _pick(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if not isinstance(obj, dict) and getattr(obj, n, None) is not None:
            return getattr(obj, n)
    return None


def session_of(result: Any, tenancy: Any = None, user: str | None = None, keep: bool = True,
               hand_out: bool = False) -> Session:
    """What a factory returned, as a Session: a backend alone, an object
    with `.backend` (DeepAgentDeps, say), or a dict with `backend` (or
    `deps`) and optionally `checkpoint_store` and `history`. Deps the app
    built are kept as they are: the framework's code gets them, unchanged.
    LangGraph / deepagents objects go to the `langgraph` subpackage."""
    if _lg.claims(result):
        return _lg.session_of(result, tenancy, user, keep=keep, hand_out=hand_out)
    if hasattr(result, "read") and hasattr(result, "write") and not hasattr(result, "backend"):
        return Session(result)
    deps = result.get("deps") if isinstance(result, dict) else (result if hasattr(result, "backend") else None)
    backend = _pick(result, "backend") or (deps is not None and _pick(deps, "backend")) or None
    if backend is None:
        raise AdapterError("failed", f"the factory returned {type(result).__name__}, which has no backend")
    ck = _pick(result, "checkpoint_store", "checkpoints") or (deps is not None and _pick(deps, "checkpoint_store")) or None
    hist = as_history(_pick(result, "history", "message_history"))
    if deps is not None and type(deps).__name__ != "DeepAgentDeps":
        deps = None  # a container of the app's own, not the framework's deps
    return Session(backend, ck, hist, deps=deps)


_loads = 0


def load(path: str, fresh: bool = False) -> Callable:
    """`module:function` or `path/to/file.py:function`. With `fresh`, the
    module is executed anew (a fresh app: its module-level state too)."""
    global _loads
    _loads += 1
    mod_name, sep, attr = path.rpartition(":")
    if not sep or not mod_name or not attr:
        raise AdapterError("config", f"--factory {path!r}: expected module:function or file.py:function")
    if mod_name.endswith(".py") or os.sep in mod_name:
        spec = importlib.util.spec_from_file_location(f"isocheck_user_app_{_loads}", mod_name)
        if spec is None or spec.loader is None:
            raise AdapterError("config", f"--factory {path!r}: cannot load {mod_name}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as e:  # noqa: BLE001
            raise AdapterError("config", f"--factory {path!r}: importing {mod_name} failed: {type(e).__name__}: {e}")
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            mod = importlib.import_module(mod_name)
            if fresh:
                mod = importlib.reload(mod)
        except Exception as e:  # noqa: BLE001
            raise AdapterError("config", f"--factory {path!r}: importing {mod_name} failed: {type(e).__name__}: {e}")
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise AdapterError("config", f"--factory {path!r}: {mod_name} has no callable {attr!r}")
    return fn


class FactorySubject(Subject):
    """Any app's `factory(user_id)`, sync or async. Raising for a user id
    is a refusal of that id."""

    def __init__(self, fn: Callable, caps: dict | None = None, reload: Callable[[], Callable] | None = None) -> None:
        self.fn = fn
        self.caps = caps
        self.reload = reload

    def new_tenancy(self, tid: str) -> Any:
        # Each tenancy is a fresh app: the module is executed again, so its
        # module-level state (workspace base, history dicts) starts empty.
        return SimpleNamespace(id=tid, fn=self.reload() if self.reload else self.fn)

    def capabilities(self) -> dict:
        if self.caps is not None:
            return self.caps
        # Probe once with a harmless id to learn what a session offers.
        errors = []
        for probe in PROBE_USERS:
            try:
                r = self.fn(probe)
                if inspect.isawaitable(r):
                    import asyncio

                    r = asyncio.run(_await(r))
                s = session_of(r, SimpleNamespace())
                break
            except Exception as e:  # noqa: BLE001
                errors.append(f"{probe!r}: {_short(e)}")
        else:
            raise AdapterError("config", "the factory raised for every probe user id ("
                               + "; ".join(errors) + "); give the capabilities with --caps")
        if hasattr(s, "capabilities"):  # a LangGraph / deepagents session
            caps = dict(s.capabilities())
            if _lg.takes_thread_id(self.fn) and getattr(s, "config", None) is not None:
                # The app hands the thread id to its client and takes it back.
                caps["identifiers"] = ["thread_id"]
            return caps
        deep = _has_deep()
        return {
            "files": True,
            "execute": _execute_enabled(s.backend),
            "checkpoints": s.checkpoints is not None,
            "history": s.history is not None,
            "features": {"memory": deep, "plans": deep, "eviction": deep},
        }

    def open(self, tenancy: Any, user: str, present: dict | None = None) -> Any:
        try:
            r = _lg.call_factory(tenancy.fn, user, tenancy, present)
        except Exception as e:  # noqa: BLE001
            raise AdapterError("refused", f"the factory raised for this user id: {_short(e)}")
        how = {"keep": not present, "hand_out": _lg.takes_thread_id(tenancy.fn)}
        if inspect.isawaitable(r):
            return self._open_async(r, tenancy, user, how)
        return session_of(r, tenancy, user, **how)

    async def _open_async(self, r: Any, tenancy: Any = None, user: str | None = None,
                          how: dict | None = None) -> Session:
        try:
            v = await r
        except Exception as e:  # noqa: BLE001
            raise AdapterError("refused", f"the factory raised for this user id: {_short(e)}")
        return session_of(v, tenancy, user, **(how or {}))


async def _await(a: Any) -> Any:
    return await a


def _caps(persistence: str, execute: bool = False) -> dict:
    return {"files": True, "execute": execute, "checkpoints": True, "history": True,
            "features": {"memory": True, "plans": True, "eviction": True, "context": True},
            "persistence": persistence}


_SEEDS = ContextSeeds()


class Problem(Subject):
    """The guide's "The Problem": one DeepAgentDeps(backend=StateBackend())
    shared by every user of the tenancy (so one checkpoint store too);
    message histories per user."""

    def __init__(self) -> None:
        from pydantic_ai_backends import StateBackend  # noqa: F401
        from pydantic_deep import DeepAgentDeps, InMemoryCheckpointStore  # noqa: F401

    def capabilities(self) -> dict:
        # A reopened session gets the same shared backend and store, so what
        # a user saved is still there (next to everyone else's): persistent.
        return _caps("persistent")

    def new_tenancy(self, tid: str) -> Any:
        from pydantic_ai_backends import StateBackend
        from pydantic_deep import InMemoryCheckpointStore

        return SimpleNamespace(backend=StateBackend(), checkpoints=InMemoryCheckpointStore(), histories={})

    def seed_context(self, t: Any, path: str, content: str) -> None:
        _SEEDS.seed(t, path, content)

    def open(self, t: Any, user: str) -> Session:
        return _SEEDS.apply(t, Session(t.backend, t.checkpoints, as_history(t.histories.setdefault(user, []))))


class PatternA(Subject):
    """Pattern A: a fresh StateBackend + InMemoryCheckpointStore per session."""

    def __init__(self) -> None:
        from pydantic_ai_backends import StateBackend  # noqa: F401
        from pydantic_deep import InMemoryCheckpointStore  # noqa: F401

    def capabilities(self) -> dict:
        # Every open makes a new backend and store: nothing survives a reopen.
        return _caps("ephemeral")

    def new_tenancy(self, tid: str) -> Any:
        return SimpleNamespace(histories={})

    def seed_context(self, t: Any, path: str, content: str) -> None:
        _SEEDS.seed(t, path, content)

    def open(self, t: Any, user: str) -> Session:
        from pydantic_ai_backends import StateBackend
        from pydantic_deep import InMemoryCheckpointStore

        s = Session(StateBackend(), InMemoryCheckpointStore(), as_history(t.histories.setdefault(user, [])))
        return _SEEDS.apply(t, s)


class PatternB(Subject):
    """Pattern B exactly as the guide writes it, with temp bases per tenancy:
    LocalBackend(root_dir=f"{base}/{user_id}") and
    FileCheckpointStore(f"{base2}/{user_id}"). The user id goes into the
    path raw, as in the guide."""

    def __init__(self) -> None:
        from pydantic_ai_backends import LocalBackend  # noqa: F401
        from pydantic_deep import FileCheckpointStore  # noqa: F401

    def capabilities(self) -> dict:
        # Files and checkpoints on disk under the user's directories: a
        # reopened session finds them again. LocalBackend's default:
        # enable_execute=True.
        return _caps("persistent", execute=True)

    def seed_context(self, t: Any, path: str, content: str) -> None:
        _SEEDS.seed(t, path, content)

    def new_tenancy(self, tid: str) -> Any:
        top = tempfile.mkdtemp(prefix=f"isocheck-pattern-b-{tid}-")
        base, base2 = f"{top}/workspaces", f"{top}/checkpoints"
        os.makedirs(base)
        os.makedirs(base2)
        return SimpleNamespace(top=top, base=base, base2=base2, histories={})

    def close_tenancy(self, t: Any) -> None:
        shutil.rmtree(t.top, ignore_errors=True)

    def open(self, t: Any, user_id: str) -> Session:
        from pydantic_ai_backends import LocalBackend
        from pydantic_deep import FileCheckpointStore

        base, base2 = t.base, t.base2
        try:
            backend = LocalBackend(root_dir=f"{base}/{user_id}")
            store = FileCheckpointStore(f"{base2}/{user_id}")
        except Exception as e:  # noqa: BLE001 - the app would fail this request
            raise AdapterError("refused", _short(e))
        s = Session(backend, store, as_history(t.histories.setdefault(user_id, [])))
        try:
            return _SEEDS.apply(t, s)
        except AdapterError:
            raise
        except Exception as e:  # noqa: BLE001 - a root the app cannot write
            raise AdapterError("failed", f"seeding the context files: {_short(e)}")


SANDBOX_IMAGE_ENV = "ISOCHECK_DOCKER_IMAGE"
DEFAULT_SANDBOX_IMAGE = "isocheck-sandbox:busybox"


def sandbox_image() -> str:
    """The image pattern-c runs: $ISOCHECK_DOCKER_IMAGE, or the busybox image
    `scripts/docker-engine.sh start` builds. DockerSandbox's own default,
    python:3.12-slim, would be pulled from Docker Hub."""
    return os.environ.get(SANDBOX_IMAGE_ENV, "").strip() or DEFAULT_SANDBOX_IMAGE


def docker_reachable(image: str | None = None) -> str | None:
    """None when a Docker engine answers (and holds `image`); otherwise the reason."""
    try:
        import docker  # type: ignore
    except ImportError as e:
        return f"the docker Python SDK is not installed ({e})"
    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as e:  # noqa: BLE001
        return f"no Docker engine is reachable ({type(e).__name__}: {e})"
    if image is not None:
        try:
            client.images.get(image)
        except Exception as e:  # noqa: BLE001
            return (f"image {image} is not in the Docker engine ({type(e).__name__}; "
                    f"scripts/docker-engine.sh start builds {DEFAULT_SANDBOX_IMAGE}, or set {SANDBOX_IMAGE_ENV})")
    return None


class PatternC(Subject):
    """Pattern C as the guide writes it: `SessionManager(workspace_root=...)`
    hands out one DockerSandbox per user id, and `FileCheckpointStore(
    f"/checkpoints/{user_id}")`; one manager per tenancy. The one change:
    the manager's runtime names a local image (`sandbox_image()`), since
    the default one cannot be pulled here. SessionManager mounts
    `{workspace_root}/{user_id}/workspace` at /workspace: the raw id.

    The framework gets the sandbox itself, so pydantic-deep's absolute
    paths (`/.deep/memory/...`, `/plans/...`, `/large_tool_results/...`)
    land in the container's own filesystem, outside the mounted workspace.
    isocheck's own probes address the workspace (`/x` is `/workspace/x`,
    `WorkspaceView`). A returning user (a second open of the same id) comes
    back after its session ended: the manager's `release` stops its sandbox
    first, as its idle cleanup does, and `get_or_create` starts a new one on
    the same workspace. What lived outside the workspace is gone then."""

    def __init__(self) -> None:
        self.image = sandbox_image()
        why = docker_reachable(self.image)
        if why is not None:
            raise AdapterError("unsupported", f"pattern-c needs Docker: {why}")
        from pydantic_ai_backends import SessionManager  # noqa: F401
        from pydantic_deep import FileCheckpointStore  # noqa: F401

    def capabilities(self) -> dict:
        # The guide: "Full isolation, persistence". Checkpoints are files,
        # the workspace is a host directory mounted into each new sandbox.
        return _caps("persistent", execute=True)

    def seed_context(self, t: Any, path: str, content: str) -> None:
        _SEEDS.seed(t, path, content)

    def new_tenancy(self, tid: str) -> Any:
        from pydantic_ai_backends import RuntimeConfig, SessionManager

        top = tempfile.mkdtemp(prefix=f"isocheck-pattern-c-{tid}-")
        os.makedirs(f"{top}/workspaces")
        runtime = RuntimeConfig(name="isocheck-sandbox", image=self.image)
        manager = SessionManager(workspace_root=f"{top}/workspaces", default_runtime=runtime)
        return SimpleNamespace(top=top, manager=manager, histories={}, seen=set())

    async def close_tenancy(self, t: Any) -> None:
        try:
            await t.manager.shutdown()
        finally:
            shutil.rmtree(t.top, ignore_errors=True)

    async def open(self, t: Any, user_id: str) -> Session:
        from pydantic_deep import FileCheckpointStore

        try:
            if user_id in t.seen:
                # A returning user: its earlier session ended.
                await t.manager.release(user_id)
            t.seen.add(user_id)
            sandbox = await t.manager.get_or_create(user_id)
            container = getattr(sandbox, "_container", None)
            if container is not None:
                record_debris("docker-container", container.id)
            store = FileCheckpointStore(f"{t.top}/checkpoints/{user_id}")
        except Exception as e:  # noqa: BLE001 - the app would fail this request
            raise AdapterError("refused", _short(e))
        s = Session(sandbox, store, as_history(t.histories.setdefault(user_id, [])))
        return await _SEEDS.apply_async(t, s)


READY: dict[str, Callable[[], Subject]] = {
    "problem": Problem,
    "pattern-a": PatternA,
    "pattern-b": PatternB,
    "pattern-c": PatternC,
}
# LangGraph checkpointers and deepagents backends (imported when chosen).
READY.update({name: _lg.ready(name) for name in _lg.READY_NAMES})
