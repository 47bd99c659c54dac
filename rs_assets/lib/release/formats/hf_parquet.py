"""Parquet per split that `datasets.load_dataset("parquet", ...)` reads: one row per caption."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import SPLITS

SCHEMA = pa.schema(
    [
        ("image", pa.string()),
        ("image_id", pa.string()),
        ("caption_id", pa.string()),
        ("strategy", pa.string()),
        ("caption", pa.string()),
        ("split", pa.string()),
        ("source", pa.string()),
        ("year", pa.int32()),
    ]
)


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        rows = [
            {
                "image": s["image"],
                "image_id": s["image_id"],
                "caption_id": c["caption_id"],
                "strategy": c["strategy"],
                "caption": c["text"],
                "split": split,
                "source": s["source"],
                "year": s["year"],
            }
            for s in samples.get(split, [])
            for c in s["captions"]
        ]
        out.put_table(f"hf/{split}.parquet", pa.Table.from_pylist(rows, schema=SCHEMA), "hf_parquet", split)
