"""Release bundles in the formats training code loads (DESIGN 11), plus the dataset card.

Only canonical images with a split are released; every file is listed in a manifest table.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rs_assets.lib.expectations import SPLITS
from rs_assets.lib.lake import Lake
from rs_assets.lib.records import DROP_REASONS
from rs_assets.lib.tables import SCHEMAS

MANIFEST = pa.schema(
    [
        ("version", pa.string()),
        ("path", pa.string()),
        ("format", pa.string()),
        ("split", pa.string()),
        ("rows", pa.int64()),
        ("bytes", pa.int64()),
    ]
)
SHARD_SIZE = 1000
TOKEN = re.compile(r"[a-z0-9]+")


def _ok(table: pa.Table | None) -> pa.Table | None:
    return None if table is None else table.filter(pc.equal(table["status"], "ok"))


def release_samples(lake: Lake) -> dict[str, list[dict[str, Any]]]:
    """Canonical images with split, record metadata and ok captions, by split."""
    splits, raw = lake.read_all("benchmark_splits"), lake.read_all("raw_scrape")
    if splits is None or raw is None:
        return {}
    caps = _ok(lake.read_all("captions"))
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in (
        [] if caps is None else caps.select(["caption_id", "image_id", "strategy", "text"]).to_pylist()
    ):
        by_image[cap["image_id"]].append(cap)
    records = {
        r["record_id"]: r
        for r in raw.select(
            [
                "record_id",
                "image_ext",
                "url",
                "page_url",
                "credits",
                "lat",
                "lon",
                "captured_at",
                "sensor",
                "gsd_m",
                "labels",
                "title",
            ]
        ).to_pylist()
    }
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in splits.filter(pc.field("is_canonical")).sort_by("image_id").to_pylist():
        rec = records[row["record_id"]]
        out[row["split"]].append(
            {
                **rec,
                **row,
                "image": f"images/{row['image_id']}.{rec['image_ext']}",
                "captions": sorted(by_image[row["image_id"]], key=lambda c: c["caption_id"]),
            }
        )
    return dict(out)


def _json_meta(sample: dict[str, Any]) -> dict[str, Any]:
    keys = (
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
    return {k: sample.get(k) for k in keys}


class ReleaseWriter:
    """Writes files under `release/<version>/` and records each in the manifest."""

    def __init__(self, lake: Lake, version: str) -> None:
        self.lake, self.version, self.manifest = lake, version, []

    def key(self, path: str) -> str:
        return f"release/{self.version}/{path}"

    def put(self, path: str, data: bytes, fmt: str, split: str | None, rows: int) -> None:
        self.lake.write_bytes(self.key(path), data)
        self.manifest.append(
            {
                "version": self.version,
                "path": path,
                "format": fmt,
                "split": split,
                "rows": rows,
                "bytes": len(data),
            }
        )

    def put_table(self, path: str, table: pa.Table, fmt: str, split: str | None) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        self.put(path, buf.getvalue(), fmt, split, table.num_rows)


def _csv(rows: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["filepath", "caption"])
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _tar(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_release(
    lake: Lake,
    version: str,
    conversations: dict[str, list[dict[str, Any]]],
    card: Callable[[dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """Every export for every split; returns the manifest rows. `conversations`: image_id -> LLaVA rows."""
    samples = release_samples(lake)
    out = ReleaseWriter(lake, version)
    karpathy, sent_id = [], 0
    for split in SPLITS:
        rows = samples.get(split, [])
        for s in rows:
            out.put(s["image"], lake.get_image(s["image_id"], s["image_ext"]), "image", split, 1)
        llava = [dict(c, image=s["image"]) for s in rows for c in conversations.get(s["image_id"], [])]
        out.put(
            f"llava/{split}.json",
            json.dumps(llava, ensure_ascii=False, indent=1).encode(),
            "llava",
            split,
            len(llava),
        )
        pairs = [(lake.uri(out.key(s["image"])), c["text"]) for s in rows for c in s["captions"]]
        out.put(f"open_clip/{split}.csv", _csv(pairs), "open_clip_csv", split, len(pairs))
        hf = pa.Table.from_pylist(
            [
                {
                    "image": s["image"],
                    "image_id": s["image_id"],
                    "caption_id": c["caption_id"],
                    "strategy": c["strategy"],
                    "caption": c["text"],
                    "split": split,
                    "source": s["source"],
                    "year": s["year"],
                }
                for s in rows
                for c in s["captions"]
            ],
            schema=pa.schema(
                [
                    ("image", pa.string()),
                    ("image_id", pa.string()),
                    ("caption_id", pa.string()),
                    ("strategy", pa.string()),
                    ("caption", pa.string()),
                    ("split", pa.string()),
                    ("source", pa.string()),
                    ("year", pa.int32()),
                ]
            ),
        )
        out.put_table(f"hf/{split}.parquet", hf, "hf_parquet", split)
        for start in range(0, max(len(rows), 1), SHARD_SIZE):
            shard = rows[start : start + SHARD_SIZE]
            if not shard:
                break
            name = f"webdataset/{split}-{start // SHARD_SIZE:06d}"
            members = []
            for s in shard:
                members += [
                    (f"{s['image_id']}.{s['image_ext']}", lake.get_image(s["image_id"], s["image_ext"])),
                    (f"{s['image_id']}.txt", (s["captions"][0]["text"] if s["captions"] else "").encode()),
                    (f"{s['image_id']}.json", json.dumps(_json_meta(s), default=str).encode()),
                ]
            out.put(f"{name}.tar", _tar(members), "webdataset", split, len(shard))
            out.put_table(
                f"{name}.parquet",
                pa.Table.from_pylist(
                    [
                        {
                            "key": s["image_id"],
                            "caption": s["captions"][0]["text"] if s["captions"] else None,
                            **{
                                k: json.dumps(v) if isinstance(v, list) else v
                                for k, v in _json_meta(s).items()
                            },
                        }
                        for s in shard
                    ]
                ),
                "webdataset_meta",
                split,
            )
        for s in rows:
            sents = [
                {
                    "raw": c["text"],
                    "tokens": TOKEN.findall(c["text"].lower()),
                    "sentid": sent_id + i,
                    "imgid": len(karpathy),
                }
                for i, c in enumerate(s["captions"])
            ]
            karpathy.append(
                {
                    "filename": s["image"].split("/", 1)[1],
                    "filepath": "images",
                    "imgid": len(karpathy),
                    "split": split,
                    "sentences": sents,
                    "sentids": [x["sentid"] for x in sents],
                }
            )
            sent_id += len(sents)
    out.put(
        "karpathy/dataset_rs.json",
        json.dumps({"dataset": "rs_assets", "images": karpathy}).encode(),
        "karpathy_json",
        None,
        len(karpathy),
    )
    stats = {
        "version": version,
        "splits": {k: len(v) for k, v in samples.items()},
        "captions": sum(len(s["captions"]) for v in samples.values() for s in v),
        "conversations": sum(len(conversations.get(s["image_id"], [])) for v in samples.values() for s in v),
    }
    out.put("README.md", card(stats).encode(), "dataset_card", None, 0)
    return out.manifest


def dataset_card(stats: dict[str, Any]) -> str:
    """The card: what is inside, how it was made, every column documented."""
    columns = "\n".join(f"| {t} | {', '.join(f.name for f in s)} |" for t, s in SCHEMAS.items())
    reasons = "\n".join(f"| `{k}` | {v} |" for k, v in DROP_REASONS.items())
    return (
        f"""# rs_assets release `{stats["version"]}`

