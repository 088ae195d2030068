"""Serve a Python multi-user agent app to isocheck (protocol isocheck.adapter/v1).

Run ``python -m isocheck_adapter --factory module:function`` (or one of the
ready factories ``problem``, ``pattern-a``, ``pattern-b``, ``pattern-c``) as
``isocheck run --adapter "..."``. See docs/adapter.md in the isocheck
repository.
"""

PROTOCOL = "isocheck.adapter/v1"

__all__ = ["PROTOCOL"]
