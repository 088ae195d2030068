"""A dedicated check until isocheck's identifier replay lands: does the app
give a user another user's LangGraph thread when that user presents the
other's thread id?

usage: python -m isocheck_adapter.langgraph.replay --factory NAME|module:function

The factory takes the thread id the user presents (`thread_id=` keyword;
the ready `lg-*-thread-*` factories too). Alice opens a session (a first
visit: she presents none, the app gives her a thread), says something and
saves a checkpoint, both carrying a canary. Bob then opens presenting
Alice's thread id, as a client can (thread ids travel in URLs, logs and
shared links) and reads his conversation and checkpoints.

Prints one JSON line {"check": "thread-replay", "status", "checklist",
"evidence"} and exits 1 when Bob sees Alice's canary (fail: C2 for the
checkpoints, C3 for the conversation), 0 when the app refuses the id or
gives Bob a thread of his own (pass: the presented id reached the app and
was not honoured), 2 when nothing could be judged (not tested: the factory
takes no thread id, or the app failed), with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import uuid
from typing import Any

from ..mapping import AdapterError

CHECKLIST = ["C2", "C3"]


def _out(status: str, evidence: str) -> int:
    print(json.dumps({"check": "thread-replay", "status": status, "checklist": CHECKLIST, "evidence": evidence}))
    return {"fail": 1, "pass": 0}.get(status, 2)


def _resolve(v: Any) -> Any:
    return asyncio.run(_await(v)) if inspect.isawaitable(v) else v


async def _await(v: Any) -> Any:
    return await v


def _op(s: Any, op: str, **r: Any) -> Any:
    value, post = s.ops[op](r)
    value = _resolve(value)
    return post(value) if post else value


def _present(subject: Any, t: Any, user: str, thread: str) -> None:
    """Makes `user`'s client present `thread` at its next open."""
    client = getattr(t, "client", None)
    if client is not None:
        client.threads[user] = thread
        return
    st = getattr(t, "lg_state", None)
    if st is None:
        st = t.lg_state = {}
    st.setdefault("threads", {})[user] = thread


def _takes_thread(subject: Any, t: Any) -> bool:
    if getattr(t, "client", None) is not None:
        return True
    fn = getattr(t, "fn", None)
    try:
        return fn is not None and "thread_id" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def run_check(subject: Any) -> int:
    t = _resolve(subject.new_tenancy("t1"))
    try:
        if not _takes_thread(subject, t):
            return _out("not-tested", "the factory takes no thread_id: the identifier a user presents never "
                                      "reaches the app (nothing to replay)")
        canary = f"icq-replay-{uuid.uuid4().hex[:12]}"
        try:
            alice = _resolve(subject.open(t, "alice"))
            if "hist_append" not in alice.ops:
                return _out("not-tested", "the factory gives no checkpointer and config")
            _op(alice, "hist_append", message=f"alice says {canary}")
            _op(alice, "ck_save", checkpoint={"id": "ck-alice-1", "label": "alice", "turn": 1,
                                              "messages": [f"alice saved {canary}"], "created_at": 1})
        except AdapterError as e:
            return _out("not-tested", f"alice's session failed: {e.kind}: {e.message}")
        thread = alice.config["configurable"]["thread_id"]
        _present(subject, t, "bob", str(thread))
        try:
            bob = _resolve(subject.open(t, "bob"))
        except AdapterError as e:
            return _out("pass", f"bob presented alice's thread id {thread!r}; the app refused: {e.message}")
        seen = []
        history = _op(bob, "hist_get")
        if any(canary in m for m in history):
            seen.append(f"her conversation ({len(history)} messages)")
        cks = _op(bob, "ck_list")
        if any(canary in m for c in cks for m in c["messages"]):
            seen.append("her checkpoint 'alice'")
        bob_thread = bob.config["configurable"]["thread_id"]
        if seen:
            return _out("fail", f"bob presented alice's thread id {thread!r} and the app ran his request on "
                                f"thread {bob_thread!r}: he read " + " and ".join(seen))
        return _out("pass", f"bob presented alice's thread id {thread!r}; the app gave him thread "
                            f"{bob_thread!r}, where nothing of alice's is visible")
    finally:
        _resolve(subject.close_tenancy(t))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="isocheck_adapter.langgraph.replay", description=__doc__.split("\n\n")[0])
    p.add_argument("--factory", required=True)
    a = p.parse_args(argv)
    from ..factories import READY, FactorySubject, load

    try:
        if a.factory in READY:
            subject = READY[a.factory]()
        else:
            fn = load(a.factory)
            subject = FactorySubject(fn, caps={}, reload=lambda: load(a.factory, fresh=True))
        return run_check(subject)
    except AdapterError as e:
        print(f"isocheck_adapter.langgraph.replay: {e.kind}: {e.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
