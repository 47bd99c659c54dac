"""Masking an API key wherever a provider, a proxy or a model echoes it back: whole or truncated (any
run of MIN_RUN consecutive key characters), with its case changed, or in the masked `sk-...abcd` /
`sk-proj-****abcd` forms that keep the last four characters.

Applied to error messages, log lines and every answer text before it is stored, so a key echo never
reaches Parquet, the response store or the Dagster event log.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

MASK = "sk-***"
MIN_KEY = 8  # shorter "keys" are placeholders of local servers (vLLM's "EMPTY"), not secrets
MIN_RUN = 8  # a run of this many consecutive key characters is an echo (covers first 8+, last 8+...)
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # length-preserving, unlike lower()
# a key prefix (bounded: answers are untrusted, no quadratic backtracking), then stars, dots or bullets
_HIDDEN = r"[\w-]{0,64}(?:[*.\u2022\u2026]{2,}|\u2026)"


def _runs(text: str, key: str) -> list[tuple[int, int]]:
    """Spans of `text` that are substrings of `key` at least MIN_RUN long (both already lowered)."""
    grams = {key[i : i + MIN_RUN] for i in range(len(key) - MIN_RUN + 1)}
    spans, i = [], 0
    while i + MIN_RUN <= len(text):
        if text[i : i + MIN_RUN] not in grams:
            i += 1
            continue
        end = i + MIN_RUN
        while end < len(text) and text[i : end + 1] in key:
            end += 1
        spans.append((i, end))
        i = end
    return spans


def redact(text: str, key: str) -> str:
    """`text` with every echo of `key` replaced by MASK."""
    text = re.sub(_HIDDEN + re.escape(key[-4:]), MASK, text, flags=re.IGNORECASE)
    out, last = [], 0
    for start, end in _runs(text.translate(_LOWER), key.translate(_LOWER)):
        out += [text[last:start], MASK]
        last = end
    return "".join(out) + text[last:]


def key_redactor(key: str | None) -> Callable[[str], str]:
    """The masking function for `key` (identity when there is no real key to protect)."""
    secret = (key or "").strip()
    if len(secret) < MIN_KEY:
        return lambda text: text
    return lambda text: redact(text, secret)
