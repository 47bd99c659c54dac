"""GAIA/RS5M-style URL list per split for img2dataset: `urls/<split>.parquet` with `url`, `caption`
(the image's first final caption), `sample_id` (the image_id) and `source`, one row per exported image
that came from an http(s) URL (web and pairs sources; local datasets have no URL to re-download).

Redistributing URLs instead of pixels is how web-scraped sets ship when image licenses do not allow
copies: `img2dataset --url_list urls/train.parquet --input_format parquet --url_col url
--caption_col caption --save_additional_columns '["sample_id","source"]'` rebuilds the images.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import SPLITS

SCHEMA = pa.schema(
    [("url", pa.string()), ("caption", pa.string()), ("sample_id", pa.string()), ("source", pa.string())]
)


def rows(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per sample with a remote URL and a caption, in sample order."""
    return [
        {
            "url": s["url"],
            "caption": s["captions"][0]["text"],
            "sample_id": s["image_id"],
            "source": s["source"],
        }
        for s in samples
        if (s.get("url") or "").startswith(("http://", "https://")) and s["captions"]
    ]


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        listed = rows(samples.get(split, []))
        if listed:
            out.put_table(
                f"urls/{split}.parquet", pa.Table.from_pylist(listed, schema=SCHEMA), "url_list", split
            )
