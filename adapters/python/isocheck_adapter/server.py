"""The protocol core: standard library only.

One asyncio loop reads request lines from stdin in chunks, straight from the
pipe's callback (no reader task to wake per chunk). A request whose subject
call is synchronous is answered inline, and all inline replies of a chunk go
out in one write; a call that returns an awaitable becomes a task and
answers when it completes. So many requests are in flight at once and a
slow operation never blocks the others.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import sys
import traceback
from typing import Any, Callable, NoReturn

from . import PROTOCOL
from .mapping import AdapterError, Session, Subject

_OUT_FD: int | None = None


def _protect_stdout() -> int:
    """Keeps fd 1 for the protocol; stray prints of the app go to stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return fd


def _write(data: bytes) -> None:
    assert _OUT_FD is not None
    view = memoryview(data)
    while view:
        n = os.write(_OUT_FD, view)
        view = view[n:]


# One encoder for every reply (json.dumps would build a new one per call).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def _line(obj: dict) -> bytes:
    return (_encode(obj) + "\n").encode()


def _ok(rid: Any, value: Any) -> str:
    return _encode({"id": rid, "ok": value})


# Results of synchronous calls: never awaitable (saves inspect.isawaitable,
# an ABC check, on the hot path).
_PLAIN = (str, list, dict, bool, int, float, type(None), bytes, tuple)


def _awaitable(v: Any) -> bool:
    return not isinstance(v, _PLAIN) and inspect.isawaitable(v)


def _err_text(rid: Any, kind: str, message: str) -> str:
    return _encode({"id": rid, "error": {"kind": kind, "message": message}})


def _err(rid: Any, kind: str, message: str) -> bytes:
    return (_err_text(rid, kind, message) + "\n").encode()


def _bad(line: Any, e: BaseException) -> NoReturn:
    """Not a request we can answer: say so on the log and stop."""
    print(f"isocheck-adapter: bad request line ({e}): {line[:200]!r}", file=sys.stderr)
    raise SystemExit(3)


def _classify(e: BaseException) -> tuple[str, str]:
    if isinstance(e, AdapterError):
        return e.kind, e.message
    msg = f"{type(e).__name__}: {e}"
    if isinstance(e, FileNotFoundError):
        return "not-found", msg
    if isinstance(e, NotImplementedError):
        return "unsupported", msg
    return "failed", msg


class Server:
    def __init__(self, subject: Subject, identifiers: list[str] | None = None) -> None:
        self.subject = subject
        # Identifier kinds the handshake declared: `open` answers them and
        # takes one in `present` (the subject's `open(t, user, present=...)`).
        self.identifiers = set(identifiers or [])
        self.tenancies: dict[str, Any] = {}
        self.sessions: dict[str, Session] = {}
        self.next_tenancy = 0
        self.next_session = 0
        self.tasks: set[asyncio.Task] = set()
        # The start of a line whose end has not arrived yet.
        self.pending: list[bytes] = []

    # -- dispatch ---------------------------------------------------------
    def handle(self, req: dict) -> tuple[Any, Callable[[Any], Any] | None]:
        """Returns (value, post): value may be awaitable; post maps the
        resolved value to the protocol result."""
        op = req.get("op")
        if op == "execute":
            _note_canary_files(req.get("command"))
        # Session operations first: they are nearly every request.
        sid = req.get("session")
        if sid is not None:
            s = self.sessions.get(sid)
            if s is None:
                raise AdapterError("failed", f"unknown session {sid!r} for op {op!r}")
            fn = s.ops.get(op) if isinstance(op, str) else None
            if fn is None:
                raise AdapterError("unsupported", f"operation {op!r}")
            return fn(req)
        if op == "new_tenancy":
            self.next_tenancy += 1
            tid = f"t{self.next_tenancy}"
            self.tenancies[tid] = self.subject.new_tenancy(tid)
            return {"tenancy": tid}, None
        if op == "close_tenancy":
            tid = req["tenancy"]
            t = self.tenancies.pop(tid, None)
            for sid in [s for s, v in self.sessions.items() if v.tenancy_id == tid]:
                del self.sessions[sid]
            if t is None:
                return None, None
            return self.subject.close_tenancy(t), lambda _: None
        if op == "seed_context":
            tid = req["tenancy"]
            t = self.tenancies.get(tid)
            if t is None:
                raise AdapterError("failed", f"unknown tenancy {tid!r}")
            return self.subject.seed_context(t, req["path"], req["content"]), lambda _: None
        if op == "open":
            tid = req["tenancy"]
            t = self.tenancies.get(tid)
            if t is None:
                raise AdapterError("failed", f"unknown tenancy {tid!r}")
            user = req["user"]
            present = req.get("present")

            def opened(session: Session) -> dict:
                self.next_session += 1
                sid = f"s{self.next_session}"
                session.tenancy_id = tid
                self.sessions[sid] = session
                out: dict = {"session": sid}
                ids = getattr(session, "identifiers", None)
                if self.identifiers and ids:
                    out["identifiers"] = {k: str(v) for k, v in ids.items() if k in self.identifiers}
                return out

            if present:
                unknown = sorted(set(present) - self.identifiers)
                if unknown:
                    raise AdapterError("unsupported", f"the app hands out no identifier of kind {unknown[0]!r}")
                return self.subject.open(t, user, present=dict(present)), opened
            return self.subject.open(t, user), opened
        raise AdapterError("failed", f"unknown session {sid!r} for op {op!r}")

    # -- the loop ---------------------------------------------------------
    async def _finish(self, rid: Any, value: Any, post: Callable | None) -> None:
        try:
            v = await value
            out = _line({"id": rid, "ok": post(v) if post else v})
        except Exception as e:  # noqa: BLE001 - every error is an answer
            kind, msg = _classify(e)
            if kind == "failed" and os.environ.get("ISOCHECK_ADAPTER_DEBUG"):
                traceback.print_exc()
            out = _err(rid, kind, msg)
        _write(out)

    def _one(self, line: str, out: list[str]) -> None:
        try:
            req = _decode(line)
            rid = req["id"]
        except Exception as e:  # noqa: BLE001
            _bad(line, e)
        try:
            value, post = self.handle(req)
            if _awaitable(value):
                task = asyncio.ensure_future(self._finish(rid, value, post))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                return
            out.append(_ok(rid, post(value) if post else value))
        except SystemExit:
            raise
        except Exception as e:  # noqa: BLE001
            kind, msg = _classify(e)
            if kind == "failed" and os.environ.get("ISOCHECK_ADAPTER_DEBUG"):
                traceback.print_exc()
            out.append(_err_text(rid, kind, msg))

    def feed(self, data: bytes) -> None:
        """Answers every complete line of `data` (plus what came before it):
        synchronous results go out together in one write, at once."""
        end = data.rfind(b"\n")
        if end < 0:
            self.pending.append(data)
            return
        if self.pending:
            self.pending.append(data[:end])
            block = b"".join(self.pending)
            self.pending = []
        else:
            block = data[:end]
        if end + 1 < len(data):
            self.pending.append(data[end + 1:])
        try:
            lines = block.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            lines = []
            for raw in block.split(b"\n"):
                try:
                    lines.append(raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    _bad(raw, e)
        out: list[str] = []
        for line in lines:
            if line and not line.isspace():
                self._one(line, out)
        if out:
            out.append("")
            _write("\n".join(out).encode())

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        server = self

        class Input(asyncio.Protocol):
            # Lines are answered straight from the pipe's callback: no
            # reader task to wake per chunk.
            def data_received(self, data: bytes) -> None:
                try:
                    server.feed(data)
                except BaseException as e:  # noqa: BLE001 - SystemExit(3) on a bad line
                    if not done.done():
                        done.set_exception(e)

            def eof_received(self) -> bool:
                if not done.done():
                    done.set_result(None)
                return False

            def connection_lost(self, exc: Exception | None) -> None:
                if not done.done():
                    done.set_result(None)

        transport, _ = await loop.connect_read_pipe(Input, sys.stdin)
        # isocheck forwards Ctrl-C / SIGTERM: stop reading, then release
        # every tenancy (containers included) below, as at the end of a run.
        import signal

        def interrupted() -> None:
            if not done.done():
                done.set_result(None)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, interrupted)
        try:
            await done
        finally:
            transport.close()
        # stdin closed: finish what is in flight, release every tenancy.
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)
        for t in list(self.tenancies.values()):
            try:
                r = self.subject.close_tenancy(t)
                if inspect.isawaitable(r):
                    await r
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        self.tenancies.clear()


