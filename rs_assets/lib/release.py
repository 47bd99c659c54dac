"""Release bundles in the formats training code loads (DESIGN 11), plus the dataset card.

Only canonical images with a split are released; every file is listed in a manifest table.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tarfile
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rs_assets.lib.instructions import CAPTION_PREFERENCE
from rs_assets.lib.lake import Lake
from rs_assets.lib.records import DROP_REASONS
from rs_assets.lib.splits import SPLITS, assign_split
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
CAPTION_COLUMNS = ["caption_id", "image_id", "record_id", "strategy", "text", "status", "facts"]
RECORD_COLUMNS = (
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
)
EXCLUSION_REASONS = {
    "vlm_not_remote_sensing": "GAIA's vision call answered is_remote_sensing = false",
    "vlm_chart": "GAIA's vision call answered is_chart = true",
    "not_processed": "canonical image whose partition has not run benchmark_splits yet",
    "no_caption": "no ok final caption (meta, gaia or mpgi) for the image",
}
TOKEN = re.compile(r"[a-z0-9]+")


def _ok(table: pa.Table | None) -> pa.Table | None:
    return None if table is None else table.filter(pc.equal(table["status"], "ok"))


def vlm_rejected(caps: pa.Table | None) -> dict[str, str]:
    """Images GAIA's vision call judged not remote sensing, or a chart (its booleans as pool scores),
    with the exclusion reason."""
    if caps is None or "facts" not in caps.column_names:
        return {}
    rejected = {}
    for row in caps.filter(pc.equal(caps["strategy"], "gaia")).select(["image_id", "facts"]).to_pylist():
        facts = json.loads(row["facts"]) if row["facts"] else {}
        if facts.get("is_remote_sensing") is False:
            rejected[row["image_id"]] = "vlm_not_remote_sensing"
        elif facts.get("is_chart") is True:
            rejected.setdefault(row["image_id"], "vlm_chart")
    return rejected


def _by_representative(table: pa.Table | None, representative: dict[str, str]) -> list[dict[str, Any]]:
    """Rows written for an image by its CURRENT representative record only: when a later partition
    takes an image over, the earlier partition's rows for it are superseded, not exported twice."""
    if table is None:
        return []
    return [r for r in table.to_pylist() if representative.get(r["image_id"]) == r["record_id"]]


