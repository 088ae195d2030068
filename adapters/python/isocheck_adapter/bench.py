"""In-process rate of the benchmark's operation mix directly on StateBackend
(the baseline for benches/adapter.rs). Prints `ops_per_sec N`."""

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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    users = [StateBackend() for _ in range(8)]
    t = time.perf_counter()
    ops = 0
    for i in range(n):
        ops += mix(users[i % 8], i)
    dt = time.perf_counter() - t
    print(f"ops_per_sec {ops / dt:.0f}")


if __name__ == "__main__":
    main()
