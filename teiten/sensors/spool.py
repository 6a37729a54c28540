"""A sensor's spool: the closed intervals waiting to be shipped, and those shipped.

``DIR/tmp/`` holds what is being written, ``DIR/ready/`` the closed intervals
(``NAME-YYYYmmddTHHMMSSZ.pcap``, classic pcap as libpcap writes it, and its manifest
``….json``; a heartbeat has the manifest alone), ``DIR/sent/`` what the collector has
acknowledged. Everything reaches ``ready/`` by a rename from ``tmp/`` after an fsync, the
capture before its manifest, so a reader that takes manifests from ``ready/`` never sees
half a file. The interval being captured is ``tmp/NAME-open.pcap``; a closed one waits in
``tmp/`` for its manifest (:meth:`Spool.hold`: its capture and a note of its interval and
drops), so that capture never waits for the closing. After a crash, :meth:`Spool.held`
gives the closed intervals to finish and :meth:`Spool.recover` removes the rest: a kill -9
loses at most the open interval.
Intervals start on multiples of the rotation in UTC (:func:`interval_of`), so that files
line up across sensors and days without drift.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from teiten import __version__
from teiten.errors import InputError, SettingError
from teiten.sensors.manifest import Manifest, parse_manifest

__all__ = ["Held", "Spool", "interval_name", "interval_of", "iso"]


def interval_of(t: float, rotate: int) -> tuple[int, int]:
    """The interval (start, end) in whole seconds since the epoch that holds time ``t``."""
    if rotate <= 0:
        raise SettingError("--rotate is a positive number of seconds")
    start = int(t // rotate) * rotate
    return start, start + rotate


def iso(sec: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with a ``Z`` (µs when not whole)."""
    dt = datetime.fromtimestamp(sec, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{dt.microsecond:06d}" if dt.microsecond else "") + "Z"


def interval_name(sensor: str, start: float) -> str:
    """``NAME-YYYYmmddTHHMMSSZ``, the stem of an interval's files."""
    return f"{sensor}-{datetime.fromtimestamp(start, UTC):%Y%m%dT%H%M%SZ}"


def _fsync_rename(tmp: Path, dest: Path) -> None:
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(dest)
    dirfd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class Held:
    """A closed interval waiting in ``tmp/`` for its manifest."""

    start: float
    end: float
    capture: Path
    dropped: dict[str, int]
    replies: int
    note: Path  # its note (``tmp/STEM.held.json``), removed once the manifest is written


class Spool:
    """The spool folder of one sensor."""

    def __init__(self, root: Path, sensor: str) -> None:
        if not sensor or any(c in sensor for c in "/\\\0") or sensor.startswith("."):
            raise SettingError(f"a sensor's name is a plain word, not {sensor!r}")
        self.root, self.sensor = root, sensor
        for d in (self.tmp, self.ready, self.sent):
            d.mkdir(parents=True, exist_ok=True)

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def ready(self) -> Path:
        return self.root / "ready"

    @property
    def sent(self) -> Path:
        return self.root / "sent"

    @property
    def open_file(self) -> Path:
        """The capture of the interval being captured."""
        return self.tmp / f"{self.sensor}-open.pcap"

    def hold(self, start: float, end: float, dropped: dict[str, int], replies: int) -> Held:
        """Close the interval captured into :attr:`open_file` (closed by the writer) until its
        manifest is written: its note first, then its capture renamed to ``tmp/STEM.pcap``
        (a crash between the two leaves the note and the open file, which :meth:`held` pairs)."""
        stem = interval_name(self.sensor, start)
        note, capture = self.tmp / f"{stem}.held.json", self.tmp / f"{stem}.pcap"
        tmp = self.tmp / f"{stem}.held.tmp"
        tmp.write_text(json.dumps({"start": start, "end": end, "dropped": dropped, "replies": replies}))
        _fsync_rename(tmp, note)
        self.open_file.replace(capture)
        return Held(start, end, capture, dropped, replies, note)

    def held(self) -> list[Held]:
        """The closed intervals waiting for their manifests, oldest first (after a crash)."""
        out = []
        for note in sorted(self.tmp.glob(f"{self.sensor}-*.held.json")):
            d = json.loads(note.read_text())
            capture = note.with_name(note.name.replace(".held.json", ".pcap"))
            if not capture.exists() and self.open_file.exists():
                self.open_file.replace(capture)  # the crash came before the rename
            if capture.exists():
                out.append(Held(float(d["start"]), float(d["end"]), capture, d["dropped"], int(d["replies"]), note))
            else:
                note.unlink()
        return out

    def recover(self, keep: list[Held] | None = None) -> list[Path]:
        """Remove what a crash left half-written in ``tmp/`` but the intervals of ``keep``
        (:meth:`held`); the names removed."""
        kept = {p for h in keep or [] for p in (h.capture, h.note)}
        out = sorted(p for p in self.tmp.iterdir() if p not in kept)
        for p in out:
            p.unlink()
        return out

    def manifests(self, folder: Path | None = None) -> list[Manifest]:
        """The manifests in ``ready/`` (or ``folder``), oldest first."""
        out = []
        for p in sorted((folder or self.ready).glob(f"{self.sensor}-*.json")):
            try:
                out.append(parse_manifest(p.read_bytes()))
            except InputError as e:
                raise InputError(f"{p}: {e}") from None
        return sorted(out, key=lambda m: m.seq)

    def last(self) -> Manifest | None:
        """The newest manifest written, shipped or not: where a restarted sensor resumes."""
        found = self.manifests(self.ready) + self.manifests(self.sent)
        return max(found, key=lambda m: m.seq) if found else None

    def close_interval(self, start: float, end: float, capture: Path | None, *, packets: int, size: int,
                       first: float | None, last: float | None, dropped: dict[str, int], key: Ed25519PrivateKey,
                       replies: int = 0, prev: Manifest | None = None) -> Manifest:
        """Move the interval's capture (a file in ``tmp/``, or None without a packet) into
        ``ready/`` and write its signed manifest after it; return the manifest. ``prev`` is the
        previous manifest (default: :meth:`last`)."""
        before = prev if prev is not None else self.last()
        stem = interval_name(self.sensor, start)
        file = sha = None
        if capture is not None and packets:
            file = stem + "".join(capture.suffixes)
            sha = _sha256(capture)
            _fsync_rename(capture, self.ready / file)
        elif capture is not None:
            capture.unlink(missing_ok=True)
        m = Manifest(self.sensor, (before.seq if before else 0) + 1, iso(start), iso(end),
                     iso(first) if first is not None and packets else None,
                     iso(last) if last is not None and packets else None, packets, size if packets else 0,
                     {"kernel": int(dropped.get("kernel", 0)), "interface": int(dropped.get("interface", 0))},
                     replies, file, sha, before.digest() if before else None, __version__, iso(time.time()),
                     time.monotonic())
        m = m.signed(key)
        tmp = self.tmp / (stem + ".json")
        tmp.write_bytes(m.to_bytes())
        _fsync_rename(tmp, self.ready / (stem + ".json"))
        return m

    def stem(self, m: Manifest) -> str:
        """``NAME-YYYYmmddTHHMMSSZ``, the stem of an interval's files."""
        return interval_name(self.sensor, m.start().timestamp())

    def mark_sent(self, m: Manifest) -> None:
        """Move a shipped interval to ``sent/``: the capture first, the manifest last."""
        stem = self.stem(m)
        if m.file:
            (self.ready / m.file).replace(self.sent / m.file)
        (self.ready / (stem + ".json")).replace(self.sent / (stem + ".json"))

    def prune_sent(self, quota: int) -> list[Path]:
        """Delete the oldest shipped files until ``sent/`` holds at most ``quota`` bytes."""
        files = sorted(self.sent.iterdir(), key=lambda p: p.name)
        total = sum(p.stat().st_size for p in files)
        gone = []
        for p in files:
            if total <= quota:
                break
            total -= p.stat().st_size
            p.unlink()
            gone.append(p)
        return gone

    def size(self) -> int:
        """Bytes held in ``ready/`` and ``sent/``."""
        return sum(p.stat().st_size for d in (self.ready, self.sent) for p in d.iterdir())

    def enforce_quota(self, quota: int) -> list[Manifest]:
        """Keep the spool within ``quota`` bytes when the collector is away: the shipped files
        go first, then the oldest unshipped intervals (file and manifest), whose ``seq`` the
        collector then records as a gap. The intervals given up, oldest first."""
        self.prune_sent(quota)
        lost: list[Manifest] = []
        ready = self.manifests()
        total = self.size()
        for m in ready[:-1]:  # the newest stays: the next manifest chains to it
            if total <= quota:
                break
            for name in ([m.file] if m.file else []) + [self.stem(m) + ".json"]:
                path = self.ready / name
                total -= path.stat().st_size
                path.unlink()
            lost.append(m)
        return lost
