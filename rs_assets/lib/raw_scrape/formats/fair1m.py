"""`format: fair1m`: FAIR1M 1.0 / 2.0 XML, one file per image (`images/1.tif` - `labelXml/1.xml`).

Each `<objects><object>` has its class in `<possibleresult><name>` and its oriented box as
`<points><point>x,y</point>...` in pixels, the first corner repeated at the end (a closed ring). The
four corners are kept as `poly`, the axis-aligned box is their extent; `<source><origin>` (GF2/GF3...)
is the record's `sensor`. Classes are checked against FAIR1M's 37 (`classes` overrides).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.formats import xmltree
from rs_assets.lib.raw_scrape.formats.classes import class_names
from rs_assets.lib.raw_scrape.formats.geometry import Object, fit_to_image, make_object, number
from rs_assets.lib.raw_scrape.formats.paired import Annotation, Layout, paired_rows


def _object(element: Any) -> Object:
    cls = xmltree.text(element, "possibleresult/name")
    if not cls:
        raise ValueError("no <possibleresult><name>")
    points: list[float] = []
    for point in element.iterfind("points/point"):
        xy = (point.text or "").split(",")
        if len(xy) != 2:
            raise ValueError(f"<point> is {point.text!r}, not x,y")
        points += [number(xy[0]), number(xy[1])]
    if len(points) == 10 and points[:2] == points[8:]:
        points = points[:8]  # the closed ring's repeated first corner
    if len(points) < 6:
        raise ValueError(f"{len(points) // 2} <point>, a polygon needs 3 or more")
    return make_object(cls, points)


def parse(data: bytes, name: str) -> Annotation:
    root, errors = xmltree.parse(data, name)
    annotation = Annotation(errors=errors)
    if root is None:
        return annotation
    origin = xmltree.text(root, "source/origin")
    if origin:
        annotation.fields["sensor"] = origin
    for element in root.iterfind("objects/object"):
        annotation.found += 1
        try:
            annotation.objects.append(_object(element))
        except ValueError as exc:
            annotation.errors.append(f"{name}:{element.sourceline}: object {annotation.found}: {exc}")
    return annotation


def rows(source: Any) -> Iterator[Row]:
    return paired_rows(source, Layout(".xml", parse, class_names(source, "fair1m")))


fit = fit_to_image
