"""In-process rate of the benchmark's operation mix directly on StateBackend
(the baseline for benches/adapter.rs).

usage: python -m isocheck_adapter.bench [ROUNDS] [workspace]   (default 2500)

With `workspace` (pydantic-deep 0.3.50's environment) the same mix runs
through pydantic-ai-backends' `WorkspaceOps` on `StateWorkspace`
documents, awaited one at a time, which is what the adapter does for
`--factory isocheck_adapter.bench:state_workspace`.

Prints three lines (cpu_us_per_op: the CPU time of that run per operation):
  ops_per_sec N           8 StateBackends, each running mix(b, i) for i in
                          0..ROUNDS: exactly the sequence that
                          benches/adapter.rs sends each of its 8 users, so
                          every backend holds the same 16 files
  old_loop_ops_per_sec N  the loop this file used before (mix(users[i % 8],
                          i) for i in 0..8*ROUNDS): user u only ever sees i
                          with i % 16 in {u, u + 8}, i.e. 2 files instead of
                          16, so its ls_info/glob_info are far cheaper than
                          the adapter's; kept only to compare with old figures
"""

import sys
import time


def mix(b, i: int) -> int:
    p = f"/files/f{i % 16}.md"
    b.write(p, f"canary-{i} line\nsecond line\n")
    b.read(p, 0, 2000)
    b.exists(p)
    b.ls_info("/files")
    b.edit(p, "second", "other", False)
    b.glob_info("*.md", "/files")
    return 6


def same_as_adapter(rounds: int) -> tuple[float, float]:
    """(operations per second, CPU microseconds per operation)"""
    from pydantic_ai_backends import StateBackend

    users = [StateBackend() for _ in range(8)]
    t, c = time.perf_counter(), time.process_time()
    ops = 0
    for i in range(rounds):
        for b in users:
            ops += mix(b, i)
    return ops / (time.perf_counter() - t), (time.process_time() - c) * 1e6 / ops


def old_loop(rounds: int) -> float:
    from pydantic_ai_backends import StateBackend

    users = [StateBackend() for _ in range(8)]
    t = time.perf_counter()
    ops = 0
    for i in range(8 * rounds):
        ops += mix(users[i % 8], i)
    return ops / (time.perf_counter() - t)


def state_workspace(user_id: str):
    """A user factory for the benchmark on the workspace generation: an
    in-memory `StateWorkspace` document per user (files only)."""
    from pydantic_ai.workspaces import Workspace
    from pydantic_ai_backends.workspaces import StateWorkspace

    return Workspace(StateWorkspace().backend())


async def amix(ops, i: int) -> int:
    p = f"/files/f{i % 16}.md"
    await ops.write(p, f"canary-{i} line\nsecond line\n")
    await ops.read(p, 0, 2000)
    await ops.exists(p)
    await ops.ls_info("/files")
    await ops.edit(p, "second", "other", False)
    await ops.glob_info("*.md", "/files")
    return 6


def same_as_adapter_workspace(rounds: int) -> tuple[float, float]:
    """As `same_as_adapter`, on 8 `StateWorkspace` documents through
    `WorkspaceOps` (the ops the adapter's probes use)."""
    import asyncio

    from pydantic_ai_backends.toolsets._workspace import WorkspaceOps

    async def go() -> tuple[float, float]:
        users = [WorkspaceOps(state_workspace(f"user{u}")) for u in range(8)]
        t, c = time.perf_counter(), time.process_time()
        ops = 0
        for i in range(rounds):
            for o in users:
                ops += await amix(o, i)
        return ops / (time.perf_counter() - t), (time.process_time() - c) * 1e6 / ops

    return asyncio.run(go())


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    if len(sys.argv) > 2 and sys.argv[2] == "workspace":
        rate, cpu = same_as_adapter_workspace(rounds)
        print(f"ops_per_sec {rate:.0f}")
        print(f"cpu_us_per_op {cpu:.2f}")
        return
    rate, cpu = same_as_adapter(rounds)
    print(f"ops_per_sec {rate:.0f}")
    print(f"cpu_us_per_op {cpu:.2f}")
    print(f"old_loop_ops_per_sec {old_loop(rounds):.0f}")


if __name__ == "__main__":
    main()
