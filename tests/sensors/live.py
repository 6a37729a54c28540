"""Helpers of the sensor tests: a collector served by uvicorn over TLS on 127.0.0.1 (with its
batch ingester), in this process or as its own ``teiten collector serve`` process, and
waiting for a condition."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from teiten.ingest.collector_batch import BatchIngester
from teiten.ingest.collector_serve import collector_server


def wait_until(cond: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``cond`` until it holds; fail with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@contextmanager
def collector(store: Path, **kw: Any) -> Iterator[tuple[str, BatchIngester]]:
    """``teiten collector serve`` over ``store`` (made by ``collector init``) on a free
    loopback port, ingesting every 0.2 s: its URL and ingester, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, ingester = collector_server(store, host="127.0.0.1", port=port, every=0.2, settle=0.05,
                                       log_level="warning", **kw)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ingester.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), 10, "the collector did not start")
        assert thread.is_alive(), "the collector stopped"
        yield f"https://127.0.0.1:{port}", ingester
    finally:
        server.should_exit = True
        thread.join(10)
        ingester.stop()
        ingester.join(10)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (for a server started after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def collector_process(store: Path, port: int, log: Path, *args: str, python: tuple[str, ...] = ("-m", "teiten.cli"),
                      wait: bool = True) -> subprocess.Popen[bytes]:
    """``teiten collector serve --store STORE --listen 127.0.0.1:PORT`` in its own process
    (its output appended to ``log``; ``python``: what runs the command line), once it answers
    ``GET /v1/health`` (unless not ``wait``)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, *python, "collector", "serve", "--store", str(store),
                                 "--listen", f"127.0.0.1:{port}", *args], stdout=out, stderr=subprocess.STDOUT)
    if not wait:
        return proc
    ctx = ssl.create_default_context(cafile=str(store / "collector" / "ca.pem"))

    def up() -> bool:
        assert proc.poll() is None, f"the collector stopped: {log.read_text(errors='replace')[-2000:]}"
        try:
            return httpx.get(f"https://127.0.0.1:{port}/v1/health", verify=ctx, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, 20, "the collector did not start")
    return proc
