"""`kind: labeled`: public RS datasets as they are downloaded, one record per image.

The source's `format` (registry: `raw_scrape/formats`) lists the images and what their annotations say;
this module reads the files safely and builds the records; a format's optional `fit(item)` then adapts
its objects to the image read (clipping). `folders`: class subfolders (label = the folder name; nested
folders: the path, leaf last); `index` (or `index:` set): a CSV/Parquet with `path`,
`labels` ("a;b", "a,b", "a|b" or a JSON list) and optional `lat`, `lon`, `date`, `gsd_m`, `sensor`,
`cloud_cover`, `boxes` (JSON list of {"cls", "bbox": [x1, y1, x2, y2]} in pixels), `ref_captions` (one
caption, or a JSON list), `ref_qa` (JSON list of {question, answer, type}); other columns go to `extra`;
a malformed `labels`, `boxes`, `ref_captions` or `ref_qa` cell empties that field and says why in
`extra["<field>_error"]` (`boxes_error` for boxes), the image is kept. Both walks skip dot files and dot
folders. TIFF/JPEG 2000 images of every format are dated from their header or product name and
georeferenced from their bytes (`georaster`); `format: auto` picks the format from the files present
(`formats/auto.py`) and records it in `extra.auto_format`. Hostile files become rows with a status,
never an exception: dangling links, FIFOs and unreadable files `not_found`, links or paths escaping
the root `outside_root` (never read), empty or non-image files `bad_content_type`, files above
`max_bytes` `too_large` (never read), index paths with a NUL byte `invalid_path`, index lines that are
no row `invalid_row`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rs_assets.lib.lake import Lake, filesystem
from rs_assets.lib.raw_scrape.connectors.common import item_year, parse_datetime, row_latlon, to_float
from rs_assets.lib.raw_scrape.connectors.files import BadRow, bad_row_item
from rs_assets.lib.raw_scrape.connectors.georaster import dated_row, georeferenced
from rs_assets.lib.raw_scrape.connectors.media import SNIFF_BYTES, image_format
from rs_assets.lib.raw_scrape.connectors.politeness import bounded_map
from rs_assets.lib.raw_scrape.formats import FORMATS
from rs_assets.lib.records import RawItem, stable_hash
from rs_assets.lib.sources import LabeledSource

READ_WORKERS = 8
HEAD_BLOCK = 2**16  # S3 range size when only a header or a small annotation file is read
_KNOWN = {
    "path",
    "labels",
    "lat",
    "lon",
    "latitude",
    "longitude",
    "date",
    "gsd_m",
    "gsd",
    "sensor",
    "boxes",
    "cloud_cover",
    "objects",
    "ref_captions",
    "ref_qa",
    "extra",
}
Outcome = tuple[str, str | None, bytes | None]


def parse_labels(value: Any) -> list[str]:
    """Labels of an index cell: "a;b", "a|b", "a,b", a JSON list, a list, or one number (a class
    index, as a CSV would give it); ValueError when malformed ("[a,b", a mapping...)."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            sep = next((s for s in ";|," if s in text), None)
            value = text.split(sep) if sep else [text]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        value = [value] if value == value else []  # NaN: no label
    if not isinstance(value, list | tuple):
        raise ValueError(f"labels must be text, a list or a number, not {type(value).__name__}")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_boxes(value: Any) -> list[dict[str, Any]]:
    """Boxes as RawItem.objects: [{"cls": str, "bbox": [x1, y1, x2, y2]}]; ValueError when malformed."""
    boxes = json.loads(value) if isinstance(value, str) else (value or [])
    out = []
    for box in boxes:
        bbox = [float(v) for v in box["bbox"]]
        if len(bbox) != 4:
            raise ValueError(f"bbox needs 4 numbers, got {bbox}")
        out.append({"cls": str(box.get("cls") or box["label"]), "bbox": bbox})
    return out


def parse_ref_captions(value: Any) -> list[str]:
    """A dataset's own captions: a list, a JSON list in a cell, or one caption as text."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [text]
    if not isinstance(value, list | tuple):
        raise ValueError(f"ref_captions must be text or a list, not {type(value).__name__}")
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def parse_ref_qa(value: Any) -> list[dict[str, Any]]:
    """A dataset's own QA: a list (or a JSON list in a cell) of {question, answer, type?}."""
    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"ref_qa must be a list, not {type(items).__name__}")
    out = []
    for qa in items:
        if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or qa.get("answer") is None:
            raise ValueError(f"a ref_qa item needs a question and an answer, got {qa!r}"[:200])
        kind = qa.get("type")
        out.append({"question": qa["question"], "answer": str(qa["answer"]), "type": kind and str(kind)})
    return out


def _too_large(size: int, max_bytes: int) -> Outcome:
    return "too_large", f"{size} bytes > max_bytes {max_bytes}", None


def _checked(content: bytes, max_bytes: int, image: bool = True) -> Outcome:
    if len(content) > max_bytes:  # the file grew after stat
        return _too_large(len(content), max_bytes)
    if not image:
        return "ok", None, content
    if not content:
        return "bad_content_type", "empty file", None
    if image_format(content[:SNIFF_BYTES]) is None:
        return "bad_content_type", f"not a recognised image (starts with {content[:8]!r})", None
    return "ok", None, content


