"""Local and `s3://` files behind one fsspec API, and streaming row readers (Parquet, CSV, JSONL).

S3 honours `AWS_ENDPOINT_URL` (MinIO, moto) like the Lake does; the instance cache is skipped so a
re-run sees objects written since the last one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import fsspec
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BATCH_ROWS = 10_000


def filesystem(path: str) -> fsspec.AbstractFileSystem:
    if path.startswith("s3://"):
        return fsspec.filesystem(
            "s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, skip_instance_cache=True
        )
    return fsspec.filesystem("file")


def expand(path: str) -> list[str]:
    """Files matching `path` (a file or a glob), sorted, with their `s3://` prefix kept."""
    fs = filesystem(path)
    matches = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
    return [f"s3://{m}" if path.startswith("s3://") and not m.startswith("s3://") else m for m in matches]


def _rows(fh: Any, name: str) -> Iterator[dict[str, Any]]:
    lowered = name.lower().removesuffix(".gz")
    if lowered.endswith(".parquet"):
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=BATCH_ROWS):
            yield from batch.to_pylist()
    elif lowered.endswith((".jsonl", ".ndjson", ".json")):
        for line in fh:
            if line.strip():
                yield json.loads(line)
    elif lowered.endswith((".csv", ".tsv")):
        options = pacsv.ParseOptions(delimiter="\t" if lowered.endswith(".tsv") else ",")
        for batch in pacsv.open_csv(fh, parse_options=options):
            yield from batch.to_pylist()
    else:
        raise ValueError(f"{name}: unsupported table format (use .parquet, .csv, .tsv, .jsonl)")


def read_rows(path: str) -> Iterator[dict[str, Any]]:
    """Every row of every file matching `path`, streamed batch by batch."""
    files = expand(path)
    if not files:
        raise FileNotFoundError(f"{path}: no file matches")
    fs = filesystem(path)
    for name in files:
        with fs.open(name, "rb", compression="infer") as fh:
            yield from _rows(fh, name)
