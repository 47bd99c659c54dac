"""Formats with one annotation file per image (DOTA labelTxt, FAIR1M and VOC XML, DIOR-RSVG, YOLO txt):
listing, pairing by file stem, safe reading of the annotations, and the rows.

Images and annotations are paired as these datasets do it, by file stem (`P0001.png` - `P0001.txt`),
wherever they are under their roots: `images` and `annotations` where the dataset keeps them apart,
else both under `path` (DOTA's `train/images` + `train/labelTxt`, DIOR's `JPEGImages-trainval` +
`Annotations`). A stem found more than once is paired within its split (the nearest `train`, `val`,
`test` folder), so one file name in two splits gives two records, each with its own annotation. What
cannot be paired is recorded, never dropped, in the words of the other annotation-driven formats:
- an annotation without its image: a `missing_image` row keeping what the annotation says;
- an image without annotation, or with several candidates: a `no_annotation` row saying why, never
  read (an empty annotation file is an image with no objects);
- an annotation that cannot be read (`outside_root`, `too_large`, `not_found`) or a malformed line or
  element: named in `extra.annotation_errors`, the rest of the file is used.
Image candidates are files with an image suffix. Memory: the two listings (paths only); annotations
are read one at a time, in name order.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.connectors.labeled import Outcome, image_root, read_local, read_s3
from rs_assets.lib.raw_scrape.formats.annotated import IMAGE_SUFFIXES, image_listing
from rs_assets.lib.raw_scrape.formats.classes import unknown_classes
from rs_assets.lib.raw_scrape.formats.geometry import Object

COMPANIONS = frozenset({"classes.txt"})  # YOLO/labelImg class lists beside the labels, not annotations
MAX_LIST_BYTES = 50_000_000  # a split or class list; DOTA/DIOR ones are a few hundred KB
_SPLIT = re.compile(r"(?:^|[-_])(trainval|train|val|valid|validation|test)\d*$", re.IGNORECASE)
_SPLIT_ALIASES = {"valid": "val", "validation": "val"}


@dataclass
class Annotation:
    """What one annotation file says of its image."""

    objects: list[Object] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "file:line: why", one per malformed line/element
    fields: dict[str, Any] = field(default_factory=dict)  # row fields it sets: gsd_m, sensor, date
    extra: dict[str, Any] = field(default_factory=dict)  # difficult (indices into objects), split
    found: int = 0  # object entries in the file, unreadable ones included


Parse = Callable[[bytes, str], Annotation]


@dataclass(frozen=True)
class Layout:
    """How a format's annotation files look: their suffix, their parser, the class list to check,
    and the dataset's own split lists ({stem: split}, VOC's ImageSets)."""

    suffix: str
    parse: Parse
    classes: tuple[str, ...] | None = None
    splits: dict[str, str] = field(default_factory=dict)


@dataclass
class Pairing:
    images_of: dict[str, list[str]]  # annotation -> its images (one, or one per encoding of a stem)
    orphans: set[str]  # annotations without an image
    unpaired: dict[str, str]  # image -> why it has no annotation


def stem(rel: str) -> str:
    return posixpath.splitext(posixpath.basename(rel))[0]


def split_of(path: str, name: bool = False) -> str | None:
    """The dataset split a path's folders name: the nearest `train`, `val`, `test` or `trainval` folder,
    also as a suffix (`JPEGImages-test`, `train2017`, `DOTA-v1.5_train`); with `name`, the file's stem
    too (`instances_val2017.json`). None when no folder says."""
    parts = path.split("/")
    parts = [*parts[:-1], stem(parts[-1])] if name else parts[:-1]
    for part in reversed(parts):
        match = _SPLIT.search(part)
        if match:
            split = match.group(1).lower()
            return _SPLIT_ALIASES.get(split, split)
    return None


def parent(path: str) -> str:
    return posixpath.dirname(path.rstrip("/"))


def _same_split(a: str | None, b: str | None) -> bool:
    """A file whose folders name no split may belong to any (DIOR's `Annotations/` for both image sets)."""
    return a is None or b is None or a == b


def pair(
    images: list[str],
    annotations: list[str],
    image_split: Callable[[str], str | None],
    annotation_split: Callable[[str], str | None],
) -> Pairing:
    """Annotations and images by stem; a stem found more than once is paired within its split (a file
    naming none matches any). An image with one matching annotation is paired (one annotation may
    serve P1.png and P1.jpg), with several it is ambiguous and its row names them, with none it has no
    annotation; an annotation no image matches has no image."""
    by_stem: dict[str, list[str]] = defaultdict(list)
    for image in images:
        by_stem[stem(image)].append(image)
    notes: dict[str, list[str]] = defaultdict(list)
    for annotation in annotations:
        notes[stem(annotation)].append(annotation)
    out = Pairing({a: [] for a in annotations}, set(), {})
    for name, group in notes.items():
        matched: set[str] = set()
        for image in by_stem.get(name, []):
            split = image_split(image)
            ours = [a for a in group if _same_split(split, annotation_split(a))]
            matched.update(ours)
            if len(ours) == 1:
                out.images_of[ours[0]].append(image)
            elif ours:
                out.unpaired[image] = (
                    f"ambiguous: {len(ours)} annotation files named {name}.*: {', '.join(ours)}"
                )
            else:
                out.unpaired[image] = (
                    f"no annotation named {name}.* in split {split}: only {', '.join(group)}"
                )
        out.orphans.update(a for a in group if a not in matched)
    for name, group in by_stem.items():
        if name not in notes:
            out.unpaired.update(dict.fromkeys(group, f"no annotation file named {name}.*"))
    return out


def _reader(root: str) -> Callable[[str, int], Outcome]:
    """Annotation bytes under `root`, with the image reader's guards (outside_root, too_large...)."""
    if root.startswith("s3://"):
        return lambda rel, cap: read_s3(root, rel, cap, image=False)
    local = Path(root).expanduser().resolve()
    return lambda rel, cap: read_local(local, rel, cap, image=False)


def small_text(path: str) -> str | None:
    """A dataset's list file (splits, class names) as text, None when absent; a list above
    MAX_LIST_BYTES is a clear error."""
    fs = filesystem(path)
    if not fs.isfile(path):
        return None
    size = fs.size(path)
    if size > MAX_LIST_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than a list file can be ({MAX_LIST_BYTES})")
    return fs.cat_file(path).decode("utf-8-sig", "replace")


def split_lists(folders: Iterable[str | None]) -> dict[str, str]:
    """{id: split} from the dataset's split lists (`train.txt`, `val.txt`, `test.txt`, `trainval.txt`,
    the first word of each line an id) in the first of `folders` holding any. An id in several lists
    gets their names joined with "+", `trainval` only where neither `train` nor `val` lists it."""
    for folder in dict.fromkeys(f.rstrip("/") for f in folders if f):
        found: dict[str, set[str]] = defaultdict(set)
        for split in ("train", "val", "test", "trainval"):
            for line in (small_text(f"{folder}/{split}.txt") or "").splitlines():
                if line.split():
                    found[line.split()[0]].add(split)
        if found:
            return {k: "+".join(sorted(v - {"trainval"} or v)) for k, v in found.items()}
    return {}


def _listing(images_at: str, notes_at: str, suffix: str) -> tuple[list[str], list[str]]:
    """(images, annotation files); one walk when both are under the same folder."""
    if images_at.rstrip("/") == notes_at.rstrip("/"):
        files = image_listing(images_at, suffixes=IMAGE_SUFFIXES | {suffix})
        images, notes = (
            [r for r in files if not r.lower().endswith(suffix)],
            [r for r in files if r.lower().endswith(suffix)],
        )
    else:
        images, notes = image_listing(images_at), image_listing(notes_at, suffixes=frozenset({suffix}))
    return images, [r for r in notes if posixpath.basename(r) not in COMPANIONS]


def annotation_root(source: Any) -> str:
    """The folder annotation files are under: `annotations`, else the image root."""
    return source.annotations or image_root(source)


def _row(path: str | None, where: str, annotation: Annotation, layout: Layout, split: str | None) -> Row:
    extra: dict[str, Any] = {"annotation": where}
    if split:
        extra["split"] = split
    extra.update(annotation.extra)
    if annotation.errors:
        extra["annotation_errors"] = annotation.errors
    unknown = unknown_classes(annotation.objects, layout.classes)
    if unknown:
        extra["unknown_classes"] = unknown
    return {"path": path, "labels": [], "objects": annotation.objects, **annotation.fields, "extra": extra}


def paired_rows(source: Any, layout: Layout) -> Iterator[Row]:
    """Every image and annotation file of the source as rows: annotations in name order (each read
    once, with the rows of its images), then the images without annotation."""
    images_at, notes_at = image_root(source), annotation_root(source)
    images, annotations = _listing(images_at, notes_at, layout.suffix)

    def folder_split(rel: str) -> str | None:
        return split_of(f"{images_at.rstrip('/')}/{rel}")

    def annotation_split(rel: str) -> str | None:
        return split_of(f"{notes_at.rstrip('/')}/{rel}")

    def image_split(rel: str) -> str | None:  # the dataset's lists first (VOC ImageSets)
        return layout.splits.get(stem(rel)) or folder_split(rel)

    pairing = pair(images, annotations, folder_split, annotation_split)
    read = _reader(notes_at)
    for rel in annotations:
        where = f"{notes_at.rstrip('/')}/{rel}"
        status, error, data = read(rel, source.max_bytes)
        annotation = (
            layout.parse(data or b"", where)
            if status == "ok"
            else Annotation(errors=[f"{where}: {status}: {error}"])
        )
        if rel in pairing.orphans:
            row = _row(None, where, annotation, layout, annotation_split(rel))
            yield {
                **row,
                "outcome": ("missing_image", f"no image named {stem(rel)}.* under {images_at}", None),
            }
        for image in pairing.images_of.get(rel, []):
            yield _row(image, where, annotation, layout, image_split(image))
    for image, why in sorted(pairing.unpaired.items()):
        split = image_split(image)
        extra = {"split": split} if split else {}
        yield {"path": image, "labels": [], "extra": extra, "outcome": ("no_annotation", why, None)}
