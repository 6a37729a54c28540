"""What the observation pages and their API read: the store, opened once per committed
version (:func:`teiten.store.open.store_version`), and a cache of answers keyed by that
version, the endpoint and its filters, so a page is computed once per (period, filters,
store version) and a commit shows at the next request.

The embedded engine's connection serves one query at a time: :meth:`Observing.answer`
holds a lock while it computes (FastAPI runs the sync routes in a thread pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teiten.engine import open_observation
from teiten.engine.observation import Observation
from teiten.store.open import StoreVersion, store_version

__all__ = ["Observing"]

#: Answers kept (the least recently used go first).
CACHE_ENTRIES = 512


@dataclass
class Observing:
    """The store of ``teiten serve --store``, for the observation pages."""

    store: Path
    _obs: Observation | None = None
    _version: StoreVersion | None = None
    _cache: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict)
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
                self._obs, self._version = open_observation(self.store), v
                self._cache.clear()
            return self._obs, v

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
