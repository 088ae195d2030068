"""Subjects of the workspace generation (pydantic-deep 0.3.50): a user
factory (`module:function`) and ready factories that reproduce the current
release's documented multi-user setups with the real packages."""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import tempfile
from types import SimpleNamespace
from typing import Any, Callable

from ..factories import FactorySubject as _GuideFactorySubject
from ..factories import PROBE_USERS, _short, load  # noqa: F401 - load: the same --factory forms
from ..mapping import AdapterError, ContextSeeds, Subject, as_history
from .mapping import WorkspaceSession, as_workspace, is_workspace_like

# The guide-era ready factories: named here to say they need the other environment.
OTHER_READY = ("problem", "pattern-a", "pattern-b", "pattern-c")


def _pick(obj: Any, *names: str) -> Any:
    for n in names:
        v = obj.get(n) if isinstance(obj, dict) else getattr(obj, n, None)
        if v is not None:
            return v
    return None


async def session_of(result: Any) -> WorkspaceSession:
    """What a factory returned, as a session: a workspace (a pydantic-ai
    `Workspace`, a backend, or a workspace capability such as
    `LocalWorkspace`) alone, or a dict / object with `workspace` and
    optionally `checkpoint_store`, `history`, `deps` (the app's
    DeepAgentDeps, kept as they are), `memory` (a harness `Memory`
    capability) or `memory_namespace` (what `create_deep_agent(
    memory_namespace=...)` takes: a string or a function of the run's
    context). The app's objects are used unchanged."""
    if is_workspace_like(result) and not isinstance(result, dict):
        provider, rest = result, None
    else:
        provider, rest = _pick(result, "workspace"), result
    if provider is None:
        raise AdapterError("failed", f"the factory returned {type(result).__name__}, which has no workspace "
                           "(pydantic-deep 0.3.50 keeps files in a workspace, not in DeepAgentDeps)")
    deps = _pick(rest, "deps") if rest is not None else None
    ck = (_pick(rest, "checkpoint_store", "checkpoints") if rest is not None else None) or (
        getattr(deps, "checkpoint_store", None) if deps is not None else None)
    hist = as_history(_pick(rest, "history", "message_history")) if rest is not None else None
    memory = _pick(rest, "memory") if rest is not None else None
    ns = _pick(rest, "memory_namespace") if rest is not None else None
    if memory is None and ns is not None:
        from pydantic_deep.features.memory.store import build_memory_capability

        memory = build_memory_capability(agent_name="main", namespace=ns)
        memory._isocheck_default = True  # create_deep_agent(memory_namespace=ns) builds it so
    ctx = SimpleNamespace(deps=deps)
    workspace = as_workspace(provider, ctx)
    root = await workspace.working_dir()
    return WorkspaceSession(workspace, ck, hist, deps=deps, memory=memory, root=root, provider=provider)


def _caps(persistence: str | None, execute: bool, checkpoints: bool = True, history: bool = True) -> dict:
    caps = {"files": True, "execute": execute, "checkpoints": checkpoints, "history": history,
            "features": {"memory": True, "plans": True, "eviction": True, "context": True}}
    if persistence is not None:
        caps["persistence"] = persistence
    return caps


def _runs_commands(s: WorkspaceSession) -> bool:
    from pydantic_ai.workspaces import SupportsCommands

    return isinstance(s.workspace.backend, SupportsCommands) and not s.workspace.read_only


class FactorySubject(_GuideFactorySubject):
    """Any 0.3.50 app's `factory(user_id)`, sync or async. Raising for a
    user id is a refusal of that id. The factory, `--caps` and the fresh
    app per tenancy are as in the guide's generation; the session is built
    from a workspace."""

    def capabilities(self) -> dict:
        if self.caps is not None:
            return self.caps
        import asyncio

        errors = []
        for probe in PROBE_USERS:
            try:
                s = asyncio.run(self._probe(probe))
                break
            except Exception as e:  # noqa: BLE001
                errors.append(f"{probe!r}: {_short(e)}")
        else:
            raise AdapterError("config", "the factory raised for every probe user id ("
                               + "; ".join(errors) + "); give the capabilities with --caps")
        caps = _caps(None, _runs_commands(s), s.checkpoints is not None, s.history is not None)
        caps["features"]["context"] = False
        return caps

    async def _probe(self, user: str) -> WorkspaceSession:
        r = self.fn(user)
        if inspect.isawaitable(r):
            r = await r
        return await session_of(r)

    async def open(self, tenancy: Any, user: str) -> WorkspaceSession:
        try:
            r = tenancy.fn(user)
            if inspect.isawaitable(r):
                r = await r
        except Exception as e:  # noqa: BLE001
            raise AdapterError("refused", f"the factory raised for this user id: {_short(e)}")
        return await session_of(r)


