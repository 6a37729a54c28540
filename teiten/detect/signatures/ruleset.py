"""Rule files read rule by rule into a :class:`RuleSet`: the accepted rules, and each
skipped one with its line and reason (docs/detection.md).

A file is read rule by rule: comments and blank lines are passed over, ``# alert ...``
(a disabled rule) is counted as disabled, a line ending in ``\\`` continues on the next,
``var``/``ipvar``/``portvar NAME VALUE`` lines define variables (``--var`` wins over
them). Every rule is either accepted, compiled whole (:func:`compile_rule`), or skipped
with a reason; one bad rule never stops the load (:func:`compile_rules`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teiten.detect.signatures.addresses import variables
from teiten.detect.signatures.compile import ACTIONS, compile_rule
from teiten.detect.signatures.rule import Rule
from teiten.detect.signatures.skips import RuleSkip
from teiten.errors import SettingError

__all__ = ["RuleSet", "Skipped", "compile_rules", "load_rules", "load_ruleset", "parse_rules"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    sid: int | None
    line: int
    reason: str


@dataclass
class RuleSet:
    """The outcome of a load: the accepted rules, the skipped ones with their reasons, and
    how many disabled (commented-out) rules were passed over."""

    source: str
    rules: list[Rule]
    skipped: list[Skipped]
    disabled: int = 0

    def report(self) -> dict[str, Any]:
        """``{"accepted": N, "skipped": [{"sid", "reason", "line"}, ...], "disabled": D}``."""
        return {"accepted": len(self.rules),
                "skipped": [{"sid": s.sid, "reason": s.reason, "line": s.line} for s in self.skipped],
                "disabled": self.disabled}

    def by_reason(self) -> list[tuple[str, int]]:
        return sorted(Counter(s.reason for s in self.skipped).items(), key=lambda x: (-x[1], x[0]))

    def summary(self) -> str:
        """Plain text: the accepted count, then the skipped count per reason."""
        lines = [f"{self.source}: {len(self.rules)} rules accepted, {len(self.skipped)} skipped"
                 + (f", {self.disabled} disabled" if self.disabled else "")]
        lines += [f"  skipped {n:>5}  {reason}" for reason, n in self.by_reason()]
        return "\n".join(lines)


_ACTION_RE = re.compile(r"^\s*(?:" + "|".join([*ACTIONS, "pass"]) + r")\s", re.I)
_SID_RE = re.compile(r"\bsid\s*:\s*(\d+)")
_VAR_RE = re.compile(r"^\s*(?:var|ipvar|portvar)\s+(\w+)\s+(\S.*?)\s*$")


def compile_rules(text: str, source: str = "rules", variables_: Mapping[str, str] | None = None,
                  overrides: Mapping[str, str] | None = None) -> RuleSet:
    """Every rule of ``text``, accepted or skipped with a reason; never raises for a rule.

    ``variables_``: the rule variables (default :func:`teiten.detect.signatures.addresses.variables`);
    ``var`` lines of the file add to them, ``overrides`` (``--var``) win over both."""
    vars_ = dict(variables_ if variables_ is not None else variables())
    vars_.update(overrides or {})
    rules: list[Rule] = []
    skipped: list[Skipped] = []
    disabled = 0
    seen: set[int] = set()
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        start = n + 1
        s = lines[n].strip()
        n += 1
        while s.endswith("\\") and n < len(lines):
            s = s[:-1] + " " + lines[n].strip()
            n += 1
        if not s:
            continue
        if s.startswith("#"):
            if _ACTION_RE.match(s.lstrip("#")) and "(" in s:
                disabled += 1
            continue
        m = _VAR_RE.match(s)
        if m:
            if m.group(1) not in (overrides or {}):
                vars_[m.group(1)] = m.group(2)
            continue
        sm = _SID_RE.search(s)
        sid = int(sm.group(1)) if sm else None
        try:
            if not _ACTION_RE.match(s):
                raise RuleSkip("invalid rule: not a rule or a variable")
            rule = compile_rule(s, vars_)
            if rule.sid in seen:  # alerts are keyed by sid downstream
                raise RuleSkip("sid given twice (the first is kept)")
            seen.add(rule.sid)
            rules.append(rule)
        except RuleSkip as e:
            skipped.append(Skipped(sid, start, str(e)))
    return RuleSet(source, rules, skipped, disabled)


def parse_rules(text: str, source: str = "rules", variables_: Mapping[str, str] | None = None) -> list[Rule]:
    """The rules of ``text``, strictly: the first rule that would be skipped is an error
    naming the line, the sid and the reason (for rules written in code and tests)."""
    rs = compile_rules(text, source, variables_)
    if rs.skipped:
        s = rs.skipped[0]
        raise SettingError(f"{source}:{s.line} (sid {s.sid}): {s.reason}")
    return rs.rules


def load_ruleset(path: Path | None = None, variables_: Mapping[str, str] | None = None,
                 overrides: Mapping[str, str] | None = None) -> RuleSet:
    """The shipped rule set (``rules/teiten.rules``), or the file at ``path``, with the
    outcome of the load."""
    if path is None:
        from importlib import resources

        text = resources.files("teiten.detect").joinpath("rules/teiten.rules").read_text("utf-8")
        return compile_rules(text, "teiten.rules", variables_, overrides)
    try:
        text = path.read_text("utf-8", errors="surrogateescape")
    except OSError as e:
        raise SettingError(f"cannot read rules {path}: {e.strerror}") from None
    return compile_rules(text, str(path), variables_, overrides)


def load_rules(path: Path | None = None, variables_: Mapping[str, str] | None = None) -> list[Rule]:
    """The accepted rules of :func:`load_ruleset` (skipped ones are logged, never fatal)."""
    rs = load_ruleset(path, variables_)
    if rs.skipped:
        log.warning("%s", rs.summary())
    return rs.rules
