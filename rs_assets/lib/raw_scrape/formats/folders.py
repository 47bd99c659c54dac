"""`format: folders`: one image per file under class subfolders; the folder path is the label path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.connectors.labeled import image_root, walk_local, walk_s3


def rows(source: Any) -> Iterator[Row]:
    root = image_root(source)
    if root.startswith("s3://"):
        yield from ({"path": rel} for rel in walk_s3(root))
        return
    local = Path(root).expanduser().resolve()
    if not local.is_dir():
        raise FileNotFoundError(f"folder {root} does not exist")
    yield from ({"path": rel} for rel in walk_local(local))
