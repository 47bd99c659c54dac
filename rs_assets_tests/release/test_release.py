"""Release rules that are pure functions."""

from __future__ import annotations

import json

import pyarrow as pa

from rs_assets.lib.release.samples import vlm_rejected


def test_gaia_booleans_hold_back_non_rs_and_charts() -> None:
    facts = [
        {"is_remote_sensing": True, "is_chart": False},
        {"is_remote_sensing": False, "is_chart": False},
        {"is_remote_sensing": True, "is_chart": True},
        None,
    ]
    caps = pa.table(
        {
            "image_id": ["a", "b", "c", "d"],
            "strategy": ["gaia"] * 4,
            "facts": [json.dumps(f) if f else None for f in facts],
        }
    )
    assert vlm_rejected(caps) == {"b": "vlm_not_remote_sensing", "c": "vlm_chart"}
    assert vlm_rejected(caps.drop_columns(["facts"])) == {}
    assert vlm_rejected(None) == {}