_SEEDS = ContextSeeds()


def _hashed(user_id: str) -> str:
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _Ready(Subject):
    """A ready factory: a temp base per tenancy (a fresh app), checkpoints
    and histories kept per user as the docs write them."""

    kind = "ready"
    persistence = "persistent"
    execute = True

    def capabilities(self) -> dict:
        return _caps(self.persistence, self.execute)

    def seed_context(self, t: Any, path: str, content: str) -> None:
        _SEEDS.seed(t, path, content)

    def new_tenancy(self, tid: str) -> Any:
        top = tempfile.mkdtemp(prefix=f"isocheck-{self.kind}-{tid}-")
        os.makedirs(f"{top}/workspaces")
        return SimpleNamespace(top=top, base=f"{top}/workspaces", histories={}, stores={})

    def close_tenancy(self, t: Any) -> None:
        shutil.rmtree(t.top, ignore_errors=True)

    def checkpoint_store(self, t: Any, user_id: str) -> Any:
        """`FileCheckpointStore(f"/checkpoints/{user_id}")`, as the docs write
        it, under the tenancy's temp base."""
        from pydantic_deep import FileCheckpointStore

        return FileCheckpointStore(f"{t.top}/checkpoints/{user_id}")

    def parts(self, t: Any, user_id: str) -> dict:
        raise NotImplementedError

    def identifiers(self, s: WorkspaceSession) -> dict | None:
        """What the app hands this session's user to present again."""
        return None

    async def open(self, t: Any, user_id: str, present: dict | None = None) -> WorkspaceSession:
        try:
            p = self.parts(t, user_id, present) if present else self.parts(t, user_id)
            p.setdefault("checkpoint_store", self.checkpoint_store(t, user_id))
            p["history"] = t.histories.setdefault(user_id, [])
            s = await session_of(p)
        except AdapterError:
            raise
        except Exception as e:  # noqa: BLE001 - the app would fail this request
            raise AdapterError("refused", _short(e))
        ids = self.identifiers(s)
        if ids and not present:
            # The user's own client keeps what it was handed (a presented
            # identifier is not kept).
            s.identifiers = ids
        try:
            return await _SEEDS.apply_async(t, s)
        except AdapterError:
            raise
        except Exception as e:  # noqa: BLE001 - a root the app cannot write
            raise AdapterError("failed", f"seeding the context files: {_short(e)}")


class SharedWorkspace(_Ready):
    """One `LocalWorkspace(base)` for every user of the app, as the
    single-user examples write `create_deep_agent(workspace=LocalWorkspace(
    "."))`: files, memory (`.deep/memory/main/MEMORY.md`), plans and
    evicted results all land in one directory. Checkpoints and histories
    are per user."""

    kind = "ws-shared"

    def new_tenancy(self, tid: str) -> Any:
        from pydantic_ai.capabilities import LocalWorkspace

        t = super().new_tenancy(tid)
        t.workspace = LocalWorkspace(t.base)
        return t

    def parts(self, t: Any, user_id: str) -> dict:
        return {"workspace": t.workspace}


class LocalPerUser(_Ready):
    """`LocalWorkspace(f"{base}/{user_id}")` per user, the raw id in the
    path as the docs write the per-user root. `LocalWorkspace` confines
    nothing (pydantic-ai: "This isolates nothing"): tools reach any host
    path the process can."""

    kind = "ws-local-per-user"

    def parts(self, t: Any, user_id: str) -> dict:
        from pydantic_ai.capabilities import LocalWorkspace

        os.makedirs(f"{t.base}/{user_id}", exist_ok=True)
        return {"workspace": LocalWorkspace(f"{t.base}/{user_id}")}


class ConfinedPerUser(_Ready):
    """`ConfinedWorkspace(Workspace(LocalWorkspaceBackend(f"{base}/{user_id}")))`
    per user (pydantic-deep's ACP app builds its workspace this way): file
    operations confined to the root, the raw id in the root's path."""

    kind = "ws-confined-per-user"

    def root(self, t: Any, user_id: str) -> str:
        return f"{t.base}/{user_id}"

    def parts(self, t: Any, user_id: str) -> dict:
        from pydantic_ai.workspaces import LocalWorkspaceBackend, Workspace
        from pydantic_ai_backends.workspaces import ConfinedWorkspace

        root = self.root(t, user_id)
        os.makedirs(root, exist_ok=True)
        return {"workspace": ConfinedWorkspace(Workspace(LocalWorkspaceBackend(root)))}


