"""`format: coco`: COCO detection JSON (`annotations:` a file, or a glob of them such as one per split).

`images[]` gives each image's `file_name` (relative to the image root) and `id`; `annotations[]` its
objects, `bbox` being [x, y, width, height] in pixels and `category_id` named by `categories[]` (else
by `classes`, ids 1-based, else the id itself, counted in `extra.unknown_classes`). A `segmentation`
that is one quadrilateral (8 numbers, DOTA converted to COCO) is kept as `poly`. `date_captured` is the
record's date (the spec's meaning). The split is the file's (`instances_train2017.json` -> train).

Memory stays flat whatever the file size: the JSON is streamed entry by entry (`json_entries`) into a
temporary SQLite database (on disk, in the temp folder), which then yields the images in file-name order
with their objects. As in the other annotation-driven formats, nothing is lost: a listed image not in
the folder is `missing_image` (its objects kept), an annotation whose `image_id` no image has is a
`missing_image` row per id, an image file no `images[]` lists is `no_annotation`, a `file_name` climbing
out of the folder `outside_root`; a file listed twice (one image in two splits) is one row, its objects
merged without repeats, `extra.splits` and `extra.entries` saying so. A malformed entry is an
`invalid_row` (file and line), or `extra.annotation_errors` of its image; when a file has unreadable
parts, each of its images says that objects may be missing.
"""

from __future__ import annotations

import sqlite3
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row, expand
from rs_assets.lib.raw_scrape.connectors.labeled import image_root
from rs_assets.lib.raw_scrape.formats.annotated import image_listing, relative
from rs_assets.lib.raw_scrape.formats.classes import class_names, unknown_classes
from rs_assets.lib.raw_scrape.formats.geometry import fit_to_image, make_object, numbers
from rs_assets.lib.raw_scrape.formats.json_entries import lists_entries
from rs_assets.lib.raw_scrape.formats.paired import split_of

BATCH = 1_000  # rows per executemany
_SCHEMA = """
PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000;
CREATE TABLE images (seq INTEGER PRIMARY KEY, src INTEGER, line INTEGER, id, file TEXT, date TEXT,
                     refused TEXT, why TEXT);
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
SELECT i.file, i.seq, i.src, i.line, i.id, i.date, i.refused, i.why, f.rel IS NOT NULL,
       a.cat, a.x1, a.y1, a.x2, a.y2, a.poly, a.error
FROM images i LEFT JOIN files f ON f.rel = i.file LEFT JOIN anns a ON a.src = i.src AND a.image_id = i.id
ORDER BY i.file, i.seq, a.seq
"""
_ORPHANS = """
SELECT a.src, MIN(a.line), a.image_id, COUNT(*) FROM anns a
LEFT JOIN images i ON i.src = a.src AND i.id = a.image_id WHERE i.seq IS NULL
GROUP BY a.src, a.image_id ORDER BY a.src, MIN(a.seq)
"""
_ORPHAN_OBJECTS = (
    "SELECT cat, x1, y1, x2, y2, poly FROM anns WHERE src = ? AND image_id = ? AND error IS NULL ORDER BY seq"
)
_UNLISTED = "SELECT rel FROM files WHERE rel NOT IN (SELECT file FROM images) ORDER BY rel"


@dataclass
class _File:
    """One COCO file: its path, category names, and how many of its parts could not be read."""

    path: str
    names: dict[Any, str] = field(default_factory=dict)
    unreadable: int = 0


def _key(value: Any) -> bool:
    """An id SQLite matches as the JSON means it: a number or a string."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _image(src: int, line: int, entry: Any, root: str) -> tuple[Any, ...] | str:
    if not isinstance(entry, dict):
        return f"not an object: {type(entry).__name__}"
    name, ident = entry.get("file_name"), entry.get("id")
    if not isinstance(name, str) or not name.strip() or not _key(ident):
        return "an image needs a file_name (text) and an id"
    rel, refused = relative(root, name.strip())
    date = entry.get("date_captured")
    return (src, line, ident, rel, str(date) if date else None, *(refused[:2] if refused else (None, None)))


def _annotation(src: int, line: int, entry: Any) -> tuple[Any, ...] | str:
    if not isinstance(entry, dict):
        return f"not an object: {type(entry).__name__}"
    image, cat = entry.get("image_id"), entry.get("category_id")
    if not _key(image):
        return "an annotation needs an image_id"
    try:
        box = entry.get("bbox")
        if not _key(cat):
            raise ValueError("no category_id")
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


_INSERT = {
    "images": "INSERT INTO images (src, line, id, file, date, refused, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "annotations": "INSERT INTO anns (src, line, image_id, cat, x1, y1, x2, y2, poly, error) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
}


def _load(db: sqlite3.Connection, src: int, coco: _File, root: str) -> Iterator[BadRow]:
    """Stream one COCO file into `db`; yields the rows of the entries that cannot be stored."""
    pending: dict[str, list[tuple[Any, ...]]] = {"images": [], "annotations": []}

    def flush(table: str) -> None:
        db.executemany(_INSERT[table], pending[table])
        pending[table].clear()

    for got in lists_entries(coco.path, ("images", "annotations", "categories")):
        if isinstance(got, BadRow):
            coco.unreadable += 1
            yield got
            continue
        key, (line, entry) = got
        if key == "categories":
            if isinstance(entry, dict) and _key(entry.get("id")):
                coco.names[entry["id"]] = str(entry.get("name") or entry["id"])
            continue
        row = _image(src, line, entry, root) if key == "images" else _annotation(src, line, entry)
        if isinstance(row, str):
            yield BadRow(coco.path, line, f"{key} entry: {row}")
            continue
        pending[key].append(row)
        if len(pending[key]) >= BATCH:
            flush(key)
    flush("images")
    flush("annotations")


class _Names:
    """Class names: the file's categories, else `classes` by 1-based id, else the id itself."""

    def __init__(self, cocos: list[_File], fallback: tuple[str, ...] | None) -> None:
        self.cocos, self.fallback = cocos, fallback

    def __call__(self, src: int, cat: Any) -> str:
        name = self.cocos[src].names.get(cat)
        if name is None and self.fallback and isinstance(cat, int) and 0 < cat <= len(self.fallback):
            name = self.fallback[cat - 1]
        return name or str(cat)

    def known(self, src: int, checked: bool) -> tuple[str, ...]:
        return (self.fallback or ()) if checked else tuple(self.cocos[src].names.values())


