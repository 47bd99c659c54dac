"""Caption quality numbers the `caption_quality` asset check reports (pure, so tests and views agree)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from rs_assets.lib.captions.strategies import uses_model


def caption_check_problems(table: pa.Table, *, max_refusal_rate: float = 0.05) -> dict[str, Any]:
    """Refusal rate over model rows, ok rows with empty text, and duplicate captions within an image.

    `passed` is False when refusals exceed `max_refusal_rate` or any empty/duplicate caption exists.
    """
    rows = table.select(["image_id", "strategy", "text", "status"]).to_pylist()
    status_counts = Counter(r["status"] for r in rows)
    model_rows = [r for r in rows if uses_model(r["strategy"]) and r["status"] not in ("dry_run", "pending")]
    refused = sum(r["status"] == "refused" for r in model_rows)
    ok = [r for r in rows if r["status"] == "ok"]
    empty = sum(not (r["text"] or "").strip() for r in ok)
    seen = Counter((r["image_id"], " ".join((r["text"] or "").lower().split())) for r in ok if r["text"])
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    refusal_rate = refused / len(model_rows) if model_rows else 0.0
    return {
        "rows": len(rows),
        "ok_rows": len(ok),
        "refused": refused,
        "refusal_rate": round(refusal_rate, 4),
        "empty_texts": empty,
        "duplicate_captions": duplicates,
        "not_ok_rows": len(rows) - len(ok),
        "status_counts": dict(sorted(status_counts.items())),
        "passed": refusal_rate <= max_refusal_rate and empty == 0 and duplicates == 0,
    }