class ConfinedHashed(ConfinedPerUser):
    """The per-user confined workspace with the root named by a hash of the
    user id (`{base}/{sha256(user_id)[:32]}`), and the checkpoint directory
    likewise: no user id can name another user's directory."""

    kind = "ws-confined-hashed"

    def root(self, t: Any, user_id: str) -> str:
        return f"{t.base}/{_hashed(user_id)}"

    def checkpoint_store(self, t: Any, user_id: str) -> Any:
        from pydantic_deep import FileCheckpointStore

        return FileCheckpointStore(f"{t.top}/checkpoints/{_hashed(user_id)}")


def _user_deps_type() -> type:
    from dataclasses import dataclass

    from pydantic_deep import DeepAgentDeps

    @dataclass
    class UserDeps(DeepAgentDeps):
        """The app's deps: DeepAgentDeps with the user's id, which the
        memory namespace reads (`lambda ctx: ctx.deps.user_id`)."""

        user_id: str = ""

    return UserDeps


class MemoryNamespaced(ConfinedHashed):
    """The harness Memory kept outside the users' workspaces, in one store
    for the whole app, as the harness docs write it for one agent serving
    many users: `Memory(FileStore(".", workspace=LocalWorkspaceBackend(
    "/var/lib/myapp/memory")), namespace=lambda ctx: ctx.deps.user_id)`
    (through pydantic-deep's `build_memory_capability`). Files in a
    per-user confined workspace (hashed root)."""

    kind = "memory-user-namespace"

    def namespace(self) -> Any:
        return lambda ctx: ctx.deps.user_id

    def new_tenancy(self, tid: str) -> Any:
        from pydantic_ai.workspaces import LocalWorkspaceBackend
        from pydantic_ai_harness.memory import FileStore
        from pydantic_deep.features.memory.store import build_memory_capability

        t = super().new_tenancy(tid)
        os.makedirs(f"{t.top}/memory")
        store = FileStore(".", workspace=LocalWorkspaceBackend(f"{t.top}/memory"))
        t.memory = build_memory_capability(agent_name="main", store=store, namespace=self.namespace())
        t.deps_type = _user_deps_type()
        return t

    def parts(self, t: Any, user_id: str) -> dict:
        p = super().parts(t, user_id)
        ck = self.checkpoint_store(t, user_id)
        p.update(checkpoint_store=ck, memory=t.memory, deps=t.deps_type(user_id=user_id, checkpoint_store=ck))
        return p


class MemorySharedNamespace(MemoryNamespaced):
    """As memory-user-namespace, but the namespace is one fixed string for
    the whole app (`memory_namespace="app"`): every user's agent writes the
    same notebook."""

    kind = "memory-shared-namespace"

    def namespace(self) -> Any:
        return "app"


class DockerPerSession(_Ready):
    """pydantic-ai-backends' `DockerWorkspace`, configured once for the app
    as the docs write it (`create_deep_agent(workspace=DockerWorkspace())`,
    here with `image=` naming the local sandbox image, since the default
    python:3.12-slim cannot be pulled). A run without a ref gets a new
    container (`pydantic-ai-workspace-<16 hex>`), kept after the run; the
    app keeps each user's ref on its side (as it keeps the user's message
    history, which carries the ref) and comes back with it, so a returning
    user attaches to its own container. Memory, plans and evicted results
    live in the container; checkpoints in `FileCheckpointStore(
    f"/checkpoints/{user_id}")` on the host. The tenancy's containers are
    removed with `DockerWorkspace.destroy` when it closes."""

    kind = "ws-docker-per-session"

    def __init__(self) -> None:
        from ..factories import docker_reachable, sandbox_image

        self.image = sandbox_image()
        why = docker_reachable(self.image)
        if why is not None:
            raise AdapterError("unsupported", f"{self.kind} needs Docker: {why}")

    def capability(self, t: Any) -> Any:
        from pydantic_ai_backends.workspaces import DockerWorkspace

        return DockerWorkspace(image=self.image)

    def new_tenancy(self, tid: str) -> Any:
        t = super().new_tenancy(tid)
        t.cap = self.capability(t)
        t.backends = {}  # user id -> the backends its sessions ran on
        return t

    async def close_tenancy(self, t: Any) -> None:
        try:
            refs = {b.ref.id: b.ref for bs in t.backends.values() for b in bs if b.ref is not None}
            for ref in refs.values():
                await t.cap.destroy(ref)
        finally:
            super().close_tenancy(t)

    def ref_for(self, t: Any, user_id: str, present: dict | None) -> Any:
        """The ref the app opens the user's workspace with: the one it kept
        for the user, or none (a new container) on a first visit."""
        mine = [b.ref for b in t.backends.get(user_id, ()) if b.ref is not None]
        return mine[-1] if mine else None

    def parts(self, t: Any, user_id: str, present: dict | None = None) -> dict:
        from pydantic_ai.workspaces import Workspace

        backend = t.cap.backend(self.ref_for(t, user_id, present))
        if not present:
            # The app keeps the ref of the user's own session, never one a
            # request presented.
            t.backends.setdefault(user_id, []).append(backend)
        return {"workspace": Workspace(backend)}


