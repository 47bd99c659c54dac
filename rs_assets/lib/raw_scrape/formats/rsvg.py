"""`format: rsvg`: DIOR-RSVG visual grounding (`JPEGImages/00001.jpg` - `Annotations/00001.xml`).

The XML is DIOR's VOC (see `voc`) whose objects carry a referring expression in `<description>`, kept
as the object's `description`. The splits `train.txt`, `val.txt`, `test.txt` beside `Annotations/` number
the objects of all annotation files read in name order, from 0 (as the official loader counts them);
`extra.split` is the split of the image's objects ("test+train" when they differ). Classes are checked
against DIOR's 20 (`classes` overrides).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.formats import voc
from rs_assets.lib.raw_scrape.formats.classes import class_names
from rs_assets.lib.raw_scrape.formats.geometry import fit_to_image
from rs_assets.lib.raw_scrape.formats.paired import (
    Annotation,
    Layout,
    annotation_root,
    paired_rows,
    parent,
    split_lists,
)


class _NumberedObjects:
    """The VOC parser plus the split of each object, by its number across the files parsed so far."""

    def __init__(self, splits: dict[str, str]) -> None:
        self.splits, self.seen = splits, 0

    def __call__(self, data: bytes, name: str) -> Annotation:
        annotation = voc.parse(data, name)
        numbers = range(self.seen, self.seen + annotation.found)
        self.seen += annotation.found
        found = {s for n in numbers for s in self.splits.get(str(n), "").split("+") if s}
        if found:
            annotation.extra["split"] = "+".join(sorted(found))
        return annotation


def rows(source: Any) -> Iterator[Row]:
    splits = split_lists([parent(annotation_root(source)), source.path])
    return paired_rows(source, Layout(".xml", _NumberedObjects(splits), class_names(source, "dior")))


fit = fit_to_image
