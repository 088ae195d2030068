"""`python -m isocheck_adapter --factory NAME|module:function`"""

from __future__ import annotations

import argparse
import sys

from . import PROTOCOL


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="isocheck_adapter", description=f"Serve an app to isocheck ({PROTOCOL}).")
    p.add_argument("--factory", required=True,
                   help="problem, pattern-a, pattern-b, pattern-c, or module:function / path/file.py:function")
    p.add_argument("--caps", default=None,
                   help="comma-separated capabilities instead of probing the factory once "
                        "(files,execute,checkpoints,history,memory,plans,eviction)")
    p.add_argument("--keep-module", action="store_true",
                   help="import the factory's module once for the whole run instead of once per tenancy "
                        "(then module-level state carries over between isocheck's cases)")
    p.add_argument("--agent", action="store_true",
                   help="agent mode: every operation is a run of the real pydantic-deep agent "
                        "(create_deep_agent with a scripted FunctionModel) on the factory's per-user objects")
    p.add_argument("--persistence", choices=("ephemeral", "persistent"), default=None,
                   help="declare whether a user's memory and checkpoints survive reopening the session "
                        "(checked by isocheck's persistence family); the ready factories declare their "
                        "own, a user factory declares none unless this is given")
    a = p.parse_args(argv)

    from .factories import READY, FactorySubject, load
    from .server import run

    def agent(make):
        if not a.agent:
            return make

        def wrapped():
            from .agent import AgentSubject

            return AgentSubject(make())

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


if __name__ == "__main__":
    sys.exit(main())