class DockerFixedName(DockerPerSession):
    """`DockerWorkspace(container_name=...)` configured once for the app,
    as the docs offer it so that "a later process finds the same container
    by name": every run, whoever's, attaches to that one container. The
    name carries the tenancy's temp suffix so that parallel fresh apps do
    not meet (within an app it is fixed).

    The container is created once before the first session, as an app's
    startup (lifespan) would: without that, concurrent first runs race in
    pydantic-ai-backends 0.2.37 (each finds no container and creates one
    under the name) and all but one fail with Docker's 409 Conflict."""

    kind = "ws-docker-fixed-name"

    async def open(self, t: Any, user_id: str, present: dict | None = None) -> WorkspaceSession:
        from pydantic_ai.workspaces import Workspace

        async with t.startup:
            if not t.started:
                try:
                    await Workspace(t.cap.backend()).working_dir()
                except Exception as e:  # noqa: BLE001 - the app would not start
                    raise AdapterError("failed", f"creating the app's container: {_short(e)}")
                t.started = True
        return await super().open(t, user_id, present)

    def capability(self, t: Any) -> Any:
        from pydantic_ai_backends.workspaces import DockerWorkspace

        import asyncio

        t.container = f"isocheck-app-sandbox-{os.path.basename(t.top).rsplit('-', 1)[-1].lower()}"
        t.startup, t.started = asyncio.Lock(), False
        return DockerWorkspace(image=self.image, container_name=t.container)

    async def close_tenancy(self, t: Any) -> None:
        from pydantic_ai.workspaces import WorkspaceRef

        try:
            await t.cap.destroy(WorkspaceRef(provider="docker", id=t.container))
        finally:
            await super().close_tenancy(t)


class DockerRequestRef(DockerPerSession):
    """A container per session as in ws-docker-per-session, but the app
    takes the workspace ref from the request: the client sends back the
    message history, which carries the ref the app handed out, and the app
    passes it to `DockerWorkspace.get_workspace(ctx, ref=...)` unchanged.
    pydantic-ai-backends checks that the ref names a container a
    DockerWorkspace created, not whose it is. Declares the identifier
    `workspace_ref` (the container name the ref carries)."""

    kind = "ws-docker-request-ref"

    def capabilities(self) -> dict:
        caps = super().capabilities()
        caps["identifiers"] = ["workspace_ref"]
        return caps

    def identifiers(self, s: WorkspaceSession) -> dict | None:
        ref = getattr(s.workspace.backend, "ref", None)
        return {"workspace_ref": ref.id} if ref is not None else None

    def ref_for(self, t: Any, user_id: str, present: dict | None) -> Any:
        from pydantic_ai.workspaces import WorkspaceRef

        if present and present.get("workspace_ref"):
            return WorkspaceRef(provider="docker", id=present["workspace_ref"])
        return super().ref_for(t, user_id, present)


READY: dict[str, Callable[[], Subject]] = {
    "ws-shared": SharedWorkspace,
    "ws-local-per-user": LocalPerUser,
    "ws-confined-per-user": ConfinedPerUser,
    "ws-confined-hashed": ConfinedHashed,
    "memory-user-namespace": MemoryNamespaced,
    "memory-shared-namespace": MemorySharedNamespace,
    "ws-docker-per-session": DockerPerSession,
    "ws-docker-fixed-name": DockerFixedName,
    "ws-docker-request-ref": DockerRequestRef,
}
