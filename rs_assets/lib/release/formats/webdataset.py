"""WebDataset tar shards (`key.<ext>`, `key.txt`, `key.json`) plus a same-name Parquet per shard
(img2dataset layout); the image files under `images/` are written from the same single read."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import SPLITS

SHARD_SIZE = 1000
META_KEYS = (
    "image_id",
    "record_id",
    "cluster_id",
    "split",
    "source",
    "year",
    "url",
    "page_url",
    "credits",
    "lat",
    "lon",
    "sensor",
    "gsd_m",
    "labels",
    "geo_cell",
)


def json_meta(sample: dict[str, Any]) -> dict[str, Any]:
    return {k: sample.get(k) for k in META_KEYS}


def tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _caption(sample: dict[str, Any]) -> str | None:
    """The preferred caption (captions are sorted by strategy preference)."""
    return sample["captions"][0]["text"] if sample["captions"] else None


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        rows = samples.get(split, [])
        for start in range(0, len(rows), SHARD_SIZE):
            shard = rows[start : start + SHARD_SIZE]
            name = f"webdataset/{split}-{start // SHARD_SIZE:06d}"
            members = []
            for s in shard:
                image = out.lake.get_image(s["image_id"], s["image_ext"])  # read once: file and tar
                out.put(s["image"], image, "image", split, 1)
                members += [
                    (f"{s['image_id']}.{s['image_ext']}", image),
                    (f"{s['image_id']}.txt", (_caption(s) or "").encode()),
                    (f"{s['image_id']}.json", json.dumps(json_meta(s), default=str).encode()),
                ]
            out.put(f"{name}.tar", tar_bytes(members), "webdataset", split, len(shard))
            meta = [
                {
                    "key": s["image_id"],
                    "caption": _caption(s),
                    **{k: json.dumps(v) if isinstance(v, list) else v for k, v in json_meta(s).items()},
                }
                for s in shard
            ]
            out.put_table(f"{name}.parquet", pa.Table.from_pylist(meta), "webdataset_meta", split)
