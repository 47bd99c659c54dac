"""What the annotation-driven formats share: finding their files, the dataset's split, and turning
annotation entries into one row per image, checked against one listing of the image folder.

Both directions are recorded, nothing is read that no annotation names:
- an entry whose image is not in the folder: a `missing_image` row keeping what the entry says;
- an image file (by suffix: annotation files, pickles and READMEs in the same folder are no images)
  that no entry names: a `no_annotation` row;
- a path climbing out of the image folder (`..`, or absolute elsewhere) `outside_root`, a NUL byte
  `invalid_path`; absolute paths inside the folder (open_clip CSVs often hold them) become relative.
Entries naming the same image (one CSV row per caption, a file listed under two splits) become one
row: captions and QA merged without repeats, `extra.split` the first split listed, `extra.splits` all
of them when there are several, `extra.entries` how many entries were merged.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import Row, expand
from rs_assets.lib.raw_scrape.connectors.labeled import Outcome, path_refusal, walk_local, walk_s3

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".jp2"})
_SPLIT = re.compile(r"(?<![a-z0-9])(train|trainval|val|valid|validation|test)(?![a-z0-9])")


def dataset_folder(source: Any) -> str:
    """The folder relative annotation paths start from: `path`, else `images`."""
    return source.path or source.images or ""


def local_path(path: str) -> str:
    """`~` expanded (fsspec does not), `s3://` URLs as they are."""
    return path if path.startswith("s3://") else str(Path(path).expanduser())


def annotation_files(source: Any, default: str) -> list[str]:
    """The annotation files: `annotations` (a file, a glob, or a folder searched for `default`), else
    `default` in the dataset folder. A glob matching nothing raises FileNotFoundError naming it."""
    given = source.annotations
    if given and not given.startswith(("s3://", "/", "~")):
        given = f"{dataset_folder(source).rstrip('/')}/{given}"
    target = local_path(given or dataset_folder(source))
    pattern = f"{target.rstrip('/')}/{default}" if not given or filesystem(target).isdir(target) else target
    files = expand(pattern)
    if not files:
        raise FileNotFoundError(f"no annotation file matches {pattern}")
    return files


def split_from_name(name: str) -> str | None:
    """The split a file name states (`SkyScript_val_5K.csv` -> `val`), else None."""
    found = _SPLIT.search(PurePosixPath(name).name.lower())
    return found.group(1) if found else None


def image_listing(root: str, under: str = "", suffixes: frozenset[str] = IMAGE_SUFFIXES) -> list[str]:
    """Image files (or files with other `suffixes`: annotation files) under `root/under` by suffix,
    relative to `root`, sorted, hidden ones skipped."""
    base = f"{root.rstrip('/')}/{under}" if under else root
    if base.startswith("s3://"):
        found: Iterable[str] = walk_s3(base)
    else:
        local = Path(base).expanduser().resolve()
        if not local.is_dir():
            raise FileNotFoundError(f"folder {base} does not exist")
        found = walk_local(local)
    prefix = f"{under.strip('/')}/" if under else ""
    return [prefix + rel for rel in found if PurePosixPath(rel).suffix.lower() in suffixes]


def relative(root: str, path: str) -> tuple[str, Outcome | None]:
    """An annotation's image path relative to the image folder `root`, or why it is refused."""
    if "\0" in path:
        return path, ("invalid_path", "path contains a NUL byte", None)
    if path.startswith(("s3://", "/")):
        bases = {root} if root.startswith("s3://") else {root, str(Path(root).expanduser().resolve())}
        clean = path if path.startswith("s3://") else posixpath.normpath(path)
        base = next((b.rstrip("/") + "/" for b in bases if clean.startswith(b.rstrip("/") + "/")), None)
        if base is None:
            return path, ("outside_root", f"{path!r} is outside the image folder {root}", None)
        path = clean[len(base) :]
    refused = path_refusal(path)
    return (path, refused) if refused else (posixpath.normpath(path), None)


@dataclass
class _Entry:
    cells: dict[str, Any]
    outcome: Outcome | None
    captions: list[str] = field(default_factory=list)
    qa: list[dict[str, Any]] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    count: int = 0


class Annotations:
    """Annotation entries by image, in the order first seen; `rows` checks them against the listing."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._entries: dict[str, _Entry] = {}

    def add(
        self,
        path: str,
        *,
        split: str | None = None,
        captions: Iterable[str] = (),
        qa: Iterable[dict[str, Any]] = (),
        cells: dict[str, Any] | None = None,
        errors: Iterable[str] = (),
    ) -> None:
        """Merge one entry: `cells` (the first entry's) become row fields (lat, labels...) or `extra`;
        `errors` are problems inside the entry (`file:line: reason`), kept in `extra`."""
        rel, outcome = relative(self.root, path)
        entry = self._entries.get(rel)
        if entry is None:
            entry = self._entries[rel] = _Entry(dict(cells or {}), outcome)
        entry.captions += [c for c in dict.fromkeys(captions) if c not in entry.captions]
        if entry.count:  # a repeated entry (another split, another row) adds only what is new
            seen = {_qa_key(q) for q in entry.qa}
            entry.qa += [q for q in qa if _qa_key(q) not in seen]
        else:
            entry.qa = list(qa)
        if split and split not in entry.splits:
            entry.splits.append(split)
        entry.errors += errors
        entry.count += 1

    def rows(self, listing: Iterable[str]) -> Iterator[Row]:
        """One row per annotated image (`missing_image` when the listing lacks it), then one
        `no_annotation` row per listed image no entry names."""
        listed = list(listing)
        present = set(listed)
        for rel, entry in self._entries.items():
            outcome = entry.outcome or (
                None if rel in present else ("missing_image", f"no file {rel} in {self.root}", None)
            )
            yield _row(rel, entry, outcome)
        for rel in listed:
            if rel not in self._entries:
                reason = "no annotation entry names this image"
                yield {"path": rel, "labels": [], "outcome": ("no_annotation", reason, None)}


def _qa_key(qa: dict[str, Any]) -> tuple[Any, ...]:
    return qa.get("question"), qa.get("answer"), qa.get("type")


def _row(rel: str, entry: _Entry, outcome: Outcome | None) -> Row:
    extra: dict[str, Any] = {}
    if entry.splits:
        extra["split"] = entry.splits[0]
    if len(entry.splits) > 1:
        extra["splits"] = entry.splits
    if entry.count > 1:
        extra["entries"] = entry.count
    if entry.errors:
        extra["annotation_errors"] = entry.errors
    cells = dict(entry.cells)
    if "extra" in cells:  # a table column named `extra` is data like any other
        extra["extra"] = cells.pop("extra")
    row: Row = {"labels": [], **cells, "path": rel, "ref_captions": entry.captions, "ref_qa": entry.qa}
    row["extra"] = extra
    if outcome is not None:
        row["outcome"] = outcome
    return row
