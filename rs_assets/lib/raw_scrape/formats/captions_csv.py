"""`format: captions_csv`: an open_clip-style table of image path and caption (SkyScript, HQRS).

`annotations` is the CSV/TSV (or Parquet/JSONL) file, a glob of them (`SkyScript_*.csv`) or a folder of
`*.csv`. `path_column` (default `filepath`) holds the image path relative to the image folder (or
absolute inside it), `caption_column` (default `title`; a list such as `[title, title_multi_objects]`
takes each) the captions: open_clip's `--csv-img-key` / `--csv-caption-key` defaults, which are
SkyScript's column names. Several rows of one image are one record with several `ref_captions`; a
`split` column, else the file name (`SkyScript_val_5K...csv`), gives `extra.split`; other columns are
read as in an index (lat, lon, date, labels...) or kept in `extra`. A row without a path is an
`invalid_row` naming the file and data row (CSV cells may span lines); a file missing a configured
column is an error naming the file and the columns it has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row, read_rows
from rs_assets.lib.raw_scrape.connectors.labeled import image_root
from rs_assets.lib.raw_scrape.formats.annotated import (
    Annotations,
    annotation_files,
    image_listing,
    split_from_name,
)


def caption_columns(source: Any) -> list[str]:
    column = source.caption_column
    return [column] if isinstance(column, str) else list(column)


def _check_columns(file: str, row: dict[str, Any], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in row]
    if missing:
        raise ValueError(
            f"{file}: no column {', '.join(map(repr, missing))} (it has {', '.join(map(repr, row))}); "
            "set path_column / caption_column"
        )


def rows(source: Any) -> Iterator[Row]:
    if not source.annotations:
        raise ValueError(
            "format captions_csv needs `annotations:`, the CSV file (or glob) of paths and captions"
        )
    root, captions = image_root(source), caption_columns(source)
    wanted = [source.path_column, *captions]
    found = Annotations(root)
    for file in annotation_files(source, "*.csv"):
        split, checked = split_from_name(file), False
        for number, row in enumerate(read_rows(file), 1):
            if isinstance(row, BadRow):
                yield row
                continue
            if not checked:
                _check_columns(file, row, wanted)
                checked = True
            path = row.get(source.path_column)
            if path is None or not str(path).strip():
                yield BadRow(file, number, f"data row {number} has no {source.path_column!r}: no image")
                continue
            texts = [str(row[c]).strip() for c in captions if row.get(c) is not None and str(row[c]).strip()]
            cells = {k: v for k, v in row.items() if k not in wanted and k != "split"}
            own = row.get("split")
            found.add(str(path).strip(), split=str(own) if own else split, captions=texts, cells=cells)
    yield from found.rows(image_listing(root))
