"""Reconciliation: every record that enters a stage leaves it kept or dropped with a reason."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def pool_reconciliation(raw: pa.Table, pool: pa.Table) -> tuple[bool, dict[str, Any]]:
    """Same record ids in and out; each output row is kept XOR has a drop_reason."""
    ids_in = set(raw["record_id"].to_pylist())
    ids_out = pool["record_id"].to_pylist()
    kept = pool["kept"]
    reason = pc.is_valid(pool["drop_reason"])
    inconsistent = pc.sum(pc.equal(kept, reason)).as_py() or 0 if pool.num_rows else 0
    n_kept = pc.sum(kept).as_py() or 0 if pool.num_rows else 0
    meta = {
        "rows_in": len(ids_in),
        "kept": n_kept,
        "dropped_with_reason": pool.num_rows - n_kept,
        "missing": len(ids_in - set(ids_out)),
        "unexpected": len(set(ids_out) - ids_in),
        "kept_and_reason_inconsistent": inconsistent,
    }
    ok = meta["missing"] == meta["unexpected"] == inconsistent == 0 and len(ids_out) == len(ids_in)
    return ok, meta


def coverage_reconciliation(
    expected: set[tuple[str, str]], produced: set[tuple[str, str]], what: str
) -> tuple[bool, dict[str, Any]]:
    """Every expected (image, strategy/task) pair has at least one row, and nothing unexpected."""
    missing = expected - produced
    extra = produced - expected
    return not missing and not extra, {
        f"{what}_expected": len(expected),
        "missing": len(missing),
        "unexpected": len(extra),
        "missing_examples": [" ".join(m) for m in sorted(missing)[:5]] or "none",
    }
