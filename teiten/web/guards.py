"""What every request of teiten's web apps passes through, whatever its route: security
headers on every response, a bound on request bodies, and a careful JSON reader.

    install(app)                    both middlewares on ``teiten serve``'s app, with the limits
                                    of the settings (``web_max_body``, ``web_hsts``)
    SecurityHeaders(app, hsts=0)    CSP ``default-src 'self'; frame-ancestors 'none'`` (no inline
                                    script or style anywhere), nosniff, X-Frame-Options DENY,
                                    Referrer-Policy same-origin, ``Cache-Control: no-store`` on
                                    everything but /static/, HSTS when ``hsts`` > 0; an exception
                                    no handler took answers a plain 500 (JSON under /api/) with
                                    the same headers, never a stack trace
    BodyLimit(app, max_bytes)       413 for a body larger than ``max_bytes``: at once from its
                                    Content-Length, without reading it; a chunked body is
                                    counted as it streams and cut off there; a response
                                    sent before the body's end closes the connection (so
                                    the rest is not read either)
    json_body(data, max_depth=32)   a JSON document, refused (InputError) when it is not JSON,
                                    nests deeper than ``max_depth`` (checked before parsing, so
                                    no recursion error) or holds a lone surrogate (``"\\ud800"``)
    byte_size("5MB")                a size setting in bytes (KB, MB, GB: powers of 1000; KiB,
                                    MiB, GiB: of 1024)

All are pure ASGI or pure functions taking their limit as a parameter, for the sensor
collector to come: it wraps its app in ``BodyLimit`` with its own upload limit and reads
JSON through ``json_body``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from teiten.errors import InputError, SettingError
from teiten.settings import setting

__all__ = ["CSP", "BodyLimit", "BodyTooLarge", "SecurityHeaders", "byte_size", "install", "json_body"]

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
_HEADERS = ((b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin"))
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def install(app: FastAPI) -> None:
    """The guards of ``teiten serve``'s app, outside every middleware added before."""
    app.add_middleware(BodyLimit, max_bytes=byte_size(setting("web_max_body") or "5MB"))
    hsts = setting("web_hsts") or "0"
    if not hsts.strip().isdigit():
        raise SettingError(f"web_hsts is a number of seconds, not {hsts!r}")
    app.add_middleware(SecurityHeaders, hsts=int(hsts))


def byte_size(text: str) -> int:
    """``5MB`` → 5,000,000; a plain number is bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", text.lower())
    if m is None or m.group(2) not in _UNITS:
        raise SettingError(f"a size is a number of bytes, or with KB, MB, GB, KiB, MiB, GiB: not {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope.get("headers", ()) if k.lower() == name), None)


class SecurityHeaders:
    """Pure ASGI: the headers of the module docstring on every HTTP response (a header the
    app set itself is kept)."""

    def __init__(self, app: ASGIApp, hsts: int = 0) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_HEADERS)
        if not str(scope.get("path", "")).startswith("/static/"):
            extra.append((b"cache-control", b"no-store"))
        if self.hsts > 0:
            extra.append((b"strict-transport-security", b"max-age=%d" % self.hsts))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                have = {k.lower() for k, _ in headers}
                message = {**message, "headers": headers + [(k, v) for k, v in extra if k not in have]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:  # the server logs the exception; the client learns nothing of it
                api = str(scope.get("path", "")).startswith("/api/")
                await _answer(send_with_headers, 500, {"error": "internal error"} if api else "Internal Server Error")
            raise


class BodyTooLarge(HTTPException):
    """Raised by :class:`BodyLimit`'s ``receive`` past the limit: an HTTPException, so that
    the app's own error handler answers it (413) wherever the body was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes",
                         headers={"Connection": "close"})


class BodyLimit:
    """Pure ASGI: 413 for a request body larger than ``max_bytes`` (module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await _answer(send, 413, _message(scope, BodyTooLarge(self.max_bytes)), close=True)
            return
        seen = 0
        over = False
        read = declared in (None, b"0") and _header(scope, b"transfer-encoding") is None  # no body
        started = False

        async def counted() -> Message:
            nonlocal seen, over, read
            if over:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise BodyTooLarge(self.max_bytes)
                read = not message.get("more_body", False)
            return message

        async def send_closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not read:  # an answer before the body's end (413, a form field too long, 401):
                    # the server would read the rest only to drop it; closing stops the upload
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, send_closing)
        except BodyTooLarge as e:
            if started:
                raise
            await _answer(send, 413, _message(scope, e), close=True)


def _message(scope: Scope, e: HTTPException) -> Any:
    return {"error": e.detail} if str(scope.get("path", "")).startswith("/api/") else e.detail


async def _answer(send: Send, status: int, body: Any, *, close: bool = False) -> None:
    """A whole response: ``body`` as JSON when it is a dict, else as plain text."""
    data = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
    kind = b"application/json" if isinstance(body, dict) else b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text ``data`` nest (strings skipped)."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_body(data: bytes | str, max_depth: int = 32) -> Any:
    """The JSON document ``data`` (module docstring): InputError for what is not JSON,
    nests deeper than ``max_depth`` or holds a lone surrogate."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_depth(raw) > max_depth:
        raise InputError(f"the JSON nests deeper than {max_depth} levels")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InputError("the body is not JSON (UTF-8)") from None
    if any(_SURROGATE.search(s) for s in _strings(obj)):
        raise InputError("the JSON holds a lone surrogate (such as \\ud800): not Unicode text")
    return obj


def _strings(obj: Any) -> Iterable[str]:
    """Every string of a parsed JSON document, keys included (its depth is bounded)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
