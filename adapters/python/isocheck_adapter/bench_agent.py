"""What one run of an agent costs in pydantic-ai itself, offline (the floor
under agent mode; benches/adapter.rs prints it next to agent mode's time per
operation).

usage: python -m isocheck_adapter.bench_agent [RUNS]   (default 150)

Each figure is the median wall time of RUNS runs (the first 20 dropped as a
warm-up), with a scripted `FunctionModel` that calls one tool N times and
then answers; a tool call is two model requests' worth of the agent's
graph (the call, and the request that carries its return). Prints:
  bare_1_ms X      a bare `pydantic_ai.Agent` with one plain tool, 1 call a run
  bare_4_ms X      the same, 4 calls a run
  deep_1_ms X      `create_deep_agent` with agent mode's settings (memory,
                   checkpoints every tool) on a StateBackend, 1 `ls` a run
  deep_4_ms X      the same, 4 `ls` a run
"""

import asyncio
import statistics
import sys
import time


def _model(tool: str, args: dict, calls: int):
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    async def respond(messages, info):
        done = sum(1 for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart))
        if done >= calls:
            return ModelResponse(parts=[TextPart("done")])
        return ModelResponse(parts=[ToolCallPart(tool, args)])

    return FunctionModel(respond)


async def _median_ms(agent, deps, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await agent.run("go", deps=deps)
        times.append(time.perf_counter() - start)
    return statistics.median(times[min(20, runs // 2):]) * 1000


async def _main(runs: int) -> None:
    from pydantic_ai import Agent
    from pydantic_ai_backends import StateBackend
    from pydantic_deep import DeepAgentDeps, create_deep_agent

    for calls in (1, 4):
        bare = Agent(_model("ping", {}, calls))

        @bare.tool_plain
        def ping() -> str:
            return "pong"

        print(f"bare_{calls}_ms {await _median_ms(bare, None, runs):.2f}", flush=True)
    for calls in (1, 4):
        # The settings of agent.Runtime._build (agent mode), no subagents.
        agent = create_deep_agent(
            model=_model("ls", {"path": "/"}, calls),
            include_memory=True,
            include_checkpoints=True,
            checkpoint_frequency="every_tool",
            max_checkpoints=1_000_000,
            edit_format="str_replace",
            include_execute=False,
            web_search=False,
            web_fetch=False,
            include_skills=False,
            cost_tracking=False,
            include_monitoring=False,
        )
        deps = DeepAgentDeps(backend=StateBackend())
        print(f"deep_{calls}_ms {await _median_ms(agent, deps, runs):.2f}", flush=True)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    asyncio.run(_main(runs))


if __name__ == "__main__":
    main()
