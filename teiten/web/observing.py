"""What the observation pages and their API read: the store, opened once per committed
version (:func:`teiten.store.open.store_version`), and a cache of answers keyed by that
version, the endpoint and its filters, so a page is computed once per (period, filters,
store version) and a commit shows at the next request.

The answers of one period and filters read one cube (:meth:`Observing.prepared`: packets
per local day, port and region over the period, the one it is compared with and the days
their 7-day means need, materialised once, as the reports do), not a pass each.

The embedded engine's connection serves one query at a time: :meth:`Observing.answer`
holds a lock while it computes (FastAPI runs the sync routes in a thread pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from teiten.analyze.series import MOVING_DAYS
from teiten.engine.choice import EngineChoice, engine_choice
from teiten.engine.observation import Observation
from teiten.errors import TeitenError
from teiten.periods import Period
from teiten.store.open import StoreVersion, store_version
from teiten.web.observe_query import ObserveQuery, narrowed, resolve_query

__all__ = ["Observing", "cube_window"]

#: Answers kept (the least recently used go first).
CACHE_ENTRIES = 512
#: Bytes of encoded answers kept (JSON and CSV bodies: a ranking of every key is ~18 MB on
#: a 100 M-packet quarter, and encoding it again costs ~0.3 s).
ENCODED_BYTES = 256 << 20
#: Cubes kept (each a temporary table of the engine: a quarter's is ~10^5-10^6 rows).
CUBES = 8


def cube_window(period: Period, compare: str) -> Period:
    """The days the answers about ``period`` read: it, the period it is compared with and
    the previous one (the port pages overlay it), and the days before both that their first
    7-day means need."""
    first = min(period.previous().first, period.compared(compare).first) - timedelta(days=MOVING_DAYS - 1)
    return Period("range", first, period.last, period.tz)


@dataclass
class Observing:
    """The store of ``teiten serve --store``, for the observation pages."""

    store: Path
    engine: EngineChoice | None = None  # None: the engine of the settings (TEITEN_ENGINE, …)
    _obs: Observation | None = None
    _version: StoreVersion | None = None
    _cache: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
    _cubes: OrderedDict[tuple[Any, ...], Observation] = field(default_factory=OrderedDict)
    _encoded: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    hits: int = 0  # answers served from the cache (how a test sees that one was)

    @property
    def lock(self) -> threading.RLock:
        """Held while the engine computes (its connection serves one query at a time)."""
        return self._lock

    def version(self) -> StoreVersion:
        return store_version(self.store)

    def observation(self) -> tuple[Observation, StoreVersion]:
        """The store's observation at its current version (reopened after a commit)."""
        with self._lock:
            v = self.version()
            if self._obs is None or self._version is None or v.key != self._version.key:
                self._obs, self._version = (self.engine or engine_choice()).open(self.store), v
                self._cache.clear()
                self._cubes.clear()
                self._encoded.clear()
            return self._obs, v

    def encoded(self, key: tuple[Any, ...], encode: Callable[[], bytes | str]) -> bytes:
        """``encode()`` (an answer's body) as bytes, kept per store version and ``key`` within
        :data:`ENCODED_BYTES` (the least recently used go first; a bigger one is not kept)."""
        with self._lock:
            _, v = self.observation()
            k = (v.key, *key)
            if k in self._encoded:
                self._encoded.move_to_end(k)
                return self._encoded[k]
            got = encode()
            body = got.encode() if isinstance(got, str) else got
            if len(body) <= ENCODED_BYTES:
                self._encoded[k] = body
                while sum(len(b) for b in self._encoded.values()) > ENCODED_BYTES:
                    self._encoded.popitem(last=False)
            return body

    def prepared(self, obs: Observation, q: ObserveQuery) -> Observation:
        """``obs`` narrowed to the query's filters (:func:`narrowed`), with the cube of its
        period (:func:`cube_window`), made once per store version, period and filters."""
        n = narrowed(obs, q)
        window = cube_window(resolve_query(n, q), q.compare)
        key = (window.first, window.last, q.tz, q.group, q.kind, q.ip)
        with self._lock:
            if key not in self._cubes:
                try:
                    self._cubes[key] = n.with_cube(window, q.group)
                except TeitenError as e:  # an unknown sensor group
                    raise HTTPException(400, str(e)) from None
                while len(self._cubes) > CUBES:
                    self._cubes.popitem(last=False)
            self._cubes.move_to_end(key)
            return self._cubes[key]

    def answer(self, key: tuple[Any, ...], compute: Callable[[Observation, StoreVersion], Any]) -> Any:
        """``compute(observation, version)``, once per ``key`` and store version."""
        with self._lock:
            obs, v = self.observation()
            k = (v.key, *key)
            if k in self._cache:
                self._cache.move_to_end(k)
                self.hits += 1
                return self._cache[k]
            got = compute(obs, v)
            self._cache[k] = got
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
            return got
