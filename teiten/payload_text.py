"""Attacker-controlled bytes as text that is safe to print: printable ASCII kept, every other
byte (and the backslash) escaped as ``\\xNN``, so that control characters, terminal escape
sequences and invalid UTF-8 reach no terminal, CSV or page as they came. HTML output
escapes the result again (its ``<``, ``&`` are printable ASCII)."""

from __future__ import annotations

__all__ = ["escaped"]

_TABLE = [chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in range(256)]


def escaped(data: bytes, limit: int | None = None) -> str:
    """``data`` (its first ``limit`` bytes) as escaped text, ``…`` marking a cut."""
    cut = limit is not None and len(data) > limit
    text = "".join(_TABLE[b] for b in (data[:limit] if cut else data))
    return text + "…" if cut else text