Remote-sensing image-text data built by the rs_assets Dagster pipeline (GAIA / RS5M / HQRS-IT /
RS-GPT4V methods). Every file is rebuilt by one command and every row names its lineage.

| split | images |
|---|---|
"""
        + "\n".join(f"| {k} | {stats['splits'].get(k, 0)} |" for k in SPLITS)
        + f"""

Captions: {stats["captions"]}. Conversations: {stats["conversations"]}.

## Files
- `images/<image_id>.<ext>`: original bytes; `image_id` is the sha256 of the file.
- `llava/<split>.json`: LLaVA conversations `{{id, image, conversations: [{{from, value}}]}}`.
  Boxes are integers on a **0-1000 scale** `[x1, y1, x2, y2]` relative to image width/height.
- `open_clip/<split>.csv`: `filepath,caption`, one row per caption (all strategies).
- `hf/<split>.parquet`: `datasets.load_dataset("parquet", data_files=...)`; `strategy` says which
  captioner wrote the text (`meta` RS5M templates, `gaia`, `mpgi`, `mpgi_perspective`).
- `webdataset/<split>-NNNNNN.tar` (+ same-name Parquet): `key.<ext>`, `key.txt`, `key.json`.
- `karpathy/dataset_rs.json`: RSICD/UCM-style `images[].filename/split/sentences[].raw/tokens`.

## Splits
70/20/10 by a hash of the cluster's 0.25-degree geo cell (else its cluster id): near-duplicates and
neighbouring scenes never straddle splits, and new data never moves existing images.

## Columns of the source tables
| table | columns |
|---|---|
{columns}

## Pool drop reasons
| code | meaning |
|---|---|
{reasons}
"""
    )


def manifest_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MANIFEST)
