"""`format: dota`: DOTA v1.0 / v1.5 / v2.0 `labelTxt` files, one per image (`images/P0001.png` -
`labelTxt/P0001.txt`).

A file starts with optional `imagesource:<platform>` and `gsd:<metres>` lines (`gsd:null` when unknown),
then one object per line: `x1 y1 x2 y2 x3 y3 x4 y4 class difficult`, the oriented box's corners
clockwise in pixels. The corners are kept as `poly`, the axis-aligned box is their extent, `gsd` is the
record's `gsd_m`, `imagesource` its `sensor`, and difficult objects are listed in `extra.difficult`
(indices into `objects`). Classes are checked against DOTA v2.0's 18 (`classes` overrides).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.formats.classes import class_names
from rs_assets.lib.raw_scrape.formats.geometry import Object, fit_to_image, make_object, number, numbers
from rs_assets.lib.raw_scrape.formats.paired import Annotation, Layout, paired_rows

_NULL = {"", "null", "none", "nan"}


def _header(annotation: Annotation, key: str, value: str) -> None:
    if value.lower() in _NULL:
        return
    if key == "gsd":
        annotation.fields["gsd_m"] = number(value)
    else:
        annotation.fields["sensor"] = value


def _object(parts: list[str]) -> tuple[Object, bool]:
    """(object, difficult) of one line; a class name may hold spaces (FAIR1M converted to DOTA)."""
    if len(parts) < 9:
        raise ValueError(f"expected x1 y1 x2 y2 x3 y3 x4 y4 class difficult, got {len(parts)} fields")
    corners = numbers(parts[:8])
    rest, difficult = parts[8:], False
    if len(rest) > 1 and rest[-1].isdigit():
        difficult, rest = rest[-1] != "0", rest[:-1]
    return make_object(" ".join(rest), corners), difficult


def parse(data: bytes, name: str) -> Annotation:
    annotation = Annotation()
    for number_, line in enumerate(data.decode("utf-8-sig", "replace").splitlines(), 1):
        text = line.strip()
        key, sep, value = text.partition(":")
        try:
            if sep and key.strip().lower() in ("imagesource", "gsd"):
                _header(annotation, key.strip().lower(), value.strip())
                continue
            if not text:
                continue
            annotation.found += 1
            obj, difficult = _object(text.split())
        except ValueError as exc:
            annotation.errors.append(f"{name}:{number_}: {exc}")
            continue
        if difficult:
            annotation.extra.setdefault("difficult", []).append(len(annotation.objects))
        annotation.objects.append(obj)
    return annotation


def rows(source: Any) -> Iterator[Row]:
    return paired_rows(source, Layout(".txt", parse, class_names(source, "dota")))


fit = fit_to_image
