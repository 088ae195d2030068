"""Which agent framework is installed, which API generation of it the
adapter speaks, and the versions of every known agent package present:
declared in the handshake (`framework`) and shown in isocheck's report
header. Standard library only; nothing is imported to learn a version."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from typing import Any, Callable

# Distributions whose versions decide what an agent app does; reported when
# installed. `langgraph-checkpoint*`: every installed distribution with that prefix.
KNOWN = (
    "pydantic-deep",
    "pydantic-ai-slim",
    "pydantic-ai-backend",
    "pydantic-ai-harness",
    "deepagents",
    "langgraph",
    "langchain-core",
)
PREFIXES = ("langgraph-checkpoint",)
# The framework a run is about: the first of these installed.
FRAMEWORKS = ("pydantic-deep", "deepagents", "langgraph")


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in KNOWN:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    for dist in metadata.distributions():
        n = (dist.metadata.get("Name") or "").lower().replace("_", "-")
        if any(n.startswith(p) for p in PREFIXES):
            out[n] = dist.version
    return dict(sorted(out.items()))


def pydantic_deep_generation() -> str | None:
    """`backend` (0.3.44, the guide's: `DeepAgentDeps(backend=...)`) or
    `workspace` (0.3.50: `create_deep_agent(workspace=...)`, files in
    `ctx.workspace`), read off the installed `DeepAgentDeps` itself."""
    if importlib.util.find_spec("pydantic_deep") is None:
        return None
    import dataclasses

    from pydantic_deep import DeepAgentDeps

    fields = {f.name for f in dataclasses.fields(DeepAgentDeps)}
    return "backend" if "backend" in fields else "workspace"


# Generation probes by framework; another framework's module adds its own.
GENERATIONS: dict[str, Callable[[], str | None]] = {"pydantic-deep": pydantic_deep_generation}

_cache: dict[str, Any] = {}


def detect() -> dict | None:
    """`{name, generation, versions}` of the installed framework, or None."""
    if "v" in _cache:
        return _cache["v"]
    vs = versions()
    name = next((f for f in FRAMEWORKS if f in vs), None)
    out: dict | None = None
    if name is not None:
        out = {"name": name, "versions": vs}
        probe = GENERATIONS.get(name)
        gen = probe() if probe else None
        if gen:
            out["generation"] = gen
    _cache["v"] = out
    return out


def generation() -> str | None:
    d = detect()
    return d.get("generation") if d else None
