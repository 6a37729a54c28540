"""Running the collector: the upload API over TLS 1.3 (uvicorn) and the batch ingester beside it."""

from __future__ import annotations

import ssl
from pathlib import Path

import uvicorn

from teiten.errors import SettingError
from teiten.ingest.collector import Collector, Limits, collector_folder
from teiten.ingest.collector_batch import BatchIngester
from teiten.ingest.collector_pki import SERVER_CERT, SERVER_KEY

__all__ = ["collector_server", "serve"]


class _TLS13Config(uvicorn.Config):
    """uvicorn's configuration, its TLS context refusing anything older than TLS 1.3."""

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            self.ssl.minimum_version = ssl.TLSVersion.TLSv1_3


def collector_server(store: Path, *, host: str, port: int, cert: Path | None = None,
                     key: Path | None = None, limits: Limits | None = None, every: float = 30.0, settle: float = 1.0,
                     log_level: str = "info", metrics: bool = False) -> tuple[uvicorn.Server, BatchIngester]:
    """The server (not started) and its ingester (not started) of the collector in ``store``;
    with ``metrics``, ``/metrics`` is served to loopback clients (collector_metrics.py)."""
    folder = collector_folder(store)
    cert, key = cert or folder / SERVER_CERT, key or folder / SERVER_KEY
    if not cert.exists() or not key.exists():
        raise SettingError(f"no server certificate at {cert} (teiten collector init --store {store}, or --cert/--key)")
    if not (folder / "collector.sqlite").exists():
        raise SettingError(f"no collector in {store} (teiten collector init --store {store})")
    ingester: BatchIngester | None = None

    def accepted() -> None:
        if ingester is not None:
            ingester.wake()

    app = Collector(folder, limits or Limits(), on_accept=accepted)
    app.metrics.exposed = metrics
    ingester = BatchIngester(folder, store, app.db, every=every, settle=settle, metrics=app.metrics)
    config = _TLS13Config(app, host=host, port=port, ssl_certfile=str(cert), ssl_keyfile=str(key),
                          log_level=log_level, lifespan="on", server_header=False)
    return uvicorn.Server(config), ingester


def serve(store: Path, *, host: str, port: int, cert: Path | None = None,
          key: Path | None = None, limits: Limits | None = None, metrics: bool = False) -> None:
    """Serve until stopped (SIGTERM/SIGINT), ingesting as manifests are accepted."""
    server, ingester = collector_server(store, host=host, port=port, cert=cert, key=key, limits=limits,
                                        metrics=metrics)
    ingester.start()
    ingester.wake()  # what a previous run left in incoming/
    try:
        server.run()
    finally:
        ingester.stop()
        ingester.join()
