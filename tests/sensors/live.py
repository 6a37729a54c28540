"""Helpers of the sensor tests: a collector served by uvicorn over TLS on 127.0.0.1 (with its
batch ingester), and waiting for a condition."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
