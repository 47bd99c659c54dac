"""WebDataset tar shards (`key.<ext>`, `key.txt`, `key.json`), a same-name Parquet per shard
(img2dataset layout) and `sizes.json` (samples per shard, read by open_clip).

Each shard holds one image extension (`<split>-<ext>-NNNNNN.tar`): HF's `webdataset` builder infers
the columns from the first shard and silently drops members of another extension, so the card declares
one config per extension. A split is cut into at least `min_shards` shards (when it has that many
samples) so every dataloader worker gets one.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import tarfile
from itertools import groupby
from typing import Any

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import SPLITS

META_KEYS = (
    "sample_id",
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
# explicit, so a column that is all null in one shard keeps its type and shards concatenate
META_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("caption", pa.string()),
        ("sample_id", pa.string()),
        ("image_id", pa.string()),
        ("record_id", pa.string()),
        ("cluster_id", pa.string()),
        ("split", pa.string()),
        ("source", pa.string()),
        ("year", pa.int32()),
        ("url", pa.string()),
        ("page_url", pa.string()),
        ("credits", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("sensor", pa.string()),
        ("gsd_m", pa.float64()),
        ("labels", pa.string()),  # JSON list
        ("geo_cell", pa.string()),
    ]
)


def json_meta(sample: dict[str, Any]) -> dict[str, Any]:
    return {k: sample["image_id"] if k == "sample_id" else sample.get(k) for k in META_KEYS}


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


def shard_groups(rows: list[dict[str, Any]], shard_size: int, min_shards: int) -> list[list[dict[str, Any]]]:
    """Samples cut into shards of one image extension each, at least `min(min_shards, len(rows))`
    of them and none over `shard_size`."""
    if not rows:
        return []
    target = max(math.ceil(len(rows) / shard_size), min(min_shards, len(rows)))
    shards = []
    by_ext = sorted(rows, key=lambda s: (s["image_ext"], s["image_id"]))
    for _, group in groupby(by_ext, key=lambda s: s["image_ext"]):
        members = list(group)
        count = math.ceil(target * len(members) / len(rows))  # the group's share, rounded up
        bounds = [len(members) * i // count for i in range(count + 1)]  # near-equal parts
        shards += [members[a:b] for a, b in itertools.pairwise(bounds)]
    return shards


def _meta_row(sample: dict[str, Any]) -> dict[str, Any]:
    meta = json_meta(sample)
    meta["labels"] = json.dumps(meta["labels"]) if meta["labels"] is not None else None
    return {"key": sample["image_id"], "caption": _caption(sample), **meta}


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_tars:
        return
    sizes: dict[str, int] = {}
    for split in SPLITS:
        shards = shard_groups(samples.get(split, []), out.options.shard_size, out.options.min_shards)
        for number, shard in enumerate(shards):
            name = f"webdataset/{split}-{shard[0]['image_ext']}-{number:06d}"
            members = []
            for s in shard:
                members += [
                    (f"{s['image_id']}.{s['image_ext']}", out.lake.get_image(s["image_id"], s["image_ext"])),
                    (f"{s['image_id']}.txt", (_caption(s) or "").encode()),
                    (f"{s['image_id']}.json", json.dumps(json_meta(s), default=str).encode()),
                ]
            out.put(f"{name}.tar", tar_bytes(members), "webdataset", split, len(shard))
            table = pa.Table.from_pylist([_meta_row(s) for s in shard], schema=META_SCHEMA)
            out.put_table(f"{name}.parquet", table, "webdataset_meta", split)
            sizes[f"{name.rsplit('/', 1)[1]}.tar"] = len(shard)
    out.put_json("webdataset/sizes.json", sizes, "webdataset_sizes", None, len(sizes))
