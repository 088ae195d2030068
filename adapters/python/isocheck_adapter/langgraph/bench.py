"""Operations per second on a LangGraph checkpointer: the same calls
in-process and through the adapter's protocol.

usage: python -m isocheck_adapter.langgraph.bench memory|sqlite|postgres [ROUNDS]   (default 20)

Both runs open 8 users on `lg-user-thread-KIND` (one checkpointer, a
thread per user) and give each, ROUNDS times, the mix ck_save, ck_get,
ck_list, ck_count, hist_append, hist_get (6 operations; ck_list and
hist_get grow with the thread, as in a real conversation):
  inproc_ops_per_sec N   the session operations called directly
  adapter_ops_per_sec N  the same requests, as JSON lines, through
                         `python -m isocheck_adapter --factory ...`,
                         all written at once (isocheck pipelines) and
                         read back until the last reply
PostgresSaver needs ISOCHECK_POSTGRES_URL (scripts/postgres.sh start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

USERS = 8


def mix(u: int, i: int) -> list[dict]:
    ck = {"id": f"ck-{u}-{i}", "label": f"l{i}", "turn": i, "messages": [f"m{u}-{i}"], "created_at": 1000 + i}
    return [
        {"op": "ck_save", "checkpoint": ck},
        {"op": "ck_get", "checkpoint_id": ck["id"]},
        {"op": "ck_list"},
        {"op": "ck_count"},
        {"op": "hist_append", "message": f"hello {u} {i}"},
        {"op": "hist_get"},
    ]


def inproc(kind: str, rounds: int) -> float:
    from .factories import READY

    sub = READY[f"lg-user-thread-{kind}"]()
    t = sub.new_tenancy("t1")
    sessions = [sub.open(t, f"user{u}") for u in range(USERS)]
    ops = 0
    start = time.perf_counter()
    for i in range(rounds):
        for u, s in enumerate(sessions):
            for r in mix(u, i):
                s.ops[r["op"]](r)
                ops += 1
    rate = ops / (time.perf_counter() - start)
    sub.close_tenancy(t)
    return rate


def adapter(kind: str, rounds: int) -> float:
    p = subprocess.Popen([sys.executable, "-m", "isocheck_adapter", "--factory", f"lg-user-thread-{kind}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    assert p.stdin and p.stdout
    p.stdout.readline()  # handshake
    rid = 0

    def call(req: dict) -> dict:
        nonlocal rid
        rid += 1
        p.stdin.write(json.dumps({"id": rid, **req}) + "\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    call({"op": "new_tenancy"})
    sids = [call({"op": "open", "tenancy": "t1", "user": f"user{u}"})["ok"]["session"] for u in range(USERS)]
    lines = []
    for i in range(rounds):
        for u, sid in enumerate(sids):
            for r in mix(u, i):
                rid += 1
                lines.append(json.dumps({"id": rid, "session": sid, **r}))
    import threading

    def feed() -> None:
        p.stdin.write("\n".join(lines) + "\n")
        p.stdin.flush()

    start = time.perf_counter()
    writer = threading.Thread(target=feed)
    writer.start()
    errors = 0
    for _ in lines:
        if "error" in json.loads(p.stdout.readline()):
            errors += 1
    rate = len(lines) / (time.perf_counter() - start)
    writer.join()
    call({"op": "close_tenancy", "tenancy": "t1"})
    p.stdin.close()
    p.wait(timeout=30)
    if errors:
        print(f"errors {errors}")
    return rate


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "memory"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    os.environ.setdefault("TMPDIR", "/tmp")
    print(f"inproc_ops_per_sec {inproc(kind, rounds):.0f}")
    print(f"adapter_ops_per_sec {adapter(kind, rounds):.0f}")


if __name__ == "__main__":
    main()
