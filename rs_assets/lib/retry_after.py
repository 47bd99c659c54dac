"""The one Retry-After parser (web fetcher and LLM client): a server's hint in seconds, or None.

Accepts delta-seconds (`120`, also `1.5` as some APIs send; negative is invalid), an HTTP-date
(RFC 9110; a past date means 0) and OpenAI's `retry-after-ms`. Anything unparseable is None, never an
exception: a malformed header must not fail a fetch or a partition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date); None when absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # `-0000` means UTC with unknown origin zone
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def retry_after_headers(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """`retry-after-ms` when valid, else `retry-after`. Header names are matched case-insensitively."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = _seconds((lowered.get("retry-after-ms") or "").strip() or "nan")
    if ms is not None:
        return ms / 1000
    return retry_after_s(lowered.get("retry-after"), now)
