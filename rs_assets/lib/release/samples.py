"""Which canonical images a release holds, with their split, record metadata, captions and
conversations; and which are held back, with a reason."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection
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
    "no_caption": f"no selected final caption ({', '.join(PREFERENCE)}) for the image (caption_scores)",
    "benchmark_overlap": "train/val image whose cluster (exact or near duplicate) holds an image of a "
    "`role: benchmark` source",
}
TRAINING_SPLITS = ("train", "val")
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


def caption_decisions(lake: Lake) -> dict[str, tuple[int | None, str]]:
    """caption_id -> (rank, decision) from caption_scores' `overall` rows (the selection)."""
    table = lake.read_all("caption_scores", columns=["caption_id", "signal", "rank", "decision"])
    if table is None:
        return {}
    rows = table.filter(pc.equal(table["signal"], "overall")).to_pylist()
    return {r["caption_id"]: (r["rank"], r["decision"]) for r in rows}


def _candidates(caps: pa.Table | None, representative: dict[str, str]) -> list[dict[str, Any]]:
    """Final ok captions with text of each image's current representative (intermediate rows excluded)."""
    return [c for c in _by_representative(caps, representative) if c["strategy"] in PREFERENCE and c["text"]]


def _training_captions(
    caps: pa.Table | None, representative: dict[str, str], decisions: dict[str, tuple[int | None, str]]
) -> dict[str, list[dict[str, Any]]]:
    """The selected captions per image (caption_scores decided), best rank first; a caption never scored
    is not exported (its partition has not run caption_scores)."""
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in _candidates(caps, representative):
        if decisions.get(cap["caption_id"], (None, "not_scored"))[1] == "selected":
            by_image[cap["image_id"]].append(cap)
    for caps_of in by_image.values():
        caps_of.sort(
            key=lambda c: (decisions[c["caption_id"]][0], preference_rank(c["strategy"]), c["caption_id"])
        )
    return by_image


def caption_funnel(lake: Lake, samples: dict[str, list[Sample]]) -> dict[str, Any]:
    """Candidates -> exported for the card: every final caption of a canonical image's representative,
    and why each one not exported was left out (its selection decision, `not_scored`, or
    `image_held_back` when the caption was selected but its image is excluded)."""
    clusters = lake.read_all("image_clusters", columns=["image_id", "record_id", "is_canonical"])
    if clusters is None:
        return {"candidates": 0, "exported": 0, "not_exported": {}}
    canonical = clusters.filter(pc.field("is_canonical"))
    representative = dict(
        zip(canonical["image_id"].to_pylist(), canonical["record_id"].to_pylist(), strict=True)
    )
    decisions = caption_decisions(lake)
    exported = {c["caption_id"] for rows in samples.values() for s in rows for c in s["captions"]}
    candidates = _candidates(_ok(lake.read_all("captions", columns=CAPTION_COLUMNS)), representative)
    reasons = Counter()
    for cap in candidates:
        if cap["caption_id"] in exported:
            continue
        decision = decisions.get(cap["caption_id"], (None, "not_scored"))[1]
        reasons["image_held_back" if decision == "selected" else decision] += 1
    return {
        "candidates": len(candidates),
        "exported": len(exported),
        "not_exported": dict(sorted(reasons.items())),
    }


def benchmark_clusters(lake: Lake, clusters: pa.Table, benchmarks: Collection[str]) -> dict[str, list[str]]:
    """cluster_id -> the benchmark sources with an image in it (exact duplicates share an image_id,
    near duplicates a cluster)."""
    if not benchmarks:
        return {}
    raw = lake.read_all("raw_scrape", columns=["image_id", "source"])
    if raw is None:
        return {}
    of_image: dict[str, set[str]] = defaultdict(set)
    for row in raw.to_pylist():
        if row["source"] in benchmarks and row["image_id"]:
            of_image[row["image_id"]].add(row["source"])
    out: dict[str, set[str]] = defaultdict(set)
    for image, cluster in zip(
        clusters["image_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True
    ):
        if image in of_image:
            out[cluster] |= of_image[image]
    return {c: sorted(s) for c, s in out.items()}


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


def release_samples(
    lake: Lake, benchmarks: Collection[str] = ()
) -> tuple[dict[str, list[Sample]], list[dict[str, Any]]]:
    """Canonical images by split, with record metadata and selected captions; and every canonical image
    held back, with its reason (and, for `benchmark_overlap`, the benchmark sources it overlaps).
    `benchmarks`: the names of the `role: benchmark` sources.

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
    by_image = _training_captions(caps, representative, caption_decisions(lake))
    protected = benchmark_clusters(lake, clusters, benchmarks)
    conversations = conversations_by_image(lake, representative)
    processed = dict(zip(splits["image_id"].to_pylist(), splits["split"].to_pylist(), strict=True))
    records = {r["record_id"]: r for r in raw.to_pylist()}
    out: dict[str, list[Sample]] = defaultdict(list)
    excluded = []
    for row in clusters.filter(pc.field("is_canonical")).sort_by("image_id").to_pylist():
        image = row["image_id"]
        split = assign_split(row["cluster_id"], row["geo_cell"])
        overlap = protected.get(row["cluster_id"]) if split in TRAINING_SPLITS else None
        reason = rejected.get(image) or (None if image in processed else "not_processed")
        reason = reason or ("benchmark_overlap" if overlap else None)
        reason = reason or (None if by_image.get(image) else "no_caption")
        if reason:
            excluded.append({"image_id": image, "reason": reason, "benchmarks": overlap or []})
            continue
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
