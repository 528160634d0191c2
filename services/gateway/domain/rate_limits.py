"""Per-key rate limits: a token bucket for each API key (pure; the caller passes a monotonic time)."""

import math
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """Each key may make `burst` requests at once and `rate` per second sustained."""

    rate: float
    burst: int
    most_keys: int = 100_000
    """Above this many keys, those idle long enough to have a full bucket are forgotten (they lose nothing)."""
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float:
        """Spend one token of `key`'s bucket: 0 when the request may go, else the seconds until it may."""
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.most_keys:
            self._forget_idle(now)
        return 0.0

    def give_back(self, key: str) -> None:
        """Return the token a request took and did not spend: it was handed on, to take one where it is answered."""
        if key in self._buckets:
            tokens, at = self._buckets[key]
            self._buckets[key] = (min(float(self.burst), tokens + 1.0), at)

    def retry_after(self, wait: float) -> int:
        """The Retry-After header's whole seconds for a wait: never 0, so a client does wait."""
        return max(1, math.ceil(wait))

    def _forget_idle(self, now: float) -> None:
        full = self.burst / self.rate
        self._buckets = {key: (t, at) for key, (t, at) in self._buckets.items() if now - at < full}
