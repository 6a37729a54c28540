"""A rule's text read into its parts: the header tokens and the option pairs
(:func:`rule_parts`, :func:`option_pairs`), and each option's value read as a test or a
payload option (``content``, ``flags``/``fragbits``, number tests, ``threshold``,
``byte_test``/``byte_jump``, ``isdataat``, ``pcre``). A value that cannot be read raises
:class:`RuleSkip` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from teiten.detect.signatures.payload import OPS
from teiten.detect.signatures.rule import ByteOp, NumberTest, Pcre, Threshold
from teiten.detect.signatures.skips import APP_REASON, HTTP_REASON, RuleSkip

__all__ = ["FLAG_BITS", "FRAG_BITS", "bit_test", "byte_op", "content_bytes", "integer", "isdataat", "number_test",
           "option_pairs", "pcre", "rule_parts", "threshold", "unquote"]

FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "C": 128, "W": 128, "E": 64, "1": 128, "2": 64}
FRAG_BITS = {"M": 1, "D": 2, "R": 4}  # more fragments, don't fragment, reserved (the ip_flags column)


def unquote(v: str | None) -> str:
    v = (v or "").strip()
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v


def content_bytes(text: str) -> bytes:
    out = bytearray()
    if text.count("|") % 2:
        raise RuleSkip("invalid content: unbalanced |")
    for i, part in enumerate(text.split("|")):
        if i % 2:
            try:
                out += bytes.fromhex(part)
            except ValueError:
                raise RuleSkip("invalid content: bad hex") from None
        else:
            out += re.sub(r"\\(.)", r"\1", part).encode("utf-8", "surrogateescape")
    if not out:
        raise RuleSkip("invalid content: empty")
    return bytes(out)


def integer(v: str | None, what: str) -> int:
    try:
        s = (v or "").strip()
        return int(s, 16) if s.lower().startswith("0x") else int(s)
    except ValueError:
        raise RuleSkip(f"invalid {what}: not a number") from None


def number_test(v: str | None, what: str, names: Mapping[str, int] | None = None) -> NumberTest:
    s = (v or "").replace(" ", "")

    def num(x: str) -> int:
        if names and x.lower() in names:
            return names[x.lower()]
        return integer(x, what)

    if "<=>" in s:
        a, b = s.split("<=>")
        return "between_incl", num(a), num(b)
    if "<>" in s:
        a, b = s.split("<>")
        return "between", num(a), num(b)
    if "-" in s[1:]:
        a, b = s.split("-", 1)
        return "between_incl", num(a), num(b)
    for op in ("<=", ">=", "!=", "<", ">", "!", "="):
        if s.startswith(op):
            return {"!": "!="}.get(op, op), num(s[len(op):]), 0
    return "=", num(s), 0


def bit_test(v: str | None, names: dict[str, int] = FLAG_BITS, kw: str = "flags") -> tuple[str, int, int]:
    """(mode, bits, mask) of ``flags`` (TCP) or ``fragbits`` (IP, ``names`` = FRAG_BITS)."""
    spec, _, mask_s = (v or "").partition(",")
    mode = "exact"
    bits = 0
    for ch in spec.strip():
        if ch in "+*!":
            mode = {"+": "all", "*": "any", "!": "not"}[ch]
        elif ch == "0" and kw == "flags":
            continue
        elif ch.upper() in names:
            bits |= names[ch.upper()]
        else:
            raise RuleSkip(f"invalid {kw}: unknown flag {ch!r}")
    ignore = 0
    for ch in mask_s.strip():
        if ch.upper() in names:
            ignore |= names[ch.upper()]
    return mode, bits, 0xFF & ~ignore


def threshold(v: str | None, kind: str) -> Threshold:
    parts = {}
    for p in (v or "").split(","):
        if p.strip():
            k, _, x = p.strip().partition(" ")
            parts[k.strip()] = x.strip()
    if kind == "detection_filter":
        parts["type"] = "detection"
    try:
        t = Threshold(parts["type"], parts["track"], int(parts["count"]), float(parts["seconds"]))
    except (KeyError, ValueError):
        raise RuleSkip(f"invalid {kind}: needs type, track, count and seconds") from None
    if t.track not in ("by_src", "by_dst"):
        raise RuleSkip(f"{kind}: track {t.track} (only by_src, by_dst)")
    if t.type not in ("limit", "threshold", "both", "detection") or t.count < 1 or t.seconds <= 0:
        raise RuleSkip(f"invalid {kind}: type limit|threshold|both, count ≥ 1, seconds > 0")
    return t


def byte_op(kind: str, v: str | None) -> ByteOp:
    parts = [p.strip() for p in (v or "").split(",") if p.strip()]
    word = "byte_test" if kind == "test" else "byte_jump"
    need = 4 if kind == "test" else 2
    if len(parts) < need:
        raise RuleSkip(f"invalid {word}: too few arguments")
    kw: dict[str, Any] = {"nbytes": integer(parts[0], word)}
    if kind == "test":
        op = parts[1].replace(" ", "")
        neg = op.startswith("!")
        op = op.lstrip("!") or "="
        if op not in OPS:
            raise RuleSkip(f"invalid byte_test: operator {parts[1]!r}")
        kw.update(op=op, negated=neg, value=integer(parts[2], word), offset=integer(parts[3], word))
        rest = parts[4:]
    else:
        kw["offset"] = integer(parts[1], word)
        rest = parts[2:]
    base = 0
    for p in rest:
        w = p.split()
        name = w[0].lower()
        if name == "relative":
            kw["relative"] = True
        elif name in ("big", "little"):
            kw["little"] = name == "little"
        elif name == "string":
            base = base or 10
        elif name in ("hex", "dec", "oct"):
            base = {"hex": 16, "dec": 10, "oct": 8}[name]
        elif name == "bitmask" and len(w) == 2:
            kw["bitmask"] = integer(w[1], word)
        elif kind == "jump" and name == "multiplier" and len(w) == 2:
            kw["multiplier"] = integer(w[1], word)
        elif kind == "jump" and name == "align":
            kw["align"] = True
        elif kind == "jump" and name == "from_beginning":
            kw["from_beginning"] = True
        elif kind == "jump" and name == "post_offset" and len(w) == 2:
            kw["post_offset"] = integer(w[1], word)
        elif name == "dce":
            raise RuleSkip(f"{word}: dce needs the DCE/RPC parser")
        else:
            raise RuleSkip(f"{word}: option {name!r} is not supported")
    if base == 0 and not 1 <= kw["nbytes"] <= 4 and not (kind == "jump" and kw["nbytes"] <= 8):
        raise RuleSkip(f"invalid {word}: 1 to 4 bytes")
    if base and not 1 <= kw["nbytes"] <= 10:
        raise RuleSkip(f"invalid {word}: 1 to 10 digits")
    return ByteOp(kind, base=base, **kw)


def isdataat(v: str | None) -> ByteOp:
    s = (v or "").strip()
    neg = s.startswith("!")
    parts = [p.strip() for p in s.lstrip("!").split(",")]
    rel = any(p == "relative" for p in parts[1:])
    if any(p not in ("relative", "rawbytes") for p in parts[1:]):
        raise RuleSkip("isdataat: only relative")
    return ByteOp("isdataat", offset=integer(parts[0], "isdataat"), relative=rel, negated=neg)


def pcre(v: str | None) -> Pcre:
    s = (v or "").strip()
    neg = s.startswith("!")
    s = unquote(s.lstrip("!").strip())
    m = re.fullmatch(r"/(.*)/([A-Za-z]*)", s, re.S)
    if m is None:
        raise RuleSkip("invalid pcre: not /regex/flags")
    body, flags = m.group(1), m.group(2)
    for ch in flags:
        if ch in "UIPHDMCKSYVW":
            raise RuleSkip(HTTP_REASON if ch in "UIPHDMCKSY" else APP_REASON)
        if ch == "R":
            raise RuleSkip("pcre relative to an earlier match (R) is not supported")
        if ch in "EG":
            raise RuleSkip(f"pcre modifier {ch} has no Python re equivalent")
        if ch not in "ismxABOL":
            raise RuleSkip(f"invalid pcre: modifier {ch!r}")
    p = Pcre(body, flags, neg)
    try:
        p.compiled()
    except (re.error, UnicodeEncodeError, OverflowError):
        raise RuleSkip("pcre syntax Python re cannot read") from None
    return p


def option_pairs(body: str) -> list[tuple[str, str | None]]:
    """``name[:value]`` pairs of a rule's options (``;`` inside quotes or escaped is kept)."""
    out, cur, quote, esc = [], "", False, False
    for ch in body:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            cur += ch
            esc = True
        elif ch == '"':
            cur += ch
            quote = not quote
        elif ch == ";" and not quote:
            if cur.strip():
                out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if quote:
        raise RuleSkip("invalid rule: unbalanced quotes")
    if cur.strip():
        out.append(cur.strip())
    pairs: list[tuple[str, str | None]] = []
    for o in out:
        name, sep, value = o.partition(":")
        pairs.append((name.strip().lower(), value.strip() if sep else None))
    return pairs


def rule_parts(text: str) -> tuple[list[str], str]:
    """The header tokens (brackets kept together) and the option body of a rule."""
    open_at = text.find("(")
    close_at = text.rfind(")")
    if open_at < 0 or close_at < open_at:
        raise RuleSkip("invalid rule: no options in parentheses")
    toks, cur, depth = [], "", 0
    for ch in text[:open_at]:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch.isspace() and depth == 0:
            if cur:
                toks.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        toks.append(cur)
    return toks, text[open_at + 1:close_at]
