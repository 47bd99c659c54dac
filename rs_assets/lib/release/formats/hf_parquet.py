"""Parquet per split that `datasets.load_dataset(<release folder>)` reads (through the card's `configs`):
one row per caption, `sample_id` = caption_id. `image` is a path relative to the release folder (the
card shows how to cast it to `datasets.Image()`)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import SPLITS

SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
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
    if not out.options.image_folder:
        return
    for split in SPLITS:
        rows = [
            {
                "sample_id": c["caption_id"],
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