def path_refusal(rel: str) -> Outcome | None:
    """Why `rel` is refused before any filesystem call: a NUL byte (no filesystem accepts one), or
    `..` climbing out of the root. Decided on the text, so a missing file outside the root is
    `outside_root` too: `not_found` there would tell which files exist outside."""
    if "\0" in rel:
        return "invalid_path", "path contains a NUL byte", None
    clean = posixpath.normpath(rel)
    if clean == ".." or clean.startswith("../"):
        return "outside_root", f"{rel!r} climbs out of the source folder", None
    return None


def _local_target(root: Path, rel: str) -> Path | Outcome:
    """The real path of `root/rel`, or why it is refused: it escapes `root` (`..` on the text, then
    symlinks resolved) or is no regular file. `root` must be resolved."""
    refused = path_refusal(rel)
    if refused:
        return refused
    try:
        real = (root / posixpath.normpath(rel)).resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # dangling link, loop, missing
        return "not_found", f"{type(exc).__name__}: {exc}", None
    if not real.is_relative_to(root):
        return "outside_root", f"resolves to {real}, outside {root}", None
    if not real.is_file():
        return "not_found", "not a regular file", None
    return real


def _s3_target(root: str, rel: str) -> str | Outcome:
    """The key of `root/rel` (no links; keys are relative to the root), or why it is refused."""
    clean = posixpath.normpath(rel)
    refused = path_refusal(rel) or (
        ("outside_root", f"{rel!r} is absolute, outside {root}", None) if clean.startswith("/") else None
    )
    return refused or f"{root.rstrip('/')}/{clean}"


def read_local(root: Path, rel: str, max_bytes: int, image: bool = True) -> Outcome:
    """Bytes of `root/rel` unless `_local_target` refuses it, it is too big, or (`image`) is no image."""
    real = _local_target(root, rel)
    if not isinstance(real, Path):
        return real
    try:
        size = real.stat().st_size
        if size > max_bytes:
            return _too_large(size, max_bytes)
        with open(real, "rb") as fh:
            return _checked(fh.read(max_bytes + 1), max_bytes, image)
    except OSError as exc:
        return "not_found", f"{type(exc).__name__}: {exc}", None


def read_s3(root: str, rel: str, max_bytes: int, image: bool = True) -> Outcome:
    """Same contract as `read_local` for `s3://` roots."""
    key = _s3_target(root, rel)
    if not isinstance(key, str):
        return key
    fs = filesystem(root)
    try:
        size = int(fs.info(key)["size"])
        if size > max_bytes:
            return _too_large(size, max_bytes)
        return _checked(fs.cat_file(key), max_bytes, image)
    except OSError as exc:  # FileNotFoundError, PermissionError
        return "not_found", f"{type(exc).__name__}: {exc}", None


def open_file(root: str, rel: str, max_bytes: int) -> BinaryIO | None:
    """A binary handle on `root/rel` (local or `s3://`) under the readers' guards, for a header or an
    annotation file; None when they would refuse it or it is larger than `max_bytes`."""
    try:
        if root.startswith("s3://"):
            key = _s3_target(root, rel)
            fs = filesystem(root)
            if not isinstance(key, str) or int(fs.info(key)["size"]) > max_bytes:
                return None
            return fs.open(key, "rb", block_size=HEAD_BLOCK)
        real = _local_target(Path(root).expanduser().resolve(), rel)
        if not isinstance(real, Path) or real.stat().st_size > max_bytes:
            return None
        return open(real, "rb")  # the caller closes it
    except OSError:
        return None


def hidden(rel: str) -> bool:
    """Whether a walk skips this relative path: any dot file or dot folder on the way (.DS_Store,
    .git/, .ipynb_checkpoints/). Both walks use it, so a local and an S3 copy give the same rows."""
    return any(part.startswith(".") for part in rel.split("/"))


