"""Sign-in throttling, kept in memory by the ``limits`` library (one count per server process).

Every attempt names two keys: the account (its name, case-folded) and the source address
(``request.client.host`` as uvicorn resolved it: a trusted proxy's X-Forwarded-For, else the
peer). An address may try ``per_minute`` times a minute whatever the outcome (a flood would
otherwise spend the server's CPU on scrypt). A key with ``threshold`` failures (account 5,
address 20) in the last ``memory`` seconds is locked for ``base`` seconds, doubling with each
further failure up to ``cap`` (1, 2, 4 … 15 minutes). While a key is locked its attempts are
answered 429 with Retry-After, before any password is checked, and are not counted. A
success clears the account's failures (not the address's).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["SignInThrottle"]


@dataclass
class SignInThrottle:
    """The sign-in limits of one app (seconds, counts)."""

    base: float = 60.0
    cap: float = 900.0
    account_threshold: int = 5
    address_threshold: int = 20
    per_minute: int = 30
    memory: float = 3600.0
    storage: MemoryStorage = field(default_factory=MemoryStorage, repr=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._attempts = RateLimitItemPerMinute(self.per_minute)

    @staticmethod
    def _keys(name: str, address: str) -> tuple[str, str]:
        return "account/" + name.casefold(), "address/" + address

    def wait(self, name: str, address: str) -> int:
        """Seconds before ``name`` may try to sign in from ``address`` (0: now; the attempt
        is then counted against the address's rate)."""
        now = time.time()
        for key in self._keys(name, address):
            if self.storage.get("lock/" + key) > 0:
                return max(1, math.ceil(self.storage.get_expiry("lock/" + key) - now))
        if not self._limiter.hit(self._attempts, "attempts", address):
            reset = self._limiter.get_window_stats(self._attempts, "attempts", address).reset_time
            return max(1, math.ceil(reset - now))
        return 0

    def failed(self, name: str, address: str) -> None:
        """Count a failed attempt; lock a key past its threshold."""
        for key, threshold in zip(self._keys(name, address), (self.account_threshold, self.address_threshold),
                                  strict=True):
            n = self.storage.incr("fail/" + key, self.memory)
            if n >= threshold:
                self.storage.clear("lock/" + key)
                self.storage.incr("lock/" + key, min(self.base * 2 ** min(n - threshold, 30), self.cap))

    def succeeded(self, name: str) -> None:
        """A successful sign-in: the account's failures are forgotten."""
        self.storage.clear("fail/" + self._keys(name, "")[0])
