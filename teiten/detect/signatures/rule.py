"""A compiled rule and its parts: the header tests, the payload options in rule order
(:class:`Content`, :class:`ByteOp`, :class:`Pcre`) and the :class:`Threshold`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from teiten.detect.signatures.addresses import AddrSet, PortSet
from teiten.detect.signatures.payload import K_BYTE_JUMP, K_BYTE_TEST, K_CONTENT, K_ISDATAAT, OP_FIELDS, OPS

__all__ = ["CLASSES", "ByteOp", "Content", "NumberTest", "Pcre", "Rule", "Threshold"]

#: The NPA Table 6-1 classes a rule's alerts are counted in (its classtype or msg gives the class).
CLASSES = ("Worm", "Scan", "UDP spam", "DoS", "DNS", "Others")


@dataclass(frozen=True)
class Content:
    pattern: bytes
    negated: bool = False
    nocase: bool = False
    offset: int = 0  # distance, when relative
    depth: int | None = None  # within, when relative
    relative: bool = False


@dataclass(frozen=True)
class ByteOp:
    """``byte_test`` (kind ``test``), ``byte_jump`` (``jump``) or ``isdataat`` (``isdataat``)."""

    kind: str
    nbytes: int = 0
    offset: int = 0
    relative: bool = False
    negated: bool = False
    base: int = 0  # 0 binary; 8, 10 or 16: the number written out
    little: bool = False
    op: str = "="
    value: int = 0
    bitmask: int = 0
    multiplier: int = 1
    align: bool = False
    from_beginning: bool = False
    post_offset: int = 0


@dataclass(frozen=True)
class Pcre:
    pattern: str
    flags: str
    negated: bool = False

    def compiled(self) -> re.Pattern[bytes]:
        f = 0
        for ch in self.flags:
            f |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(ch, 0)
        body = self.pattern.encode("latin-1")
        return re.compile(rb"\A(?:" + body + rb")" if "A" in self.flags else body, f)


@dataclass(frozen=True)
class Threshold:
    type: str  # limit | threshold | both | detection (detection_filter)
    track: str  # by_src | by_dst
    count: int
    seconds: float

    @property
    def reach(self) -> int:
        """Matches in a window before it alerts at all."""
        return self.count + 1 if self.type == "detection" else self.count

    def alerts(self, n: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Alerts of windows with ``n`` matches each."""
        if self.type == "limit":
            return np.minimum(n, self.count)
        if self.type == "threshold":
            return n // self.count
        if self.type == "both":
            return (n >= self.count).astype(np.int64)
        return np.maximum(n - self.count, 0)

    def alerting_ranks(self, rank: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which matches, by 1-based rank in their window, alert."""
        if self.type == "limit":
            return np.asarray(rank <= self.count)
        if self.type == "threshold":
            return np.asarray(rank % self.count == 0)
        if self.type == "both":
            return np.asarray(rank == self.count)
        return np.asarray(rank > self.count)


NumberTest = tuple[str, int, int]


@dataclass(frozen=True)
class Rule:
    sid: int
    msg: str
    klass: str  # one of CLASSES
    proto: int | None
    src: AddrSet | None  # None: any
    dst: AddrSet | None
    sport: PortSet | None
    dport: PortSet | None
    bidirectional: bool = False
    flags: tuple[str, int, int] | None = None  # (mode exact|any|all|not, bits, mask)
    itype: NumberTest | None = None  # (op, a, b)
    icode: NumberTest | None = None
    ttl: NumberTest | None = None
    dsize: NumberTest | None = None
    ipid: NumberTest | None = None
    seq: NumberTest | None = None
    ack: NumberTest | None = None
    window: NumberTest | None = None
    ip_proto: NumberTest | None = None
    fragbits: tuple[str, int, int] | None = None  # as flags, over the IP flags (M=1 D=2 R=4)
    icmp_id: NumberTest | None = None
    icmp_seq: NumberTest | None = None
    sameip: bool = False
    established: bool | None = None  # True established, False not_established
    ops: tuple[Content | ByteOp, ...] = ()
    pcres: tuple[Pcre, ...] = ()
    threshold: Threshold | None = None
    gid: int = 1
    rev: int = 0
    classtype: str = ""
    references: tuple[str, ...] = ()
    raw: str = field(default="", compare=False)

    @property
    def contents(self) -> tuple[Content, ...]:
        return tuple(o for o in self.ops if isinstance(o, Content))

    @property
    def payload(self) -> bool:
        """Whether the rule tests payload bytes (then it is matched in the streamed path)."""
        return bool(self.ops or self.pcres)

    def program(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """The payload options as a program of :func:`teiten.detect.signatures.payload.payload_match`."""
        rows, pats = [], bytearray()
        for o in self.ops:
            r = dict.fromkeys(OP_FIELDS, 0)
            if isinstance(o, Content):
                p = o.pattern.lower() if o.nocase else o.pattern
                r.update(kind=K_CONTENT, relative=int(o.relative), offset=o.offset,
                         depth=-1 if o.depth is None else o.depth, negated=int(o.negated), a=len(pats),
                         b=len(pats) + len(p), c=int(o.nocase))
                pats += p
            elif o.kind == "isdataat":
                r.update(kind=K_ISDATAAT, relative=int(o.relative), offset=o.offset, negated=int(o.negated))
            else:
                r.update(kind=K_BYTE_TEST if o.kind == "test" else K_BYTE_JUMP, relative=int(o.relative),
                         offset=o.offset, depth=o.nbytes, negated=int(o.negated), a=o.base, b=int(o.little),
                         c=OPS[o.op] if o.kind == "test" else o.multiplier,
                         value=o.value if o.kind == "test" else int(o.align), bitmask=o.bitmask,
                         from_beginning=int(o.from_beginning), post_offset=o.post_offset)
            rows.append([r[k] for k in OP_FIELDS])
        return (np.array(rows, np.int64).reshape(-1, len(OP_FIELDS)), np.frombuffer(bytes(pats) or b"\0", np.uint8))
