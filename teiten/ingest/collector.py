"""The collector: sensors upload their closed intervals to it over HTTPS (ASGI app).

::

    GET  /v1/health                                     200, no token needed
    HEAD /v1/sensors/NAME/files/NAME-YYYYmmddTHHMMSSZ.pcap       Upload-Offset: bytes held
    PUT  /v1/sensors/NAME/files/NAME-YYYYmmddTHHMMSSZ.pcap       the capture (Teiten-SHA256)
    PUT  /v1/sensors/NAME/manifests/NAME-YYYYmmddTHHMMSSZ.json   its signed manifest

Every request under ``/v1/sensors/`` carries ``Authorization: Bearer TOKEN`` (the sensor's,
teiten/ingest/collector_db.py). A capture is resumable: a PUT with ``Content-Range: bytes
START-END/TOTAL`` continues at START when START is what ``HEAD`` says is held (a cut
connection keeps the bytes that arrived). When all TOTAL bytes are there and their SHA-256
is the ``Teiten-SHA256`` header's, the file is complete (201; a repeat of a complete file is
a no-op 200). A manifest is taken after its file (409 before): its signature is checked
with the sensor's registered key and its chain with the last manifest accepted (422 when
either fails; a gap in ``seq`` is accepted and recorded). Then its file moves to
``incoming/`` for the batch ingester (collector_batch.py).

Refused with a status, a log line and nothing kept: a name that is not
``NAME-YYYYmmddTHHMMSSZ.pcap|.pcapng|.json`` or holds ``/``, ``..`` or a control character (400),
no or a wrong or revoked token (401), another sensor's name or manifest (403), past the
size limits (413), a capture that is not one or holds a packet neither to nor from the
sensor's registered addresses (422, collector_addresses.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teiten.errors import CaptureError, InputError, SettingError
from teiten.ingest.collector_addresses import foreign_packets
from teiten.ingest.collector_db import CollectorDB, FileRow, SensorRow
from teiten.ingest.collector_http import Receive, Refused, Scope, Send, body_range, read_body, size_of
from teiten.ingest.collector_metrics import CollectorMetrics
from teiten.sensors.credentials import public_key
from teiten.sensors.manifest import Manifest, chain_problems, parse_manifest

__all__ = ["Collector", "Limits", "accept_manifest", "check_sensor_name", "collector_folder"]

log = logging.getLogger("teiten.collector")

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
STAMP = r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def collector_folder(store: Path) -> Path:
    """Where the collector keeps its state: ``<store>/collector``."""
    return store / "collector"


def check_sensor_name(name: str) -> str:
    """A sensor's name as the collector takes it: a letter or digit, then letters, digits,
    ``_``, ``.`` or ``-`` (64 at most), never ``..``."""
    if not NAME.fullmatch(name) or ".." in name:
        raise SettingError(f"a sensor's name is letters, digits, '_', '.' and '-' (not '..'), not {name!r}")
    return name


@dataclass(frozen=True)
class Limits:
    max_file: int = 1 << 30  # bytes of one capture
    max_manifest: int = 64 << 10


def accept_manifest(db: CollectorDB, sensor: SensorRow, m: Manifest, body: bytes, stem: str, *,
                    received: str | None = None) -> int:
    """Record manifest ``m`` (``body``, its bytes) of ``sensor``: its signature is the sensor's
    registered key's and it follows the last manifest accepted (else :class:`Refused`, 422);
    received now, or at ``received`` (a replay, as the demo's); the ``seq`` numbers skipped
    before it (a gap, recorded)."""
    if not m.verified(public_key(sensor.public_key)):
        raise Refused(422, f"manifest {m.seq}: the signature is not the sensor's")
    before = db.last_manifest(sensor.name)
    problems, gap = chain_problems(parse_manifest(before) if before else None, m)
    if problems:
        raise Refused(422, f"manifest {m.seq}: " + "; ".join(problems))
    db.accept_manifest(sensor.name, m.seq, stem, m.digest(), gap, body, m.file, received=received)
    return gap


class Collector:
    """The upload API over a collector folder (``<store>/collector``)."""

    def __init__(self, folder: Path, limits: Limits = Limits(),
                 on_accept: Callable[[], None] | None = None) -> None:
        self.folder, self.limits, self.on_accept = folder, limits, on_accept
        self.db = CollectorDB(folder / "collector.sqlite")
        self.metrics = CollectorMetrics(self.db)  # served at /metrics when .metrics.exposed
        for d in (self.uploads, self.incoming):
            d.mkdir(parents=True, exist_ok=True)
        self.recover()

    @property
    def uploads(self) -> Path:
        return self.folder / "uploads"

    @property
    def incoming(self) -> Path:
        return self.folder / "incoming"

    def recover(self) -> None:
        """Finish a move to ``incoming/`` that a crash cut (its manifest was recorded), and
        the uploads cut after their last byte (:meth:`_finish`)."""
        for f in self.db.files_in("incoming"):
            if (self.uploads / f.name).exists():
                (self.uploads / f.name).replace(self.incoming / f.name)
        for f in self.db.files_in("partial"):
            self._finish(f)

    def _finish(self, row: FileRow) -> bool:
        """A ``partial`` upload whose ``.part`` holds all its bytes (a crash or a cut came after
        the last one): checked and made ``complete``, or dropped when its SHA-256 is not the
        declared one; whether it was. Else it would stay partial for good: ``HEAD`` says every
        byte is held, the shipper sends none, and its manifest waits for a complete file."""
        part = self.uploads / (row.name + ".part")
        if not part.exists() or part.stat().st_size < row.size:
            return False  # resumed where it stopped
        with open(part, "rb") as f:
            sha = hashlib.file_digest(f, "sha256").hexdigest()
        if part.stat().st_size == row.size and sha == row.sha256:
            part.replace(self.uploads / row.name)
            self.db.set_file(row.name, row.sensor, row.sha256, row.size, "complete")
            log.info("received %s (%d bytes) from %s, its upload cut after the last byte", row.name, row.size,
                     row.sensor)
            return True
        self._discard(row.name)
        log.warning("dropped the upload of %s, cut after the last byte: not the file declared", row.name)
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/metrics" and self.metrics.exposed:
            return await self.metrics.serve(scope, send)
        try:
            status, body, headers = await self._route(scope, receive)
        except Refused as e:
            where = f"{scope.get('client', ('?',))[0]} {method} {path!r}"
            log.warning("refused %d %s: %s", e.status, where, e.reason)
            self.metrics.refused(e.status)
            status, body, headers = e.status, {"error": e.reason}, e.headers
        data = b"" if method == "HEAD" else json.dumps(body).encode()
        hdrs = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                (b"content-length", str(len(data)).encode())] + [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": data})

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any], dict[str, str]]:
        method, path = scope["method"], scope["path"]
        if path == "/v1/health" and method in ("GET", "HEAD"):
            return 200, {"status": "ok"}, {}
        if not path.startswith("/v1/sensors/"):
            raise Refused(404, "no such resource")
        parts = path.split("/")
        if CONTROL.search(path) or len(parts) != 6 or parts[4] not in ("files", "manifests") or ".." in path:
            raise Refused(400, "not /v1/sensors/NAME/files/FILE or /v1/sensors/NAME/manifests/FILE")
        name, kind, file = parts[3], parts[4], parts[5]
        suffix = r"\.pcap(?:ng)?" if kind == "files" else r"\.json"
        match = re.fullmatch(re.escape(name) + "-" + STAMP + suffix, file)
        if not NAME.fullmatch(name) or match is None:
            raise Refused(400, f"a {kind[:-1]} is named {name}-YYYYmmddTHHMMSSZ"
                                   + (".pcap or .pcapng" if kind == "files" else ".json"))
        sensor = self._authorised(scope, name)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if kind == "files" and method == "HEAD":
            return self._held(file)
        if method != "PUT":
            raise Refused(405, f"{method} is not taken here", {"allow": "HEAD, PUT" if kind == "files" else "PUT"})
        if kind == "files":
            return await self._put_file(sensor, file, headers, receive)
        y, mo, d, h, mi, s = match.groups()
        return await self._put_manifest(sensor, file[:-5], f"{y}-{mo}-{d}T{h}:{mi}:{s}Z", headers, receive)

    def _authorised(self, scope: Scope, name: str) -> SensorRow:
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        row = self.db.sensor_of_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if row is None:
            raise Refused(401, "no valid token (Authorization: Bearer TOKEN of teiten collector add-sensor)",
                          {"www-authenticate": "Bearer"})
        if row.name != name:
            raise Refused(403, f"the token is sensor {row.name!r}'s, not {name!r}'s")
        return row

    def _held(self, file: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        row = self.db.file(file)
        if row is not None and row.state == "partial" and self._finish(row):
            row = self.db.file(file)
        if row is None:
            return 404, {"offset": 0}, {"upload-offset": "0"}
        offset = row.size if row.state != "partial" else size_of(self.uploads / (file + ".part"))
        return 200, {"offset": offset, "size": row.size, "complete": row.state != "partial"}, {
            "upload-offset": str(offset), "upload-length": str(row.size)}

    async def _put_file(self, sensor: SensorRow, file: str, headers: dict[str, str],
                        receive: Receive) -> tuple[int, dict[str, Any], dict[str, str]]:
        sha = headers.get("teiten-sha256", "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise Refused(400, "a file comes with its SHA-256 (Teiten-SHA256: 64 hex digits)")
        row = self.db.file(file)
        if row is not None and row.state != "partial":
            if row.sha256 == sha:
                return 200, {"status": "already received", "offset": row.size}, {"upload-offset": str(row.size)}
            raise Refused(409, "a different file of this name was received")
        start, end, total = body_range(headers)
        if total > self.limits.max_file:
            self._discard(file)
            raise Refused(413, f"a file is at most {self.limits.max_file} bytes, not {total}")
        part = self.uploads / (file + ".part")
        held = size_of(part) if row is not None and row.sha256 == sha and row.size == total else 0
        if start != held and start != 0:
            raise Refused(409, f"{held} bytes are held: resume there", {"upload-offset": str(held)})
        self.db.set_file(file, sensor.name, sha, total, "partial")
        got = 0
        with open(part, "wb" if start == 0 else "ab") as f:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    f.flush()
                    raise Refused(499, f"cut after {start + got} of {total} bytes (kept, to resume)")
                chunk = msg.get("body", b"")
                got += len(chunk)
                if start + got > end + 1:
                    f.close()
                    self._discard(file)
                    raise Refused(413, f"more bytes than the range {start}-{end}/{total} said")
                f.write(chunk)
                if not msg.get("more_body", False):
                    break
            if start + got < end + 1:
                raise Refused(400, f"the body ended at {start + got}, before {end + 1}",
                              {"upload-offset": str(start + got)})
            if start + got < total:
                return 202, {"status": "partial", "offset": start + got}, {"upload-offset": str(start + got)}
            f.flush()
            os.fsync(f.fileno())
        with open(part, "rb") as f:
            actual = hashlib.file_digest(f, "sha256").hexdigest()
        if actual != sha:
            self._discard(file)
            raise Refused(422, f"the file's SHA-256 is {actual}, not {sha}")
        try:
            found = await asyncio.to_thread(foreign_packets, part, sensor.name, sensor.addresses)
        except CaptureError as e:
            self._discard(file)
            raise Refused(422, f"not a capture: {e}") from None
        if found.foreign:
            self._discard(file)
            raise Refused(422, found.describe(sensor.name))
        part.replace(self.uploads / file)
        self.db.set_file(file, sensor.name, sha, total, "complete")
        log.info("received %s (%d bytes) from %s", file, total, sensor.name)
        self.metrics.received(sensor.name, total)
        return 201, {"status": "received", "offset": total}, {"upload-offset": str(total)}

    def _discard(self, file: str) -> None:
        (self.uploads / (file + ".part")).unlink(missing_ok=True)
        self.db.drop_file(file)

    async def _put_manifest(self, sensor: SensorRow, stem: str, start: str, headers: dict[str, str],
                            receive: Receive) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = await read_body(receive, self.limits.max_manifest, headers)
        try:
            m = parse_manifest(body)
        except InputError as e:
            raise Refused(422, f"not a manifest: {e}") from None
        if m.sensor != sensor.name:
            raise Refused(403, f"a manifest of sensor {m.sensor!r} from sensor {sensor.name!r}")
        if m.interval_start != start:
            raise Refused(422, f"{stem}.json holds the interval starting {m.interval_start}")
        digest = m.digest()
        if self.db.has_manifest(digest):
            return 200, {"status": "already accepted", "seq": m.seq}, {}
        if not m.verified(public_key(sensor.public_key)):
            raise Refused(422, f"manifest {m.seq}: the signature is not the sensor's")
        if m.file is not None:
            row = self.db.file(m.file)
            if m.file not in (stem + ".pcap", stem + ".pcapng"):
                raise Refused(422, f"manifest {stem}.json names the file {m.file!r}")
            if row is None or row.state == "partial":
                raise Refused(409, f"upload {m.file} before its manifest")
            if row.sha256 != m.sha256:
                raise Refused(422, f"the file {m.file} received has another SHA-256 than its manifest's")
            if row.state != "complete":
                raise Refused(409, f"{m.file} was accepted with another manifest")
        gap = accept_manifest(self.db, sensor, m, body, stem)
        self.metrics.accepted(m, gap)
        if m.file is not None:
            (self.uploads / m.file).replace(self.incoming / m.file)
        if gap:
            log.warning("sensor %s: %d manifest(s) missing before seq %d (a gap, recorded)", sensor.name, gap, m.seq)
        if self.on_accept is not None:
            self.on_accept()
        return 201, {"status": "accepted", "seq": m.seq, "gap": gap}, {}

