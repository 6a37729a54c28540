"""The HTTP pieces of the collector's ASGI app: a refusal, a PUT's byte range, a bounded body."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["Receive", "Refused", "Scope", "Send", "body_range", "read_body", "size_of"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class Refused(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


def size_of(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def body_range(headers: dict[str, str]) -> tuple[int, int, int]:
    """(start, end inclusive, total) of a PUT: its Content-Range, else the whole body."""
    given = headers.get("content-range")
    if given is None:
        if not headers.get("content-length", "").isdigit():
            raise Refused(411, "a file comes with Content-Length or Content-Range")
        total = int(headers["content-length"])
        return 0, total - 1, total
    m = RANGE.fullmatch(given.strip())
    if m is None:
        raise Refused(400, "Content-Range: bytes START-END/TOTAL")
    start, end, total = (int(x) for x in m.groups())
    if not start <= end < total:
        raise Refused(400, f"Content-Range {given!r} is not within the file")
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) != end - start + 1):
        raise Refused(400, "Content-Length differs from the Content-Range")
    return start, end, total


async def read_body(receive: Receive, limit: int, headers: dict[str, str]) -> bytes:
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise Refused(413, f"a manifest is at most {limit} bytes")
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise Refused(499, "cut before the manifest's end")
        chunks.append(msg.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            raise Refused(413, f"a manifest is at most {limit} bytes")
        if not msg.get("more_body", False):
            return b"".join(chunks)
