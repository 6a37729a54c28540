"""``teiten sensor ship``: the sensor's side of the collector (teiten.ingest.collector is the other).

A pass takes the spool's closed intervals oldest first: the capture (resumed at the byte the
collector holds, ``HEAD`` then ``PUT`` with ``Content-Range``; skipped when the collector has
it whole), then its manifest; once the manifest is accepted the interval moves to
``sent/``, and ``sent/`` is pruned, oldest first, so that the spool stays within the quota.
A failure that may pass (no connection, 5xx, 409, 429) is retried after a back-off with
jitter; a refusal (400, 401, 403, 413, 422) is not retried by ``--once`` and says why.

The credentials folder of a sensor holds, besides its signing key (teiten.sensors.credentials),
what ``teiten collector add-sensor --out`` writes: ``sensor.name``, ``token`` (0600) and
``ca.pem`` (the collector's CA, the one certificate the shipper trusts).
"""

from __future__ import annotations

import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from teiten.errors import SettingError, TeitenError
from teiten.sensors.manifest import Manifest
from teiten.sensors.spool import Spool

__all__ = ["CA", "NAME", "TOKEN", "Refusal", "Shipper", "backoff", "client", "read_credentials",
           "run", "write_credentials"]

log = logging.getLogger("teiten.ship")

NAME, TOKEN, CA = "sensor.name", "token", "ca.pem"
RETRY = {408, 409, 425, 429, 499}


class Refusal(TeitenError):
    """The collector refused an upload for good (the status and its reason in the message)."""


class Retry(Exception):
    """A failure that may pass."""


def write_credentials(folder: Path, sensor: str, token: str, ca_pem: bytes) -> None:
    """What a sensor ships with, into its credentials folder (made, 0700)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / NAME).write_text(sensor + "\n", encoding="utf-8")
    fd = os.open(folder / TOKEN, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
    (folder / CA).write_bytes(ca_pem)


def read_credentials(folder: Path) -> tuple[str, str, Path]:
    """The sensor's name, its token and the path of the collector's CA certificate."""
    try:
        return ((folder / NAME).read_text(encoding="utf-8").strip(),
                (folder / TOKEN).read_text(encoding="ascii").strip(), folder / CA)
    except FileNotFoundError as e:
        raise SettingError(f"{e.filename} is missing (teiten collector add-sensor ... --out {folder})") from None


def client(collector: str, token: str, ca: Path, *, timeout: float = 60.0) -> httpx.Client:
    """An HTTPS client of the collector: TLS 1.3, trusting the collector's CA alone."""
    if not collector.startswith("https://"):
        raise SettingError(f"the collector is an https:// address, not {collector!r}")
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return httpx.Client(base_url=collector.rstrip("/"), verify=ctx, timeout=timeout,
                        headers={"authorization": f"Bearer {token}"})


def _checked(r: httpx.Response, what: str) -> httpx.Response:
    if r.status_code < 300:
        return r
    try:
        reason = str(r.json().get("error", r.text))
    except ValueError:
        reason = r.text
    if r.status_code >= 500 or r.status_code in RETRY:
        raise Retry(f"{what}: {r.status_code} {reason}")
    raise Refusal(f"{what}: the collector refused it ({r.status_code} {reason})")


class Shipper:
    """Ships one spool to one collector."""

    def __init__(self, spool: Spool, http: httpx.Client, *, quota: int | None = None,
                 chunk: int = 1 << 20) -> None:
        self.spool, self.http, self.quota, self.chunk = spool, http, quota, chunk
        self.base = f"/v1/sensors/{spool.sensor}"

    def stem(self, m: Manifest) -> str:
        """``NAME-YYYYmmddTHHMMSSZ`` of an interval."""
        return self.spool.stem(m)

    def ship_once(self) -> int:
        """Ship every closed interval, oldest first; how many were shipped."""
        shipped = 0
        for m in self.spool.manifests():
            if m.file is not None and m.sha256 is not None:
                self.upload(self.spool.ready / m.file, m.sha256)
            _checked(self.http.put(f"{self.base}/manifests/{self.stem(m)}.json", content=m.to_bytes(),
                                   headers={"content-type": "application/json"}), f"manifest {m.seq}")
            self.spool.mark_sent(m)
            shipped += 1
            log.info("shipped %s (seq %d)", self.stem(m), m.seq)
        if self.quota is not None:
            waiting = sum(p.stat().st_size for p in self.spool.ready.iterdir())
            self.spool.prune_sent(max(0, self.quota - waiting))
        return shipped

    def upload(self, path: Path, sha256: str) -> None:
        """Upload a capture, from the byte the collector holds."""
        url, size = f"{self.base}/files/{path.name}", path.stat().st_size
        for _ in range(3):
            head = self.http.head(url)
            if head.status_code == 200 and head.headers.get("upload-length") == str(size) \
                    and head.headers.get("upload-offset") == str(size):
                return
            if head.status_code not in (200, 404):
                _checked(head, path.name)
            offset = int(head.headers.get("upload-offset", "0"))
            offset = offset if 0 <= offset < size and head.headers.get("upload-length") == str(size) else 0
            r = self.http.put(url, content=self._from(path, offset), headers={
                "teiten-sha256": sha256, "content-length": str(size - offset),
                "content-range": f"bytes {offset}-{size - 1}/{size}", "content-type": "application/octet-stream"})
            if r.status_code in (200, 201):
                return
            if r.status_code != 409:
                _checked(r, path.name)
        raise Retry(f"{path.name}: the collector kept asking to resume elsewhere")

    def _from(self, path: Path, offset: int) -> Iterator[bytes]:
        with open(path, "rb") as f:
            f.seek(offset)
            while chunk := f.read(self.chunk):
                yield chunk


def backoff(failures: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Seconds to wait after ``failures`` failures in a row: doubling up to ``cap``, jittered."""
    return min(cap, base * 2.0 ** (failures - 1)) * random.uniform(0.5, 1.0)


def run(shipper: Shipper, *, once: bool, poll: float = 10.0, attempts: int = 5, base: float = 1.0,
        cap: float = 300.0, sleep: Callable[[float], None] = time.sleep) -> int:
    """Ship until stopped (``once``: one pass, retried ``attempts`` times); intervals shipped."""
    failures = total = 0
    while True:
        try:
            total += shipper.ship_once()
            failures = 0
        except (httpx.TransportError, Retry, Refusal) as e:
            failures += 1
            if once and isinstance(e, Refusal):
                raise
            if once and failures >= attempts:
                raise Refusal(f"gave up after {failures} attempts: {e}") from None
            delay = backoff(failures, base=base, cap=cap)
            log.warning("shipping failed (%s); again in %.1f s", e, delay)
            sleep(delay)
            continue
        if once:
            return total
        sleep(poll)