def _object(name: str, x1: float, y1: float, x2: float, y2: float, poly: bytes | None) -> dict[str, Any]:
    obj = make_object(name, array("d", poly).tolist() if poly else [x1, y1, x2, y2])
    obj["bbox"] = [x1, y1, x2, y2]
    return obj


def _image_row(group: list[tuple[Any, ...]], cocos: list[_File], names: _Names, checked: bool) -> Row:
    """One image's row from its entries (several when a file lists it twice) and their annotations."""
    file, _, src, line, ident, date, refused, why, present = group[0][:9]
    objects: dict[tuple[Any, ...], dict[str, Any]] = {}  # without repeats: one image listed twice
    errors: list[str] = []
    entries: dict[int, int] = {}  # seq -> src of each entry, in order
    for _, seq, entry_src, *_, cat, x1, y1, x2, y2, poly, error in group:
        entries.setdefault(seq, entry_src)
        if error:
            errors.append(error)
        elif cat is not None:  # None: the LEFT JOIN row of an entry without annotations
            name = names(entry_src, cat)
            objects.setdefault((name, x1, y1, x2, y2, poly), _object(name, x1, y1, x2, y2, poly))
    extra: dict[str, Any] = {"annotation": f"{cocos[src].path}:{line}", "coco_id": ident}
    named = (split_of(cocos[i].path, name=True) or split_of(file) for i in entries.values())
    splits = list(dict.fromkeys(s for s in named if s))
    if splits:
        extra["split"] = splits[0]
    if len(splits) > 1:
        extra["splits"] = splits
    if len(entries) > 1:
        extra["entries"] = len(entries)
    broken = {cocos[i].path: cocos[i].unreadable for i in entries.values() if cocos[i].unreadable}
    errors += [
        f"{p}: {n} parts unreadable (its invalid_row rows), objects may be missing" for p, n in broken.items()
    ]
    if errors:
        extra["annotation_errors"] = errors
    unknown = unknown_classes(objects.values(), names.known(src, checked))
    if unknown:
        extra["unknown_classes"] = unknown
    row: Row = {"path": file, "labels": [], "objects": list(objects.values()), "date": date, "extra": extra}
    if refused:
        row["outcome"] = (refused, why, None)
    elif not present:
        row["outcome"] = ("missing_image", f"no file {file} in the image folder", None)
    return row


def _store_files(db: sqlite3.Connection, rels: Iterable[str]) -> None:
    db.executemany("INSERT OR IGNORE INTO files VALUES (?)", ((r,) for r in rels))


def rows(source: Any) -> Iterator[Row]:
    if not source.annotations:
        raise ValueError("format coco needs `annotations:`, the COCO JSON file (or a glob of them)")
    paths = expand(source.annotations)
    if not paths or not all(filesystem(p).isfile(p) for p in paths):
        raise FileNotFoundError(f"annotations {source.annotations}: no such file")
    root = image_root(source)
    listing = image_listing(root)
    cocos = [_File(p) for p in paths]
    names, checked = _Names(cocos, class_names(source)), source.classes is not None
    with (
        tempfile.TemporaryDirectory(prefix="rs_coco_") as tmp,
        closing(sqlite3.connect(f"{tmp}/coco.db")) as db,
    ):
        db.executescript(_SCHEMA)
        _store_files(db, listing)
        del listing
        for src, coco in enumerate(cocos):
            yield from _load(db, src, coco, root)
        db.executescript(_INDEXES)
        for _, group in groupby(db.execute(_IMAGES), key=lambda r: r[0]):
            yield _image_row(list(group), cocos, names, checked)
        for src, line, image, count in db.execute(_ORPHANS).fetchall():
            found = db.execute(_ORPHAN_OBJECTS, (src, image)).fetchall()
            objects = [_object(names(src, cat), *box) for cat, *box in found]
            why = f"{count} annotations of image_id {image!r}, which no entry of images has"
            extra = {"annotation": f"{cocos[src].path}:{line}", "coco_image_id": image}
            yield {"labels": [], "objects": objects, "extra": extra, "outcome": ("missing_image", why, None)}
        unlisted = f"not in the images of {', '.join(paths)}"
        for (rel,) in db.execute(_UNLISTED):
            yield {"path": rel, "labels": [], "outcome": ("no_annotation", unlisted, None)}


fit = fit_to_image
