"""Token buckets for requests/min and tokens/min, tightened by the provider's `x-ratelimit-*` headers.

Configured limits are a ceiling; the headers say what is really left (other clients share the key), and
a 429's `Retry-After` pauses every caller, not only the one that was refused.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """`x-ratelimit-reset-*` values: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or plain seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        return sum(float(n) * _UNIT_S[u] for n, u in parts) if parts else None


class TokenBucket:
    def __init__(self, per_minute: float) -> None:
        self.capacity = float(per_minute)
        self.rate = self.capacity / 60.0
        self.level = self.capacity
        self.updated = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (requests larger than the bucket wait for a full one)."""
        missing = min(amount, self.capacity) - self.level
        return max(missing / self.rate, 0.0) if self.rate > 0 else 0.0

    def take(self, amount: float) -> None:
        self.level -= min(amount, self.capacity)

    def tighten(self, remaining: float) -> None:
        self.level = min(self.level, remaining)


class RateLimiter:
    def __init__(self, rpm: float, tpm: float) -> None:
        self.requests = TokenBucket(rpm)
        self.tokens = TokenBucket(tpm)
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        """Wait until one request and `tokens` tokens fit, then take them."""
        while True:
            async with self._lock:
                now = time.monotonic()
                self.requests.refill(now)
                self.tokens.refill(now)
                wait = max(self.paused_until - now, self.requests.wait_for(1), self.tokens.wait_for(tokens))
                if wait <= 0:
                    self.requests.take(1)
                    self.tokens.take(tokens)
                    return
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Tighten both buckets to what the server says remains; pause until reset when nothing does."""
        for bucket, kind in ((self.requests, "requests"), (self.tokens, "tokens")):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            if remaining is None:
                continue
            try:
                left = float(remaining)
            except ValueError:
                continue
            bucket.refill(time.monotonic())
            bucket.tighten(left)
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            if left <= 0 and reset:
                self.pause(reset)
