"""`python -m isocheck_adapter --factory NAME|module:function`"""

from __future__ import annotations

import argparse
import sys

from . import PROTOCOL


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="isocheck_adapter", description=f"Serve an app to isocheck ({PROTOCOL}).")
    p.add_argument("--factory", required=True,
                   help="problem, pattern-a, pattern-b, pattern-c, the LangGraph/deepagents ones (lg-*, da-*), "
                        "or module:function / path/file.py:function")
    p.add_argument("--caps", default=None,
                   help="comma-separated capabilities instead of probing the factory once "
                        "(files,execute,checkpoints,history,memory,plans,eviction)")
    p.add_argument("--keep-module", action="store_true",
                   help="import the factory's module once for the whole run instead of once per tenancy "
                        "(then module-level state carries over between isocheck's cases)")
    p.add_argument("--agent", action="store_true",
                   help="agent mode: every operation is a run of the real pydantic-deep agent "
                        "(create_deep_agent with a scripted FunctionModel) on the factory's per-user objects; "
                        "for deepagents apps, deepagents' create_deep_agent with a scripted chat model")
    p.add_argument("--persistence", choices=("ephemeral", "persistent"), default=None,
                   help="declare whether a user's memory and checkpoints survive reopening the session "
                        "(checked by isocheck's persistence family); the ready factories declare their "
                        "own, a user factory declares none unless this is given")
    a = p.parse_args(argv)

    from . import langgraph as _lg
    from .framework import generation
    from .server import run

    # Each pydantic-deep API generation has its own modules: the guide's
    # (0.3.44, `DeepAgentDeps(backend=...)`) here, the current one
    # (0.3.50, workspaces) in deep_latest.
    if generation() == "workspace":
        from .deep_latest.agent import AgentSubject
        from .deep_latest.factories import READY, FactorySubject, OTHER_READY, load
    else:
        from .agent import AgentSubject
        from .factories import READY, FactorySubject, load

        OTHER_READY = _latest_ready_names()
    if a.factory in OTHER_READY:
        from .framework import detect
        from .server import hello, _line

        fw = detect() or {}
        have = ", ".join(f"{k} {v}" for k, v in fw.get("versions", {}).items()) or "no pydantic-deep"
        msg = (f"--factory {a.factory} is a ready factory of the other pydantic-deep API generation; "
               f"this environment has {have} ({fw.get('generation', 'unknown')} API)")
        sys.stdout.write(_line(hello(a.factory, error=("config", msg))).decode())
        sys.stdout.flush()
        return 2

    def agent(make):
        if not a.agent:
            return make

        def wrapped():
            inner = make()
            if _lg.agent_mode_is_ours(a.factory, inner):
                from .langgraph.agent import AgentSubject as DeepAgentsAgent

                return DeepAgentsAgent(inner)
            return AgentSubject(inner)

        return wrapped

    name = f"{a.factory} (agent)" if a.agent else a.factory
    if a.factory in READY:
        return run(name, agent(READY[a.factory]), a.persistence)

    def make():
        fn = load(a.factory)
        caps = None
        if a.caps is not None:
            want = {c.strip() for c in a.caps.split(",") if c.strip()}
            caps = {k: k in want for k in ("files", "execute", "checkpoints", "history")}
            caps["features"] = {k: k in want for k in ("memory", "plans", "eviction")}
        reload = None if a.keep_module else (lambda: load(a.factory, fresh=True))
        return FactorySubject(fn, caps, reload)

    return run(name, agent(make), a.persistence)


def _latest_ready_names() -> tuple[str, ...]:
    from .deep_latest import READY_NAMES

    return READY_NAMES


if __name__ == "__main__":
    sys.exit(main())
