"""The words other trackers use for a coordination's state, and teiten's state for each:
the one place that maps them (docs/incidents.md shows the table).

RTIR and Request Tracker (``new``, ``open``, ``stalled``, ``resolved``, ``rejected``),
TheHive (``Waiting``, ``InProgress``, ``Completed``, ``Cancel``), IRIS and home-grown tools
(``closed``, ``done``, ``pending``, ``awaiting_reply``) all name the same few states. A word
is compared case-insensitively, with spaces, hyphens and camel case read as ``_``
(``InProgress``, ``in-progress`` and ``In Progress`` are ``in_progress``). A word that no
mapping knows is never refused: the coordination gets the state ``other`` and keeps the word
(``Coordination.raw_status``).

``--status-map closed=resolved,escalated=sent`` (or ``TEITEN_STATUS_MAP``) overrides or
extends :data:`STATUS_WORDS` (:func:`parse_status_map`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from teiten.errors import SettingError
from teiten.incidents.taxonomy import COORDINATION_STATES, OTHER_STATE

__all__ = ["INCIDENT_WORDS", "STATUS_WORDS", "StatusMap", "incident_state", "normal_word", "parse_status_map"]

#: tracker word → teiten state (teiten's own states map to themselves).
STATUS_WORDS: dict[str, str] = {
    # done with: RTIR/RT resolved, IRIS closed, TheHive Completed
    **dict.fromkeys(("resolved", "closed", "done", "completed", "complete", "fixed", "solved"), "resolved"),
    # asked, not yet answered
    **dict.fromkeys(("sent", "open", "opened", "new", "in_progress", "pending", "assigned", "requested"), "sent"),
    # the party answered
    **dict.fromkeys(("replied", "answered", "responded", "acknowledged"), "replied"),
    # no answer after a while: RT stalled
    **dict.fromkeys(("no_response", "stalled", "awaiting_reply", "no_reply", "unanswered", "timed_out"),
                    "no_response"),
    # could not be sent, or given up: RT rejected, TheHive Cancel
    **dict.fromkeys(("failed", "rejected", "bounced", "undeliverable", "cancel", "cancelled", "canceled"), "failed"),
    # not yet sent: TheHive Waiting (a task not started)
    **dict.fromkeys(("draft", "waiting", "queued"), "draft"),
}

#: tracker word for a whole incident (RTIR/RT ticket, TheHive case, IRIS case) → teiten's
#: incident status (teiten's own map to themselves).
INCIDENT_WORDS: dict[str, str] = {
    **dict.fromkeys(("new", "open", "opened", "unassigned", "received"), "new"),
    **dict.fromkeys(("coordinating", "in_progress", "pending", "stalled", "assigned", "awaiting_reply",
                     "investigating", "waiting"), "coordinating"),
    **dict.fromkeys(("resolved", "done", "completed", "complete", "fixed", "solved", "true_positive"), "resolved"),
    **dict.fromkeys(("closed", "rejected", "cancel", "cancelled", "canceled", "duplicated", "false_positive",
                     "other"), "closed"),
    "proposed": "proposed",
}


def incident_state(word: str) -> str | None:
    """teiten's incident status for a tracker's word (case, spaces and CamelCase aside);
    None when no mapping knows it."""
    return INCIDENT_WORDS.get(normal_word(word))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[\s\-]+")


def normal_word(word: str) -> str:
    """``word`` as the mapping's keys are written: ``InProgress``, ``in-progress`` → ``in_progress``."""
    return _SEPARATORS.sub("_", _CAMEL.sub("_", word.strip())).lower()


class StatusMap:
    """:data:`STATUS_WORDS` with a user's overrides; :meth:`state` reads one word."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.words = dict(STATUS_WORDS)
        for word, state in (overrides or {}).items():
            if state not in COORDINATION_STATES:
                raise SettingError(f"status map: {word}={state}: a state is one of {', '.join(COORDINATION_STATES)}")
            self.words[normal_word(word)] = state

    def state(self, word: str) -> tuple[str, str | None]:
        """(teiten's state, the word when no mapping knows it): ``("other", "escalated")``."""
        got = self.words.get(normal_word(word))
        return (got, None) if got is not None else (OTHER_STATE, word)


def parse_status_map(text: str | None) -> dict[str, str]:
    """``closed=resolved,escalated=sent`` as a dict (word → state); empty for None or ``""``."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        word, eq, state = item.partition("=")
        if not eq or not word.strip() or not state.strip():
            raise SettingError(f"status map: {item.strip()!r} is not WORD=STATE (e.g. closed=resolved)")
        out[word.strip()] = state.strip().lower()
    return out
