"""In-process rate of the benchmark's operation mix directly on StateBackend
(the baseline for benches/adapter.rs).

usage: python -m isocheck_adapter.bench [ROUNDS]    (default 2500)

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

from pydantic_ai_backends import StateBackend


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
    users = [StateBackend() for _ in range(8)]
    t, c = time.perf_counter(), time.process_time()
    ops = 0
    for i in range(rounds):
        for b in users:
            ops += mix(b, i)
    return ops / (time.perf_counter() - t), (time.process_time() - c) * 1e6 / ops


def old_loop(rounds: int) -> float:
    users = [StateBackend() for _ in range(8)]
    t = time.perf_counter()
    ops = 0
    for i in range(8 * rounds):
        ops += mix(users[i % 8], i)
    return ops / (time.perf_counter() - t)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    rate, cpu = same_as_adapter(rounds)
    print(f"ops_per_sec {rate:.0f}")
    print(f"cpu_us_per_op {cpu:.2f}")
    print(f"old_loop_ops_per_sec {old_loop(rounds):.0f}")


if __name__ == "__main__":
    main()
