"""`format: folders`: one image per file under class subfolders; the folder path is the label path.

Flat folders (UCM, AID: `harbor/x.jpg`) label the image with the folder name. Nested folders (MillionAID:
`agriculture_land/grassland/meadow/x.jpg`) give the whole hierarchy, leaf class last, and the path in
`extra.label_path`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.connectors.labeled import image_root, walk_local, walk_s3


def folder_row(rel: str) -> Row:
    """The row of one file: a nested path carries its hierarchy; a flat one is labeled from its folder
    by `labeled_item`, as before nested folders were read."""
    folders = rel.split("/")[:-1]
    if len(folders) < 2:
        return {"path": rel}
    return {"path": rel, "labels": folders, "extra": {"label_path": "/".join(folders)}}


def rows(source: Any) -> Iterator[Row]:
    root = image_root(source)
    if root.startswith("s3://"):
        yield from (folder_row(rel) for rel in walk_s3(root))
        return
    local = Path(root).expanduser().resolve()
    if not local.is_dir():
        raise FileNotFoundError(f"folder {root} does not exist")
    yield from (folder_row(rel) for rel in walk_local(local))
