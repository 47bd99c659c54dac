"""`format: coco`: COCO detection JSON (`annotations:` a file, or a glob of them such as one per split).

`images[]` gives each image's `file_name` (relative to the image root) and `id`; `annotations[]` its
objects, `bbox` being [x, y, width, height] in pixels and `category_id` named by `categories[]` (else
by `classes`, ids 1-based, else the id itself, counted in `extra.unknown_classes`). A `segmentation`
that is one quadrilateral (8 numbers, DOTA converted to COCO) is kept as `poly`. `date_captured` is the
record's date (the spec's meaning). The split is the file's (`instances_train2017.json` -> train).

Memory stays flat whatever the file size: the JSON is streamed element by element (`jsonstream`) into
a temporary SQLite database (on disk, in the temp folder), which then yields the images in file-name
order with their objects. What does not fit is recorded: an annotation whose `image_id` no image has
(`missing_image`, one row per id), a file listed twice (`duplicate_name`; the first entry is the
record), an image file under the root that no `images[]` lists (an `ok` row, `extra.missing_annotation`),
a malformed element (`invalid_row`, or `extra.annotation_errors` of its image), a syntax error (an
`invalid_row` naming line and column; what was read before it is used, and each image of that file
says so). `file_name`s escaping the root are refused by the connector as `outside_root`.
"""

from __future__ import annotations

import io
from array import array
import posixpath
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row, expand
from rs_assets.lib.raw_scrape.connectors.labeled import image_root
from rs_assets.lib.raw_scrape.formats.classes import class_names, unknown_classes
from rs_assets.lib.raw_scrape.formats.geometry import fit_to_image, make_object, numbers
from rs_assets.lib.raw_scrape.formats.jsonstream import JsonStreamError, members
from rs_assets.lib.raw_scrape.formats.paired import IMAGE_SUFFIXES, split_of, walk

BATCH = 1_000  # rows per executemany
_SCHEMA = """
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000;
CREATE TABLE images (seq INTEGER PRIMARY KEY, src INTEGER, line INTEGER, id, file TEXT, date TEXT);
CREATE TABLE anns (seq INTEGER PRIMARY KEY, src INTEGER, line INTEGER, image_id, cat,
                   x1 REAL, y1 REAL, x2 REAL, y2 REAL, poly BLOB, error TEXT);
CREATE TABLE files (rel TEXT PRIMARY KEY);
"""
_INDEXES = """
CREATE INDEX images_file ON images (file, seq);
CREATE INDEX images_id ON images (src, id);
CREATE INDEX anns_image ON anns (src, image_id, seq);
"""
_IMAGES = """
SELECT i.seq, i.src, i.line, i.id, i.file, i.date, a.cat, a.x1, a.y1, a.x2, a.y2, a.poly, a.error
FROM images i LEFT JOIN anns a ON a.src = i.src AND a.image_id = i.id ORDER BY i.file, i.seq, a.seq
"""
_ORPHANS = """
SELECT a.src, MIN(a.line), a.image_id, COUNT(*) FROM anns a
LEFT JOIN images i ON i.src = a.src AND i.id = a.image_id WHERE i.seq IS NULL
GROUP BY a.src, a.image_id ORDER BY a.src, MIN(a.seq)
"""
_UNLISTED = "SELECT rel FROM files WHERE rel NOT IN (SELECT file FROM images) ORDER BY rel"


@dataclass
class _File:
    """One COCO file: its path, category names, and the syntax error that cut it short, if any."""

    path: str
    names: dict[Any, str] = field(default_factory=dict)
    broken: str | None = None


