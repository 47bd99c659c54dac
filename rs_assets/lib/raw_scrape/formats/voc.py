"""`format: voc`: Pascal VOC XML as DIOR (and many RS datasets) ship it, one file per image
(`JPEGImages-trainval/00001.jpg` - `Annotations/00001.xml`).

Each `<object>` has `<name>`, `<difficult>` and a horizontal `<bndbox>` (xmin ymin xmax ymax, pixels);
an oriented box where present becomes `poly`: DIOR-R's `<robndbox>` corners (`x_left_top`...
`y_left_bottom`), roLabelImg's `<robndbox>` (cx cy w h angle, radians), or a `<polygon>` (x1 y1 ... x4
y4). The axis-aligned box is `<bndbox>`, else the polygon's extent. A `<description>` (DIOR-RSVG) is
kept. The dataset's split comes from `ImageSets/Main/{train,val,test}.txt` beside the annotation folder
when present, else from the folder names. DIOR-R's `Annotations/`, holding `Horizontal Bounding Boxes/`
and `Oriented Bounding Boxes/`, is read from the oriented folder. `<filename>` is not followed: images
pair by file stem. Classes are checked only against `classes` when set (`classes: dior` for DIOR).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.formats import xmltree
from rs_assets.lib.raw_scrape.formats.classes import class_names
from rs_assets.lib.raw_scrape.formats.geometry import Object, fit_to_image, make_object, rotated_corners
from rs_assets.lib.raw_scrape.formats.paired import (
    Annotation,
    Layout,
    annotation_root,
    paired_rows,
    parent,
    split_lists,
)

_BOX = ("xmin", "ymin", "xmax", "ymax")
_CORNERS = tuple(f"{a}_{c}" for c in ("left_top", "right_top", "right_bottom", "left_bottom") for a in "xy")
_ROTATED = ("cx", "cy", "w", "h", "angle")
_POLYGON = ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4")
ORIENTED, HORIZONTAL = "Oriented Bounding Boxes", "Horizontal Bounding Boxes"  # DIOR-R's two folders


def _poly(element: Any) -> list[float] | None:
    rotated = element.find("robndbox")
    corners = xmltree.numbers(rotated, _CORNERS)
    if corners is None and (turned := xmltree.numbers(rotated, _ROTATED)) is not None:
        corners = rotated_corners(*turned)
    return corners if corners is not None else xmltree.numbers(element.find("polygon"), _POLYGON)


def _object(element: Any) -> Object:
    cls = xmltree.text(element, "name")
    if not cls:
        raise ValueError("no <name>")
    box, poly = xmltree.numbers(element.find("bndbox"), _BOX), _poly(element)
    if box is None and poly is None:
        raise ValueError("no <bndbox>, <robndbox> or <polygon>")
    obj = make_object(cls, poly if poly is not None else box, xmltree.text(element, "description"))  # type: ignore[arg-type]
    if box is not None:
        obj["bbox"] = [min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])]
    return obj


def parse(data: bytes, name: str) -> Annotation:
    root, errors = xmltree.parse(data, name)
    annotation = Annotation(errors=errors)
    if root is None:
        return annotation
    for element in root.iterfind("object"):
        annotation.found += 1
        try:
            obj = _object(element)
        except ValueError as exc:
            annotation.errors.append(f"{name}:{element.sourceline}: object {annotation.found}: {exc}")
            continue
        if xmltree.text(element, "difficult") in ("1", "true"):
            annotation.extra.setdefault("difficult", []).append(len(annotation.objects))
        annotation.objects.append(obj)
    return annotation


def oriented_release(source: Any) -> Any:
    """`source` reading DIOR-R's oriented annotations alone where its `Annotations/` holds both
    `Horizontal Bounding Boxes/` and `Oriented Bounding Boxes/` (the same objects twice: read together,
    every image would have two annotation files and none). The oriented files give each object its
    polygon and, from it, its box; `annotations:` naming the horizontal folder reads that one instead."""
    notes = annotation_root(source)
    fs = filesystem(notes)
    for folder in (notes.rstrip("/"), f"{notes.rstrip('/')}/Annotations"):
        if all(fs.isdir(f"{folder}/{name}") for name in (ORIENTED, HORIZONTAL)):
            return source.model_copy(update={"annotations": f"{folder}/{ORIENTED}"})
    return source


def rows(source: Any) -> Iterator[Row]:
    """DIOR keeps ImageSets/ beside Annotations/, DIOR-R a level up (Annotations/Oriented Bounding Boxes)."""
    source = oriented_release(source)
    notes = annotation_root(source)
    lists = (f"{d}/ImageSets/Main" for d in (parent(notes), parent(parent(notes)), source.path) if d)
    return paired_rows(source, Layout(".xml", parse, class_names(source), split_lists(lists)))


fit = fit_to_image
