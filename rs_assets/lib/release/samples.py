"""Which canonical images a release holds, with their split, record metadata, captions and
conversations; and which are held back, with a reason."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.lib.benchmark_splits.splits import assign_split
from rs_assets.lib.captions.strategies import PREFERENCE, preference_rank
from rs_assets.lib.lake import Lake

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
    "no_caption": f"no ok final caption ({', '.join(PREFERENCE)}) for the image",
}
Sample = dict[str, Any]


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
        if cap["strategy"] in PREFERENCE and cap["text"]:
            by_image[cap["image_id"]].append(cap)
    for caps_of in by_image.values():
        caps_of.sort(key=lambda c: (preference_rank(c["strategy"]), c["caption_id"]))
    return by_image


def conversations_by_image(lake: Lake, representative: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """LLaVA records (`id`, `task`, `conversations`) of ok instruction rows, per image, with the box
    spans (`regions`) the exports rewrite per target."""
    table = lake.read_all(
        "instruction_sets",
        columns=["instruction_id", "image_id", "record_id", "task", "conversations", "status", "regions"],
    )
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(_by_representative(_ok(table), representative), key=lambda r: r["instruction_id"]):
        out[row["image_id"]].append(
            {
                "id": row["instruction_id"],
                "task": row["task"],
                "conversations": json.loads(row["conversations"]),
                "regions": json.loads(row["regions"]),
            }
        )
    return out


def release_samples(lake: Lake) -> tuple[dict[str, list[Sample]], list[dict[str, str]]]:
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
    out: dict[str, list[Sample]] = defaultdict(list)
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