def _key(value: Any) -> bool:
    """An id SQLite matches as the JSON means it: a number or a string."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _image(src: int, line: int, entry: Any, root: str) -> tuple[Any, ...] | str:
    if not isinstance(entry, dict):
        return f"not an object: {type(entry).__name__}"
    name, ident = entry.get("file_name"), entry.get("id")
    if not isinstance(name, str) or not name.strip() or not _key(ident):
        return "an image needs a file_name (text) and an id"
    path = posixpath.normpath(name.strip())
    if path.startswith(root.rstrip("/") + "/"):  # converters that wrote absolute paths
        path = path[len(root.rstrip("/")) + 1 :]
    date = entry.get("date_captured")
    return (src, line, ident, path, str(date) if date else None)


def _annotation(src: int, line: int, entry: Any) -> tuple[Any, ...] | str:
    if not isinstance(entry, dict):
        return f"not an object: {type(entry).__name__}"
    image, cat = entry.get("image_id"), entry.get("category_id")
    if not _key(image):
        return "an annotation needs an image_id"
    try:
        if not _key(cat):
            raise ValueError("no category_id")
        box = entry.get("bbox")
        if not isinstance(box, list) or len(box) != 4:
            raise ValueError(f"bbox must be [x, y, width, height], not {box!r}")
        x, y, w, h = numbers(box)
        if w < 0 or h < 0:
            raise ValueError(f"bbox width and height must not be negative: {box}")
        seg = entry.get("segmentation")
        quad = seg[0] if isinstance(seg, list) and len(seg) == 1 and isinstance(seg[0], list) else None
        poly = array("d", numbers(quad)).tobytes() if quad and len(quad) == 8 else None
    except (ValueError, TypeError) as exc:
        return (src, line, image, None, None, None, None, None, None, f"annotation at line {line}: {exc}")
    return (src, line, image, cat, x, y, x + w, y + h, poly, None)


def _load(db: sqlite3.Connection, src: int, coco: _File, root: str) -> Iterator[BadRow]:
    """Stream one COCO file into `db`; yields the rows of the elements that cannot be stored."""
    pending: dict[str, list[tuple[Any, ...]]] = {"images": [], "anns": []}
    inserts = {
        "images": "INSERT INTO images (src, line, id, file, date) VALUES (?, ?, ?, ?, ?)",
        "anns": "INSERT INTO anns (src, line, image_id, cat, x1, y1, x2, y2, poly, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    }

    def flush() -> None:
        for table, rows_ in pending.items():
            db.executemany(inserts[table], rows_)
            rows_.clear()

    with filesystem(coco.path).open(coco.path, "rb", compression="infer") as raw:
        try:
            for key, index, line, value in members(io.TextIOWrapper(raw, "utf-8-sig", "replace"), coco.path):
                if index < 0:
                    continue
                if key == "categories":
                    if isinstance(value, dict) and _key(value.get("id")):
                        coco.names[value["id"]] = str(value.get("name") or value["id"])
                    continue
                if key not in ("images", "annotations"):
                    continue
                row = _image(src, line, value, root) if key == "images" else _annotation(src, line, value)
                if isinstance(row, str):
                    yield BadRow(coco.path, line, f"{key}[{index}]: {row}")
                    continue
                table = pending["images" if key == "images" else "anns"]
                table.append(row)
                if len(table) >= BATCH:
                    flush()
        except JsonStreamError as exc:
            coco.broken = str(exc)
            yield BadRow(coco.path, None, f"not valid JSON, read up to the error: {exc}")
    flush()


def _objects(
    group: list[tuple[Any, ...]], names: dict[Any, str], fallback: tuple[str, ...] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    objects, errors = [], []
    for *_, cat, x1, y1, x2, y2, poly, error in group:
        if error:
            errors.append(error)
        elif cat is not None:  # None: the LEFT JOIN row of an image without annotations
            index = cat - 1 if isinstance(cat, int) else -1
            name = names.get(cat) or (
                fallback[index] if fallback and 0 <= index < len(fallback) else str(cat)
            )
            obj = make_object(name, array("d", poly).tolist() if poly else [x1, y1, x2, y2])
            obj["bbox"] = [x1, y1, x2, y2]
            objects.append(obj)
    return objects, errors


def _image_rows(
    db: sqlite3.Connection, cocos: list[_File], fallback: tuple[str, ...] | None, check: bool
) -> Iterator[Row]:
    """One row per listed file, in name order; a file listed again is a `duplicate_name` row."""
    kept: tuple[str, int, int] | None = None  # file, src, line of the record
    for _, grouped in groupby(db.execute(_IMAGES), key=lambda r: r[0]):
        group = list(grouped)
        _, src, line, ident, file, date = group[0][:6]
        coco = cocos[src]
        if kept is not None and kept[0] == file:
            annotations = sum(r[6] is not None for r in group)
            yield BadRow(
                coco.path,
                line,
                f"images lists {file!r} again (id {ident!r}, {annotations} annotations); the record is the "
                f"entry at {cocos[kept[1]].path}:{kept[2]}",
                status="duplicate_name",
            )
            continue
        kept = (file, src, line)
        objects, errors = _objects(group, coco.names, fallback)
        extra: dict[str, Any] = {"annotation": f"{coco.path}:{line}", "coco_id": ident}
        split = split_of(coco.path, name=True) or split_of(file)
        if split:
            extra["split"] = split
        if coco.broken:
            errors.append(f"the file is cut short, objects may be missing: {coco.broken}")
        if errors:
            extra["annotation_errors"] = errors
        known = fallback if check else tuple(coco.names.values())
        unknown = unknown_classes(objects, known)
        if unknown:
            extra["unknown_classes"] = unknown
        yield {"path": file, "labels": [], "objects": objects, "date": date, "extra": extra}


def _store_files(db: sqlite3.Connection, rels: Iterable[str]) -> None:
    batch: list[tuple[str]] = []
    for rel in rels:
        if rel.lower().endswith(IMAGE_SUFFIXES):
            batch.append((rel,))
        if len(batch) >= BATCH:
            db.executemany("INSERT OR IGNORE INTO files VALUES (?)", batch)
            batch.clear()
    db.executemany("INSERT OR IGNORE INTO files VALUES (?)", batch)


def rows(source: Any) -> Iterator[Row]:
    if not source.annotations:
        raise ValueError("format coco needs `annotations:`, the COCO JSON file (or a glob of them)")
    paths = expand(source.annotations)
    if not paths or not all(filesystem(p).isfile(p) for p in paths):
        raise FileNotFoundError(f"annotations {source.annotations}: no such file")
    root = image_root(source)
    listing = walk(root)  # fails now on a missing image folder, walked after the parse
    cocos = [_File(p) for p in paths]
    fallback = class_names(source)
    with (
        tempfile.TemporaryDirectory(prefix="rs_coco_") as tmp,
        closing(sqlite3.connect(f"{tmp}/coco.db")) as db,
    ):
        db.executescript(_SCHEMA)
        for src, coco in enumerate(cocos):
            yield from _load(db, src, coco, root)
        _store_files(db, listing)
        db.executescript(_INDEXES)
        yield from _image_rows(db, cocos, fallback, check=source.classes is not None)
        for src, line, image, count in db.execute(_ORPHANS):
            yield BadRow(
                cocos[src].path,
                line,
                f"{count} annotations of image_id {image!r}, which no entry of images has",
                status="missing_image",
            )
        unlisted = f"not in the images of {', '.join(paths)}"
        for (rel,) in db.execute(_UNLISTED):
            yield {"path": rel, "labels": [], "extra": {"missing_annotation": unlisted}}


fit = fit_to_image
