"""`format: index` (or `index:` set): a CSV/Parquet/JSONL index of path, labels and metadata."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row, read_rows
from rs_assets.lib.raw_scrape.connectors.labeled import image_root


def rows(source: Any) -> Iterator[Row]:
    index = source.index or source.annotations
    if not index:
        raise ValueError("format index needs `index:` (or `annotations:`), a CSV/Parquet/JSONL file")
    root = image_root(source)
    yield from read_rows(index if index.startswith(("s3://", "/")) else f"{root}/{index}")
