"""Local and `s3://` files behind one fsspec API, and streaming row readers (Parquet, CSV, JSONL).

Parquet and JSONL keep their types; CSV/TSV cells are all text, which every connector parses anyway
(dates, numbers, coordinates). A line that is no row (not JSON, not an object, the wrong number of
cells) is yielded as a `BadRow` naming the file and line, so one bad line costs one row, not the run.

S3 goes through `lake.filesystem`, the same endpoint as the Lake.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.common import item_year
from rs_assets.lib.records import RawItem

BATCH_ROWS = 10_000
CSV_CELL_MAX = 2**26  # characters: a longer cell is a BadRow, not an unbounded allocation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BadRow:
    """A line of a source file that cannot be read as a row: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


Row = dict[str, Any] | BadRow


def bad_row_item(bad: BadRow, year: int, default_year: int) -> RawItem | None:
    """The `invalid_row` record of a bad line, in the default year's partition (it has no date)."""
    if item_year(None, default_year) != year:
        return None
    return RawItem(native_id=f"{bad.file}:{bad.line}", year=year, status="invalid_row", error=str(bad))


def expand(path: str) -> list[str]:
    """Files matching `path` (a file or a glob), sorted, with their `s3://` prefix kept."""
    fs = filesystem(path)
    matches = sorted(fs.glob(path)) if any(c in path for c in "*?[") else [path]
    return [f"s3://{m}" if path.startswith("s3://") and not m.startswith("s3://") else m for m in matches]


def _csv_rows(fh: Any, name: str, delimiter: str) -> Iterator[Row]:
    """Python's csv module rather than pyarrow's reader: pyarrow fails the whole file on a cell larger
    than its block ("straddling object"), on a quoted newline and on one short row. Cells are text
    (empty -> None); bytes that are not UTF-8 become U+FFFD."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_CELL_MAX))
    reader = csv.reader(io.TextIOWrapper(fh, "utf-8-sig", "replace", newline=""), delimiter=delimiter)
    header: list[str] | None = None
    start = 1  # physical line where the next record begins (a quoted cell may span lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if header is None:
                raise ValueError(f"{name}:{start}: unreadable CSV header: {exc}") from exc
            yield BadRow(name, start, str(exc))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not cells:
            continue
        if header is None:
            header = cells
        elif len(cells) != len(header):
            yield BadRow(name, line, f"{len(cells)} cells, the header has {len(header)}")
        else:
            yield {k: v or None for k, v in zip(header, cells, strict=True)}


def _json_rows(fh: Any, name: str) -> Iterator[Row]:
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            yield BadRow(name, number, f"not JSON ({exc})")
            continue
        yield (
            row if isinstance(row, dict) else BadRow(name, number, f"not a JSON object: {type(row).__name__}")
        )


def _parquet_rows(fh: Any, name: str) -> Iterator[Row]:
    try:
        reader = pq.ParquetFile(fh, pre_buffer=False)  # synchronous, no Arrow threads: Lake.read_table
        for batch in reader.iter_batches(BATCH_ROWS, use_threads=False):
            yield from batch.to_pylist()
    except (pa.ArrowException, OSError) as exc:  # truncated or corrupt: pyarrow's message names no file
        raise ValueError(f"{name}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc


def _reader(name: str) -> Callable[[Any, str], Iterator[Row]]:
    lowered = name.lower().removesuffix(".gz")
    if lowered.endswith(".parquet"):
        return _parquet_rows
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return _json_rows
    if lowered.endswith((".csv", ".tsv")):
        return partial(_csv_rows, delimiter="\t" if lowered.endswith(".tsv") else ",")
    raise ValueError(f"{name}: unsupported table format (use .parquet, .csv, .tsv, .jsonl)")


def read_rows(path: str) -> Iterator[Row]:
    """Every row of every file matching `path`, streamed batch by batch. A file without rows (0 bytes,
    a header only) is logged; a `path` without any raises, as an empty export that yielded an empty
    partition would look like a success."""
    files = expand(path)
    if not files:
        raise FileNotFoundError(f"{path}: no file matches")
    fs = filesystem(path)
    total = 0
    for name in files:
        read, count = _reader(name), 0
        if fs.size(name):
            with fs.open(name, "rb", compression="infer") as fh:
                for row in read(fh, name):
                    count += 1
                    yield row
        if not count:
            log.warning("%s holds no rows", name)
        total += count
    if not total:
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        listed = f" in {len(files)} files ({shown})" if len(files) > 1 else ""
        raise ValueError(f"{path}: no rows{listed}")
