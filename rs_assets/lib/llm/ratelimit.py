"""Request and token pacing at the limits the provider advertises (`x-ratelimit-*` headers).

Until the first answer arrives only a small probe is in flight: the limits are unknown and a full burst
could overrun a small tier. Each answer's `x-ratelimit-limit-*` then sets the rate, up as well as down
(never above a cap the user set); `-remaining-` lowers what is left now (other clients share the key) and
`-reset-` pauses when nothing is. The buckets are smooth: they refill continuously and hold at most
`BURST_S` seconds of the rate, so any window of T seconds sees at most (T + BURST_S) x the per-second
share, well within 1.5x for T = 10 s. A server that advertises nothing (vLLM, Ollama) is paced by the
Runner's concurrency alone, or by the caps when set. A 429's `Retry-After` pauses every caller.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Mapping

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
BURST_S = 0.5  # a bucket holds half a second of its rate: a small burst, never a minute's worth
PROBE = 2  # requests in flight before any answer has told the limits


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


def _number(headers: Mapping[str, str], name: str, minimum: float = 0.0) -> float | None:
    """A header's number if it is one and >= `minimum` (a limit must be > 0 to be a rate)."""
    try:
        value = float(headers[name])
    except (KeyError, ValueError):
        return None
    return value if value >= minimum and math.isfinite(value) else None


class TokenBucket:
    """Continuous refill at `per_minute / 60` per second up to `BURST_S` seconds' worth; unlimited while
    `per_minute` is None. A take may leave the level negative (a request bigger than the bucket), which
    the refill pays back, so the average rate holds for any request size."""

    def __init__(self, per_minute: float | None, now: float) -> None:
        self.rate = 0.0
        self.capacity = math.inf
        self.level = 0.0
        self.updated = now
        self.set_limit(per_minute, now)

    def set_limit(self, per_minute: float | None, now: float) -> None:
        self.refill(now)
        if per_minute is None:
            self.rate, self.capacity = 0.0, math.inf
            return
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_S)
        self.level = min(self.level, self.capacity)

    @property
    def limited(self) -> bool:
        return self.capacity < math.inf

    def refill(self, now: float) -> None:
        if self.limited:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken (a request larger than the bucket waits for a full one)."""
        if not self.limited:
            return 0.0
        missing = min(amount, self.capacity) - self.level
        return missing / self.rate if missing > 1e-9 else 0.0  # not a float's rounding error

    def take(self, amount: float) -> None:
        if self.limited:
            self.level -= amount

    def tighten(self, remaining: float) -> None:
        if self.limited:
            self.level = min(self.level, remaining)


class RateLimiter:
    """One per run, shared by all its concurrent calls: `acquire` before sending, then `observe` the
    answer's headers, or `release` when the attempt got no answer (error, timeout)."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        probe: int = PROBE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.caps = {"requests": rpm, "tokens": tpm}  # the user's explicit ceilings, None = unset
        self.clock = clock
        now = clock()
        self.requests = TokenBucket(None, now)
        self.tokens = TokenBucket(None, now)
        self.probe = probe
        self.probing = 0  # requests sent before the first answer and not yet ended
        self.informed = False  # an answer has arrived: its headers (or their absence) set the rates
        self.advertised: dict[str, float | None] = {"requests": None, "tokens": None}
        self.paused_until = 0.0
        self._changed = asyncio.Event()

    def try_acquire(self, tokens: int) -> float:
        """Take one request and `tokens` tokens and return 0, or return the seconds to wait first
        (`inf`: until an answer or a failure frees a probe slot)."""
        now = self.clock()
        if self.paused_until > now:
            return self.paused_until - now
        if not self.informed:
            if self.probing >= self.probe:
                return math.inf
            self.probing += 1
            return 0.0
        self.requests.refill(now)
        self.tokens.refill(now)
        wait = max(self.requests.wait_for(1), self.tokens.wait_for(tokens))
        if wait > 0:
            return wait
        self.requests.take(1)
        self.tokens.take(tokens)
        return 0.0

    async def acquire(self, tokens: int) -> None:
        """Wait until one request and `tokens` tokens fit, then take them."""
        while (wait := self.try_acquire(tokens)) > 0:
            if wait == math.inf:
                self._changed.clear()
                await self._changed.wait()
            else:
                await asyncio.sleep(wait)

    def release(self) -> None:
        """An attempt ended without an answer: during the probe its slot goes to the next request."""
        if not self.informed and self.probing > 0:
            self.probing -= 1
            self._changed.set()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def limit(self, kind: str) -> float | None:
        """Per-minute limit in force: the lower of the user's cap and the advertised limit, if any."""
        known = [v for v in (self.caps[kind], self.advertised[kind]) if v is not None]
        return min(known) if known else None

    def in_force(self) -> dict[str, float]:
        """The per-minute limits pacing this run once an answer has arrived (none: concurrency alone)."""
        if not self.informed:
            return {}
        limits = {"rpm_limit": self.limit("requests"), "tpm_limit": self.limit("tokens")}
        return {k: v for k, v in limits.items() if v is not None}

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adopt advertised limits, tighten to what remains, pause until reset when nothing does."""
        now = self.clock()
        first = not self.informed
        for kind, bucket in (("requests", self.requests), ("tokens", self.tokens)):
            advertised = _number(headers, f"x-ratelimit-limit-{kind}", minimum=1e-9)
            if first or (advertised and advertised != self.advertised[kind]):
                self.advertised[kind] = advertised or self.advertised[kind]
                bucket.set_limit(self.limit(kind), now)
                if first:  # the probe's requests already count against the first burst
                    bucket.level = bucket.capacity - (self.probing if kind == "requests" else 0)
            left = _number(headers, f"x-ratelimit-remaining-{kind}")
            if left is None:
                continue
            bucket.refill(now)
            bucket.tighten(left)
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            if left <= 0 and reset:
                self.pause(reset)
        if first:
            self.informed = True
            self._changed.set()