def walk_local(root: Path) -> Iterator[str]:
    """Relative paths under `root`, sorted, `hidden` ones skipped; directory links are not followed but
    reported when they leave the root (a link inside the root is walked at its real place)."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not hidden(d))
        for d in [d for d in dirnames if (here / d).is_symlink()]:
            dirnames.remove(d)
            if not (here / d).resolve().is_relative_to(root):
                yield (here / d).relative_to(root).as_posix()
        yield from ((here / f).relative_to(root).as_posix() for f in sorted(filenames) if not hidden(f))


def walk_s3(root: str) -> Iterator[str]:
    """Relative keys under an `s3://` root, sorted, `hidden` ones skipped."""
    prefix = root.removeprefix("s3://").rstrip("/") + "/"
    for key in sorted(filesystem(root).find(root)):
        rel = key.removeprefix("s3://").removeprefix(prefix)
        if rel and not rel.endswith("/") and not hidden(rel):
            yield rel


def image_root(source: LabeledSource) -> str:
    """The folder image paths are relative to: `images`, else `path`."""
    return source.images or source.path or ""


def labeled_item(source: LabeledSource, year: int, row: dict[str, Any]) -> RawItem | None:
    """Metadata record of one file (folder walk or index row) for partition `year`, not yet read. A
    format that decided without reading (`missing_image`, `no_annotation`...) sets `outcome`, an
    `Outcome` tuple: the record takes its status and error and is never read."""
    when = parse_datetime(row.get("date"))
    if item_year(when, source.default_year) != year:
        return None
    rel = str(row["path"]) if row.get("path") else None
    folder = rel.split("/")[0] if rel and "/" in rel else None
    latlon = row_latlon(row)
    outcome = row.get("outcome")
    if not isinstance(outcome, tuple):  # only a format decides an outcome; a table column is data
        outcome = None
    extra = {
        **(row.get("extra") or {}),
        **{
            k: v
            for k, v in row.items()
            if k not in _KNOWN and v is not None and not (k == "outcome" and outcome)
        },
    }
    try:
        labels = parse_labels(row["labels"]) if "labels" in row else [folder] if folder else []
    except (ValueError, TypeError) as exc:  # a bad label cell costs the labels, not the image
        labels, extra["labels_error"] = [], f"{type(exc).__name__}: {exc}"
    try:
        objects = list(row["objects"]) if "objects" in row else parse_boxes(row.get("boxes"))
    except (ValueError, KeyError, TypeError) as exc:
        objects, extra["boxes_error"] = [], f"{type(exc).__name__}: {exc}"
    references: dict[str, Any] = {}
    for key, parse in (("ref_captions", parse_ref_captions), ("ref_qa", parse_ref_qa)):
        try:
            references[key] = parse(row.get(key) or [])
        except (ValueError, TypeError) as exc:  # a bad cell costs that field, not the image
            references[key], extra[f"{key}_error"] = [], f"{type(exc).__name__}: {exc}"
    return RawItem(
        native_id=rel or stable_hash(row),
        year=year,
        url=rel,
        captured_at=when,
        labels=labels,
        objects=objects,
        ref_captions=references["ref_captions"],
        ref_qa=references["ref_qa"],
        lat=latlon[0] if latlon else None,
        lon=latlon[1] if latlon else None,
        extra=extra,
        sensor=row.get("sensor") or source.sensor,
        gsd_m=to_float(row.get("gsd_m", row.get("gsd"))) or source.gsd_m,
        cloud_cover=to_float(row.get("cloud_cover")),
        status=outcome[0] if outcome else "ok" if rel else "not_found",
        error=outcome[1] if outcome else None if rel else "index row without a path",
    )


def resolve_format(name: str, source: LabeledSource) -> tuple[LabeledSource, bool]:
    """`source` with `format: auto` replaced by the format its files call for, and whether it was auto."""
    if source.format != "auto" or source.index:
        return source, False
    try:
        return FORMATS["auto"].load().resolve(name, source)[0], True
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"source {name!r}: {exc}") from None


def labeled_items(name: str, source: LabeledSource, year: int, auto: bool) -> Iterator[RawItem]:
    """Metadata records of `year` (resolved `source`), nothing read yet; a path listed twice once."""
    root = image_root(source)
    fmt = FORMATS["index" if source.index else source.format].load()

    def head(rel: str) -> BinaryIO | None:
        return open_file(root, rel, source.max_bytes)

    seen: set[str] = set()
    try:
        for row in fmt.rows(source):
            item = (
                bad_row_item(row, year, source.default_year)
                if isinstance(row, BadRow)
                else labeled_item(source, year, dated_row(row, source.sensor, head))
            )
            if item is not None and item.native_id not in seen:
                seen.add(item.native_id)
                if auto:
                    item.extra["auto_format"] = source.format
                yield item
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"source {name!r}: {exc}") from None


def reader(source: LabeledSource) -> Callable[[RawItem], RawItem]:
    """A record completed with its file's bytes and georeference, then the format's `fit` (resolved
    `source`); thread-safe, rebuilt from `source` alone in a Ray worker."""
    root = image_root(source)
    is_s3 = root.startswith("s3://")
    root_path = Path(root).expanduser().resolve()
    fmt = FORMATS["index" if source.index else source.format].load()
    custom, fit = getattr(fmt, "read", None), getattr(fmt, "fit", None)

    def read(item: RawItem) -> RawItem:
        if item.status == "ok":
            rel = item.url or ""
            status, error, content = (
                custom(source, rel)
                if custom
                else read_s3(root, rel, source.max_bytes)
                if is_s3
                else read_local(root_path, rel, source.max_bytes)
            )
            item = dataclasses.replace(item, status=status, error=error, content=content)
            if content is not None:
                item = georeferenced(item, content)
        return fit(item) if fit else item

    return read


def fetch_labeled(name: str, source: LabeledSource, year: int, lake: Lake) -> Iterator[RawItem]:
    """Every image of `year` with its annotations; `url` is the path relative to the image root."""
    source, auto = resolve_format(name, source)
    yield from bounded_map(reader(source), labeled_items(name, source, year, auto), READ_WORKERS)