def hello(subject: str, capabilities: dict | None = None, error: tuple[str, str] | None = None) -> dict:
    h: dict[str, Any] = {"protocol": PROTOCOL, "subject": subject}
    try:
        from .framework import detect

        fw = detect()
    except Exception:  # noqa: BLE001 - an optional field: never stops the handshake
        fw = None
    if fw is not None:
        h["framework"] = fw
    if error is not None:
        h["error"] = {"kind": error[0], "message": error[1]}
    else:
        h["capabilities"] = capabilities
    return h


def run(name: str, make: Callable[[], Subject], persistence: str | None = None) -> int:
    """Announces `make()`'s subject and serves it until stdin closes.
    `persistence` (ephemeral|persistent) replaces what the subject declares.

    The app runs with a private TMPDIR, removed at exit: what its shells
    (and isocheck's probes) leave in the temp dir stays out of the host's
    /tmp. Users still share it with each other, as they would share /tmp.
    """
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="isocheck-adapter-tmp-")
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        return _run(name, make, persistence)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_canary_files()


# Canary files isocheck's own execute probes asked for (`echo icq... >
# "${TMPDIR:-/tmp}/icq..."`). A shell that drops the private TMPDIR (a
# host-shell workspace with a clean environment) writes them to the host's
# /tmp: that is the app's behaviour and is judged, but the files are
# isocheck's, so they go at exit.
_CANARY = re.compile(r"icq[0-9a-f]{12}")
_CANARY_FILES: set[str] = set()


def _note_canary_files(command: Any) -> None:
    if isinstance(command, str) and "/tmp" in command:
        _CANARY_FILES.update(_CANARY.findall(command))


def _remove_canary_files() -> None:
    for tok in _CANARY_FILES:
        path = os.path.join("/tmp", tok)
        try:
            if os.path.isfile(path) and not os.path.islink(path):
                os.remove(path)
        except OSError:
            pass


def _run(name: str, make: Callable[[], Subject], persistence: str | None) -> int:
    global _OUT_FD
    _OUT_FD = _protect_stdout()
    try:
        subject = make()
        caps = dict(subject.capabilities())
        if persistence is not None:
            caps["persistence"] = persistence
    except AdapterError as e:
        _write(_line(hello(name, error=("unsupported" if e.kind == "unsupported" else "config", e.message))))
        return 2
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        _write(_line(hello(name, error=("config", f"{type(e).__name__}: {e}"))))
        return 2
    _write(_line(hello(name, caps)))
    server = Server(subject, caps.get("identifiers"))
    asyncio.run(server.serve())
    return 0
