"""The labeled-dataset format registry: how each public RS dataset lays out images and annotations.

A format is one entry here plus its module, which exposes `rows(source) -> Iterator[Row]`: one dict
per image with `path` (relative to the image root: `images`, else `path`) and what the annotations
say of it (`labels`, `objects` as {cls, bbox [x1, y1, x2, y2], poly?, description?} in pixels of the
original image, `ref_captions`, `ref_qa` as {question, answer, type}, `date`, `lat`, `lon`, `gsd_m`,
`sensor`, `extra`, and `outcome`, an (status, error, None) tuple, when the format decided without
reading: `missing_image`, `no_annotation`, `outside_root`), or a `BadRow` naming the file and line that
could not be read. A module may also
expose `read(source, path) -> (status, error, bytes)` when an image is not one file (BigEarthNet band
folders), and `fit(item) -> item`, run on every record after the read, to adapt its objects to the
image actually read (the detection formats clip boxes to it and scale YOLO's normalised ones).
Modules are imported by name when used, so the sources schema can list the formats without importing
their parsers. `auto` is no parser: `auto.resolve(source)` picks one of the others from the files
present before any row is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Rows = Callable[[Any], Iterator[Any]]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    module: str  # under rs_assets.lib.raw_scrape.formats

    def load(self) -> Any:
        return importlib.import_module(f"{__name__}.{self.module}")


_ORDER = (
    Format(
        "folders",
        "class subfolders, flat or nested (the hierarchy, leaf last); UCM, AID, MillionAID",
        "folders",
    ),
    Format("index", "a CSV/Parquet index of path, labels, coordinates, dates, boxes", "index"),
    Format("karpathy", "caption JSON of RSICD, UCM-captions, Sydney-captions, RSITMD", "karpathy"),
    Format("captions_csv", "open_clip CSV of image path and captions; SkyScript, HQRS", "captions_csv"),
    Format("rsvqa", "RSVQA LR/HR question, answer and image JSON per split", "rsvqa"),
    Format("dota", "DOTA v1.0/1.5/2.0 labelTxt: oriented boxes, imagesource and gsd headers", "dota"),
    Format("fair1m", "FAIR1M XML: <points> polygons, class in <possibleresult><name>", "fair1m"),
    Format("voc", "Pascal VOC XML as DIOR ships it: bndbox, robndbox/polygon where present", "voc"),
    Format("rsvg", "DIOR-RSVG: VOC XML whose objects carry a referring description", "rsvg"),
    Format("coco", "COCO detection JSON: images, annotations (bbox x y w h), categories; streamed", "coco"),
    Format("yolo", "YOLO txt: class cx cy w h (or OBB corners) normalised; classes.txt / data.yaml", "yolo"),
    Format(
        "bigearthnet",
        "BigEarthNet v1.0 Sentinel-2 patch folders: one record per patch, B04/B03/B02 composite, labels JSON",
        "bigearthnet",
    ),
    Format(
        "auto", "opt-in: the layout recognised from the files present (raw_scrape/formats/auto.py)", "auto"
    ),
)
FORMATS: dict[str, Format] = {f.name: f for f in _ORDER}
LabeledFormat = Literal[tuple(FORMATS)]  # type: ignore[valid-type]  # the sources YAML `format:` values
