"""Local and `s3://` files behind one fsspec API, and streaming row readers (Parquet, CSV, JSONL).

Parquet and JSONL keep their types; CSV/TSV cells are all text (a type guessed from the first block
breaks on a later one), which every connector parses anyway (dates, numbers, coordinates).

S3 goes through `lake.filesystem`, the same endpoint as the Lake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rs_assets.lib.lake import filesystem

BATCH_ROWS = 10_000


def expand(path: str) -> list[str]:
    """Files matching `path` (a file or a glob), sorted, with their `s3://` prefix kept."""
    fs = filesystem(path)
    matches = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
    return [f"s3://{m}" if path.startswith("s3://") and not m.startswith("s3://") else m for m in matches]


def _csv_rows(fh: Any, delimiter: str) -> Iterator[dict[str, Any]]:
    """Every cell as text (empty -> None): pyarrow would otherwise type each column from the first
    block and fail on a later block that disagrees (ids numeric for 10k rows, then "a1b2")."""
    parse = pacsv.ParseOptions(delimiter=delimiter)
    names = pacsv.open_csv(fh, parse_options=parse).schema.names  # header only: reads one block
    fh.seek(0)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True, null_values=[""]
    )
    for batch in pacsv.open_csv(fh, parse_options=parse, convert_options=convert):
        yield from batch.to_pylist()


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
        yield from _csv_rows(fh, "\t" if lowered.endswith(".tsv") else ",")
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
