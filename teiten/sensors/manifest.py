"""The manifest of one capture interval of a sensor: what it saw and how, signed and chained.

Every closed interval has one, packets or not (an interval without a packet is a
heartbeat: "no traffic" and "sensor down" differ). Its fields (docs/sensors.md):

``sensor``, ``seq`` (1, 2, … never reused), ``interval_start``/``interval_end`` (UTC, on
multiples of the rotation), ``first_ts``/``last_ts`` (of the packets, null without one),
``packets``, ``bytes``, ``dropped`` (the capture's kernel and interface drop counters over
the interval), ``replies`` (SYN-ACKs sent by a responder), ``file`` (the capture's name,
null without a packet), ``sha256`` (of the file), ``prev`` (the SHA-256 of the previous
manifest, null for the first: a hash chain), ``agent_version``, ``host_clock`` and
``monotonic`` (the host's wall clock and monotonic clock when the interval closed, for the
collector's clock check), and ``sig``: Ed25519 over the canonical JSON of all the others
(keys sorted, no spaces, UTF-8).
"""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from teiten.errors import InputError
from teiten.sensors.credentials import verify

__all__ = ["Manifest", "chain_problems", "parse_manifest"]


@dataclass(frozen=True)
class Manifest:
    sensor: str
    seq: int
    interval_start: str
    interval_end: str
    first_ts: str | None = None
    last_ts: str | None = None
    packets: int = 0
    bytes: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {"kernel": 0, "interface": 0})
    replies: int = 0
    file: str | None = None
    sha256: str | None = None
    prev: str | None = None
    agent_version: str = ""
    host_clock: str = ""
    monotonic: float = 0.0
    sig: str | None = None

    def body(self) -> dict[str, Any]:
        """Every field but the signature."""
        d = asdict(self)
        del d["sig"]
        return d

    def signed_bytes(self) -> builtins.bytes:
        """What the signature is over: the canonical JSON of :meth:`body`."""
        return json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def to_bytes(self) -> builtins.bytes:
        """The manifest file: the canonical JSON of every field, the signature included."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> str:
        """The SHA-256 of the manifest file: the next manifest's ``prev``."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def signed(self, key: Ed25519PrivateKey) -> Manifest:
        return replace(self, sig=key.sign(self.signed_bytes()).hex())

    def verified(self, key: Ed25519PublicKey) -> bool:
        """Whether the signature is ``key``'s over the other fields."""
        if not self.sig:
            return False
        try:
            sig = bytes.fromhex(self.sig)
        except ValueError:
            return False
        return verify(key, sig, self.signed_bytes())

    def start(self) -> datetime:
        """When the interval began (UTC)."""
        return datetime.fromisoformat(self.interval_start)

    def end(self) -> datetime:
        """When the interval ended (UTC)."""
        return datetime.fromisoformat(self.interval_end)

    def seconds(self) -> float:
        """The interval's length."""
        return (self.end() - self.start()).total_seconds()

    @property
    def heartbeat(self) -> bool:
        """An interval without a packet."""
        return self.file is None


_TYPES: dict[str, tuple[type, ...]] = {
    "sensor": (str,), "seq": (int,), "interval_start": (str,), "interval_end": (str,), "packets": (int,),
    "bytes": (int,), "replies": (int,), "agent_version": (str,), "host_clock": (str,), "monotonic": (int, float),
    "first_ts": (str, type(None)), "last_ts": (str, type(None)), "file": (str, type(None)),
    "sha256": (str, type(None)), "prev": (str, type(None)), "sig": (str, type(None)), "dropped": (dict,),
}


def parse_manifest(data: bytes) -> Manifest:
    """A manifest from its file's bytes; a clear error for anything else (unknown or missing
    fields, wrong types, negative counts)."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"a manifest is JSON ({e})") from None
    if not isinstance(raw, dict):
        raise InputError("a manifest is a JSON object")
    names = {f.name for f in fields(Manifest)}
    unknown, missing = set(raw) - names, names - set(raw)
    if unknown or missing:
        said = (f"unknown {sorted(unknown)}" if unknown else "", f"missing {sorted(missing)}" if missing else "")
        raise InputError("manifest fields: " + "; ".join(x for x in said if x))
    for name, kinds in _TYPES.items():
        v = raw[name]
        if isinstance(v, bool) or not isinstance(v, kinds):
            raise InputError(f"manifest field {name}: {type(v).__name__} is not allowed")
    drops = raw["dropped"]
    if set(drops) != {"kernel", "interface"} or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                         for v in drops.values()):
        raise InputError("manifest field dropped: {\"kernel\": N, \"interface\": N}")
    if min(raw["seq"], raw["packets"], raw["bytes"], raw["replies"]) < 0 or raw["seq"] == 0:
        raise InputError("manifest counts are not negative, and seq starts at 1")
    if (raw["file"] is None) != (raw["sha256"] is None) or (raw["file"] is None and raw["packets"]):
        raise InputError("a manifest names its file and its sha256 together, and has one when it counts packets")
    return Manifest(**raw)


def chain_problems(prev: Manifest | None, m: Manifest) -> tuple[list[str], int]:
    """What is wrong with ``m`` following ``prev`` (the sensor's latest accepted manifest), and
    how many sequence numbers were skipped (a gap: recorded, not refused)."""
    problems: list[str] = []
    if prev is None:
        return problems, max(0, m.seq - 1) if m.prev is None else 0
    if m.sensor != prev.sensor:
        problems.append(f"sensor {m.sensor!r} follows {prev.sensor!r}")
    if m.seq <= prev.seq:
        problems.append(f"seq {m.seq} is not after {prev.seq}")
        return problems, 0
    if m.seq == prev.seq + 1 and m.prev != prev.digest():
        problems.append(f"prev does not match manifest {prev.seq}: the chain is broken")
    if m.interval_start < prev.interval_end:
        problems.append(f"interval {m.interval_start} starts before {prev.interval_end}")
    return problems, m.seq - prev.seq - 1