def _training_captions(
    caps: pa.Table | None, representative: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Final ok captions per image, preferred strategy first (intermediate perspectives excluded)."""
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in _by_representative(caps, representative):
        if cap["strategy"] in CAPTION_PREFERENCE and cap["text"]:
            by_image[cap["image_id"]].append(cap)
    for caps_of in by_image.values():
        caps_of.sort(key=lambda c: (CAPTION_PREFERENCE.index(c["strategy"]), c["caption_id"]))
    return by_image


def conversations_by_image(lake: Lake, representative: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """LLaVA records (`id`, `task`, `conversations`) of ok instruction rows, per image."""
    table = lake.read_all(
        "instruction_sets",
        columns=["instruction_id", "image_id", "record_id", "task", "conversations", "status"],
    )
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(_by_representative(_ok(table), representative), key=lambda r: r["instruction_id"]):
        out[row["image_id"]].append(
            {
                "id": row["instruction_id"],
                "task": row["task"],
                "conversations": json.loads(row["conversations"]),
            }
        )
    return out


def release_samples(lake: Lake) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, str]]]:
    """Canonical images by split, with record metadata and captions; and every canonical image held
    back, with its reason.

    Canonical status, cluster and split come from the CURRENT image_clusters (a partition built
    later may have replaced a canonical image or merged clusters), so a release never exports two
    members of one cluster nor lets a cluster straddle splits, whatever the partitions' ages.
    """
    clusters, raw = lake.read_all("image_clusters"), lake.read_all("raw_scrape", columns=list(RECORD_COLUMNS))
    splits = lake.read_all("benchmark_splits", columns=["image_id", "split"])
    if clusters is None or raw is None or splits is None:
        return {}, []
    representative = dict(
        zip(clusters["image_id"].to_pylist(), clusters["record_id"].to_pylist(), strict=True)
    )
    caps = _ok(lake.read_all("captions", columns=CAPTION_COLUMNS))
    rejected = vlm_rejected(caps)
    by_image = _training_captions(caps, representative)
    conversations = conversations_by_image(lake, representative)
    processed = dict(zip(splits["image_id"].to_pylist(), splits["split"].to_pylist(), strict=True))
    records = {r["record_id"]: r for r in raw.to_pylist()}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    excluded = []
    for row in clusters.filter(pc.field("is_canonical")).sort_by("image_id").to_pylist():
        image = row["image_id"]
        reason = rejected.get(image) or (None if image in processed else "not_processed")
        reason = reason or (None if by_image.get(image) else "no_caption")
        if reason:
            excluded.append({"image_id": image, "reason": reason})
            continue
        split = assign_split(row["cluster_id"], row["geo_cell"])
        rec = records[row["record_id"]]
        out[split].append(
            {
                **rec,
                **row,
                "split": split,
                "stale_partition": processed[image] != split,
                "image": f"images/{image}.{rec['image_ext']}",
                "captions": by_image[image],
                "conversations": conversations[image],
            }
        )
    return dict(out), excluded


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

    def remove_stale(self) -> None:
        """Delete files a previous release of the same version left that this one did not write."""
        written = {self.key(m["path"]) for m in self.manifest}
        for key in self.lake.list(f"release/{self.version}/"):
            if key not in written:
                self.lake.delete(key)

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


def write_release(lake: Lake, version: str, card: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    """Every export for every split, the exclusions and the card; returns the manifest rows."""
    samples, excluded = release_samples(lake)
    out = ReleaseWriter(lake, version)
    karpathy, sent_id = [], 0
    for split in SPLITS:
        rows = samples.get(split, [])
        llava = [dict(c, image=s["image"]) for s in rows for c in s["conversations"]]
        out.put(
            f"llava/{split}.json",
            json.dumps(llava, ensure_ascii=False, indent=1).encode(),
            "llava",
            split,
            len(llava),
        )
        pairs = [(s["image"], c["text"]) for s in rows for c in s["captions"]]
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
        for start in range(0, len(rows), SHARD_SIZE):
            shard = rows[start : start + SHARD_SIZE]
            name = f"webdataset/{split}-{start // SHARD_SIZE:06d}"
            members = []
            for s in shard:
                image = lake.get_image(s["image_id"], s["image_ext"])  # read once: the file and the tar
                out.put(s["image"], image, "image", split, 1)
                members += [
                    (f"{s['image_id']}.{s['image_ext']}", image),
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
        "excluded": dict(Counter(e["reason"] for e in excluded)),
        "stale_partitions": sum(s["stale_partition"] for v in samples.values() for s in v),
        "captions": sum(len(s["captions"]) for v in samples.values() for s in v),
        "conversations": sum(len(s["conversations"]) for v in samples.values() for s in v),
    }
    out.put_table(
        "excluded.parquet",
        pa.Table.from_pylist(
            excluded, schema=pa.schema([("image_id", pa.string()), ("reason", pa.string())])
        ),
        "exclusions",
        None,
    )
    out.put("README.md", card(stats).encode(), "dataset_card", None, 0)
    out.remove_stale()
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
Canonical images held back, by reason (listed in `excluded.parquet`): {stats["excluded"] or "none"}.
Images whose partition predates a change of its cluster (re-materialise them to refresh their
captions): {stats["stale_partitions"]}.

## Files
- `images/<image_id>.<ext>`: original bytes; `image_id` is the sha256 of the file.
- `llava/<split>.json`: LLaVA conversations `{{id, image, conversations: [{{from, value}}]}}`.
  Boxes are integers on a **0-1000 scale** `[x1, y1, x2, y2]` relative to image width/height.
- `open_clip/<split>.csv`: `filepath,caption`, one row per final caption (`meta`, `gaia`, `mpgi`);
  `filepath` is relative to this folder (run training from here, or prefix it).
- `excluded.parquet`: every canonical image held back, with its reason (table below).
- `hf/<split>.parquet`: `datasets.load_dataset("parquet", data_files=...)`; `strategy` says which
  captioner wrote the text (`meta` RS5M templates, `gaia`, `mpgi`).
- `webdataset/<split>-NNNNNN.tar` (+ same-name Parquet): `key.<ext>`, `key.txt` (the preferred
  caption: `mpgi`, else `gaia`, else `meta`), `key.json` (metadata).
- `karpathy/dataset_rs.json`: RSICD/UCM-style `images[].filename/split/sentences[].raw/tokens`.

## Splits
70/20/10 by a hash of the cluster's 0.25-degree geo cell (else its cluster id): near-duplicates and
neighbouring scenes never straddle splits, and new data moves an image only when it joins
another cluster. Splits are recomputed from the current clusters at release time.

## Columns of the source tables
| table | columns |
|---|---|
{columns}

## Release exclusion reasons
| code | meaning |
|---|---|
"""
        + "\n".join(f"| `{k}` | {v} |" for k, v in EXCLUSION_REASONS.items())
        + f"""

## Pool drop reasons
| code | meaning |
|---|---|
{reasons}
"""
    )


def manifest_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MANIFEST)
