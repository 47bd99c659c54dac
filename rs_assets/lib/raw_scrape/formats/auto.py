"""`format: auto` (opt-in): the dataset layout recognised from the files present.

Detection reads names and the first 64 KB of a few files, never a whole annotation file (a COCO JSON
may be 500 MB), and then hands the source to that format's parser, unchanged but for `format` and the
fields it found that the source does not set (`images`, `annotations`, a captions table's columns).
Signatures, in this order:
- `index:` set: `index`.
- `annotations:` a file: JSON with `sentences` (Karpathy: RSICD, UCM/Sydney-captions, RSITMD), with
  `questions` / `answers_ids` / `questions_ids` (RSVQA), with `file_name` / `categories` / `bbox`
  (COCO); a table (CSV, TSV, Parquet, JSONL) with a caption column and an image column
  (`captions_csv`, whose `path_column` / `caption_column` are taken from the header), else with
  `path` (`index`); XML or TXT as for a folder.
- `annotations:` a folder, or folders of annotation files up to two levels below `path`, image folders
  not looked into (`labelTxt` + `images`, `Annotations` + `JPEGImages`, `labelXml` + `images`, DIOR-R's
  `Annotations/Oriented Bounding Boxes`, DOTA's `train/labelTxt`, Ultralytics' `labels/train`): TXT with
  `imagesource:` / `gsd:` headers or `x1 y1 ... x4 y4 class [difficult]` lines (DOTA), with
  `class cx cy w h` fractions (YOLO); XML `<annotation>` with `<possibleresult>` (FAIR1M), with objects
  carrying a `<description>` (DIOR-RSVG: `rsvg`), else with `<object>` (Pascal VOC / DIOR: `voc`);
  `*_questions.json` (RSVQA).
  `annotations` and `images` become the folders holding all annotation / image folders of the
  format found; left unset where that is the root itself (DIOR's `JPEGImages-trainval` and
  `JPEGImages-test`, DOTA's `train/` and `val/`: the format pairs every file under `path` by split).
- `path` holding `*_questions.json` files: `rsvqa`; patch folders with `<patch>_labels_metadata.json`
  or `<patch>_B04.tif`: `bigearthnet`; a `data.yaml` / `dataset.yaml` with `names:` (Ultralytics):
  `yolo`, `labels/` and `images/` its folders; a JSON or table file next to the images: as above;
  images in class folders (or flat): `folders`.
The choice is logged and recorded in each row's `extra.auto_format`; a layout that matches nothing is
an error listing what was looked for, and a recognised format this build has no parser for is an error
naming it.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.labeled import hidden

HEAD_BYTES = 65_536
SAMPLE = 12  # files (or patch folders) looked at per folder
SCAN_DEPTH = 2  # folder levels below the root searched for annotation folders
YOLO_YAMLS = ("data.yaml", "dataset.yaml")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".jp2", ".j2k", ".webp", ".gif")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")
# in order of preference (open_clip's defaults, `filepath` and `title`, first)
CAPTION_COLUMNS = ("title", "caption", "captions", "text", "sentence", "sentences", "raw")
IMAGE_COLUMNS = ("filepath", "path", "filename", "file_name", "image", "image_path", "img", "file")
LOOKED_FOR = (
    "Karpathy/RSVQA/COCO JSON, a CSV/Parquet table, DOTA/YOLO TXT, VOC/RSVG/FAIR1M XML, BigEarthNet "
    "patch folders, or image files in class folders"
)

log = logging.getLogger(__name__)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Detection:
    format: str
    evidence: str  # the file and signature that decided, for the log
    # images / annotations found under `path`; a captions table's path_column / caption_column
    updates: dict[str, str] = field(default_factory=dict)


def json_format(head: bytes) -> str | None:
    """Format of a JSON annotation file from its first bytes (keys, not values, decide)."""
    text = head.decode("utf-8", "replace")
    if re.search(r'"(sentences|sentids)"\s*:', text):
        return "karpathy"
    if re.search(r'"(questions|answers_ids|questions_ids|question_id)"\s*:', text):
        return "rsvqa"
    if re.search(r'"(file_name|categories|category_id|bbox|iscrowd)"\s*:', text):
        return "coco"
    return None


def xml_format(head: bytes) -> str | None:
    """`fair1m`, `rsvg`, `voc` for an `<annotation>` XML, None for anything else."""
    text = head.decode("utf-8", "replace")
    if not re.search(r"<annotation[\s>]", text):
        return None
    if "<possibleresult" in text:
        return "fair1m"
    objects = re.findall(r"<object[\s>].*?</object>", text, re.S)
    if any(re.search(r"<description>\s*(?!None\s*<)[^<\s]", obj) for obj in objects):
        return "rsvg"
    return "voc" if objects or re.search(r"<(bndbox|robndbox)>", text) else None


def txt_format(head: bytes) -> str | None:
    """`dota` or `yolo` from the first lines of a TXT label file; None when empty or neither."""
    lines = [line.split() for line in head.decode("utf-8", "replace").splitlines()[:50] if line.strip()]
    for parts in lines:
        if parts[0].startswith(("imagesource:", "gsd:")):
            return "dota"
        numeric = [bool(_NUMBER.match(p)) for p in parts]
        if len(parts) >= 9 and all(numeric[:8]) and not numeric[8]:
            return "dota"
        if len(parts) in (5, 9) and all(numeric) and parts[0].isdigit():
            return "yolo" if all(0 <= float(p) <= 1 for p in parts[1:]) else None
    return None


def table_format(columns: list[str]) -> str | None:
    """`captions_csv` (a caption column and an image column) or `index` (a `path` column)."""
    names = {c.strip().lower() for c in columns}
    if names & set(CAPTION_COLUMNS) and names & set(IMAGE_COLUMNS) and not names & {"labels", "boxes"}:
        return "captions_csv"
    return "index" if "path" in names else None


def caption_table_columns(columns: list[str]) -> dict[str, str]:
    """`path_column` and `caption_column` of a captions table, as spelled in its header."""
    by_name = {c.strip().lower(): c.strip() for c in reversed(columns)}
    image = next(by_name[c] for c in IMAGE_COLUMNS if c in by_name)
    caption = next(by_name[c] for c in CAPTION_COLUMNS if c in by_name)
    return {"path_column": image, "caption_column": caption}


class _Tree:
    """Listing and heads of files under one root, local or `s3://` (links and dot files skipped)."""

    def __init__(self, root: str) -> None:
        self.fs = filesystem(root)
        self.s3 = root.startswith("s3://")

    def name(self, path: str) -> str:
        return f"s3://{path}" if self.s3 and not path.startswith("s3://") else path

    def ls(self, path: str) -> tuple[list[str], list[str]]:
        """(folders, files) directly under `path`, sorted."""
        entries = sorted(self.fs.ls(path, detail=True), key=lambda e: e["name"])
        visible = [e for e in entries if not hidden(posixpath.basename(e["name"].rstrip("/")))]
        dirs = [self.name(e["name"]) for e in visible if e["type"] == "directory"]
        return dirs, [self.name(e["name"]) for e in visible if e["type"] == "file"]

    def head(self, path: str) -> bytes:
        with self.fs.open(path, "rb", compression="infer") as fh:
            return fh.read(HEAD_BYTES)

    def columns(self, path: str) -> list[str]:
        lowered = path.lower().removesuffix(".gz")
        if lowered.endswith(".parquet"):
            with self.fs.open(path, "rb") as fh:
                return list(pq.read_schema(fh).names)
        first = self.head(path).decode("utf-8-sig", "replace").splitlines()[:1] or [""]
        if lowered.endswith((".jsonl", ".ndjson")):
            try:
                row = json.loads(first[0])
            except ValueError:
                return []
            return list(row) if isinstance(row, dict) else []
        return [c.strip('"') for c in first[0].split("\t" if lowered.endswith(".tsv") else ",")]

    def isdir(self, path: str) -> bool:
        return self.fs.isdir(path)


def _suffix(path: str) -> str:
    return posixpath.splitext(path.lower().removesuffix(".gz"))[1]


def _file_format(tree: _Tree, path: str) -> str | None:
    suffix = _suffix(path)
    if suffix == ".json":
        return "rsvqa" if path.endswith("_questions.json") else json_format(tree.head(path))
    if suffix in TABLE_SUFFIXES:
        return table_format(tree.columns(path))
    if suffix == ".xml":
        return xml_format(tree.head(path))
    if suffix == ".txt":
        return txt_format(tree.head(path))
    return None


def _table_updates(tree: _Tree, path: str, fmt: str) -> dict[str, str]:
    return caption_table_columns(tree.columns(path)) if fmt == "captions_csv" else {}


def _folder_annotations(tree: _Tree, files: list[str]) -> tuple[str, str] | None:
    """(format, sample file) of a folder of annotation files: the commonest annotation suffix decides
    which files are sampled; FAIR1M and RSVG win over plain VOC (their files are VOC-like)."""
    by_suffix: dict[str, list[str]] = {}
    for f in files:
        if _suffix(f) in (".txt", ".xml", ".json"):
            by_suffix.setdefault(_suffix(f), []).append(f)
    if not by_suffix:
        return None
    sample = max(by_suffix.values(), key=len)[:SAMPLE]
    found = [(fmt, f) for f in sample if (fmt := _file_format(tree, f))]
    for fmt in ("fair1m", "rsvg", "rsvqa", "dota", "yolo", "voc", "karpathy", "coco"):
        hit = next((f for name, f in found if name == fmt), None)
        if hit:
            return fmt, hit
    return None


def _images_in(tree: _Tree, folder: str, depth: int = 3) -> str | None:
    """An image file in `folder` or its first sub-folders (class folders may nest: MillionAID)."""
    dirs, files = tree.ls(folder)
    hit = next((f for f in files if f.lower().endswith(IMAGE_SUFFIXES)), None)
    if hit or depth == 0:
        return hit
    return next((h for d in dirs[:SAMPLE] if (h := _images_in(tree, d, depth - 1))), None)


def _bigearthnet(tree: _Tree, dirs: list[str]) -> str | None:
    for folder in dirs[:SAMPLE]:
        patch = posixpath.basename(folder.rstrip("/"))
        names = {posixpath.basename(f) for f in tree.ls(folder)[1]}
        for signature in (f"{patch}_labels_metadata.json", f"{patch}_B04.tif"):
            if signature in names:
                return f"{folder}/{signature}"
    return None


def _scan(tree: _Tree, dirs: list[str]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """(image folders, annotation folders as (folder, format, sample file)) among `dirs` and, breadth
    first, their sub-folders (DIOR-R's `Annotations/Oriented Bounding Boxes`, DOTA's `train/labelTxt`,
    Ultralytics' `labels/train`); an image folder is not looked into."""
    image_dirs: list[str] = []
    found: list[tuple[str, str, str]] = []
    level = dirs[:SAMPLE]
    for _ in range(SCAN_DEPTH):
        below: list[str] = []
        for folder in level:
            subdirs, files = tree.ls(folder)
            if any(f.lower().endswith(IMAGE_SUFFIXES) for f in files):
                image_dirs.append(folder)
            elif hit := _folder_annotations(tree, files):
                found.append((folder, *hit))
            else:
                below.extend(subdirs[:SAMPLE])
        level = below
    return image_dirs, found


def _common(paths: list[str]) -> str:
    """The deepest folder holding all `paths` (`s3://` kept: posixpath.commonpath would fold it)."""
    common: list[str] = []
    for names in zip(*(p.rstrip("/").split("/") for p in paths), strict=False):
        if len(set(names)) > 1:
            break
        common.append(names[0])
    return "/".join(common)


def _yolo_yaml(tree: _Tree, files: list[str]) -> str | None:
    """An Ultralytics dataset YAML (`data.yaml` / `dataset.yaml` with a top-level `names:`)."""
    for f in files:
        if posixpath.basename(f) in YOLO_YAMLS and re.search(rb"^names\s*:", tree.head(f), re.M):
            return f
    return None


def _paths(root: str, annotations: list[str], image_dirs: list[str]) -> dict[str, str]:
    """`annotations` and `images` as the folders holding all of them; the root itself is left out (the
    format then pairs every file under `path` within its split, as DOTA's train/ and val/ need)."""
    found = {"annotations": _common(annotations)} if annotations else {}
    if image_dirs:
        found["images"] = _common(image_dirs)
    return {k: v for k, v in found.items() if v.rstrip("/") != root.rstrip("/")}


def _detect_root(tree: _Tree, root: str) -> Detection:
    dirs, files = tree.ls(root)
    if hit := next((f for f in files if f.endswith("_questions.json")), None):
        return Detection("rsvqa", f"{hit}: RSVQA questions file")
    if hit := _bigearthnet(tree, dirs):
        return Detection("bigearthnet", f"{hit}: BigEarthNet patch folder")
    image_dirs, found = _scan(tree, dirs)
    if hit := _yolo_yaml(tree, files):
        folders = [d for d in dirs if posixpath.basename(d) == "labels"] or [
            f for f, fmt, _ in found if fmt == "yolo"
        ]
        return Detection("yolo", f"{hit}: YOLO dataset YAML with names", _paths(root, folders, image_dirs))
    if found:
        fmt, sample = found[0][1], found[0][2]
        folders = [f for f, name, _ in found if name == fmt]
        return Detection(fmt, f"{sample}: {fmt} annotation file", _paths(root, folders, image_dirs))
    for f in files:
        if _suffix(f) in (".json", *TABLE_SUFFIXES) and (fmt := _file_format(tree, f)):
            images = {"images": image_dirs[0]} if len(image_dirs) == 1 and fmt != "captions_csv" else {}
            updates = {"annotations": f, **images, **_table_updates(tree, f, fmt)}
            return Detection(fmt, f"{f}: {fmt} annotation file", updates)
    if hit := _images_in(tree, root):
        return Detection("folders", f"{hit}: image files, no annotation files")
    raise ValueError(f"format auto: nothing under {root} looks like {LOOKED_FOR}")


def detect(source: Any) -> Detection:
    """The format of `source`'s files (module docstring); ValueError naming what was looked for."""
    if source.index:
        return Detection("index", f"`index: {source.index}` is set")
    if source.annotations:
        tree = _Tree(source.annotations)
        if tree.isdir(source.annotations):
            found = _folder_annotations(tree, tree.ls(source.annotations)[1])
        else:
            fmt = _file_format(tree, source.annotations)
            found = (fmt, source.annotations) if fmt else None
        if found is None:
            raise ValueError(f"format auto: annotations {source.annotations} match none of {LOOKED_FOR}")
        updates = _table_updates(tree, found[1], found[0])
        return Detection(found[0], f"{found[1]}: {found[0]} annotation file", updates)
    root = source.path or source.images
    if not root:
        raise ValueError("format auto needs `path`, `images` or `annotations`")
    tree = _Tree(root)
    if not tree.isdir(root):
        raise FileNotFoundError(f"folder {root} does not exist")
    return _detect_root(tree, root)


def resolve(name: str, source: Any) -> tuple[Any, Detection]:
    """`source` as the detected format reads it; ValueError when that format has no parser here."""
    from rs_assets.lib.raw_scrape.formats import FORMATS

    found = detect(source)
    if found.format not in FORMATS or found.format == "auto":
        known = ", ".join(f for f in FORMATS if f != "auto")
        raise ValueError(
            f"source {name!r}: format auto recognised {found.format!r} ({found.evidence}), but this "
            f"build has no {found.format!r} parser (formats: {known}); set `format:` explicitly"
        )
    updates = {k: v for k, v in found.updates.items() if k not in source.model_fields_set}
    log.info("source %r: format auto -> %s (%s)", name, found.format, found.evidence)
    return source.model_copy(update={"format": found.format, **updates}), found
