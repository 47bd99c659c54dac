"""`write_release`: every export format over the release's samples, the exclusions and the card."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.code_versions import code_version
from rs_assets.lib.lake import Lake
from rs_assets.lib.release.card import dataset_card
from rs_assets.lib.release.formats import FORMATS
from rs_assets.lib.release.report import report_data, report_html
from rs_assets.lib.release.samples import caption_funnel, release_samples
from rs_assets.lib.release.versions import (
    RELEASE_FILES,
    diff,
    diff_summary,
    fingerprint,
    previous_version,
    record_version,
    resolve_version,
    sample_index,
)
from rs_assets.lib.stages import from_rows

ImageCopies = Literal["folder_and_tars", "folder", "tars"]


@dataclass(frozen=True)
class ReleaseOptions:
    """How a release lays out its files (DESIGN 11).

    `images`: where image bytes go: `images/` (read by the path-based formats: LLaVA, open_clip,
    Karpathy, HF Parquet), inside the WebDataset tars, or both. `shard_size` caps samples per tar;
    `min_shards` is the fewest shards a split is cut into (when it has that many samples), since
    open_clip's WebDataset loader needs at least one shard per worker.
    """

    images: ImageCopies = "folder_and_tars"
    shard_size: int = 1000
    min_shards: int = 4

    @property
    def image_folder(self) -> bool:
        return self.images in ("folder_and_tars", "folder")

    @property
    def image_tars(self) -> bool:
        return self.images in ("folder_and_tars", "tars")


class ReleaseWriter:
    """Writes files under `release/<version>/` and records each in the manifest."""

    def __init__(
        self,
        lake: Lake,
        version: str,
        options: ReleaseOptions | None = None,
        licenses: dict[str, str | None] | None = None,
    ) -> None:
        self.lake, self.version, self.manifest = lake, version, []
        self.options = options or ReleaseOptions()
        self.licenses = licenses or {}

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

    def put_json(self, path: str, value: object, fmt: str, split: str | None, rows: int) -> None:
        self.put(path, json.dumps(value, ensure_ascii=False, indent=1).encode(), fmt, split, rows)

    def put_table(self, path: str, table: pa.Table, fmt: str, split: str | None) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf)
        self.put(path, buf.getvalue(), fmt, split, table.num_rows)

    def remove_stale(self) -> None:
        """Delete files a previous release of the same version left that this one did not write."""
        written = {self.key(m["path"]) for m in self.manifest}
        for key in self.lake.list(f"release/{self.version}/"):
            if key not in written:
                self.lake.delete(key)


def _write_images(out: ReleaseWriter, samples: dict[str, list[dict]]) -> None:
    """`images/<image_id>.<ext>`: the original bytes the path-based formats point at."""
    for split, rows in samples.items():
        for s in rows:
            out.put(s["image"], out.lake.get_image(s["image_id"], s["image_ext"]), "image", split, 1)


def _shards(manifest: list[dict]) -> dict[str, list[str]]:
    """The splits holding WebDataset shards, per image extension (`<split>-<ext>-NNNNNN.tar`)."""
    found: dict[str, set[str]] = {}
    for m in manifest:
        if m["format"] == "webdataset":
            split, ext, _ = m["path"].rsplit("/", 1)[1].split("-")
            found.setdefault(ext, set()).add(split)
    return {ext: [s for s in SPLITS if s in splits] for ext, splits in sorted(found.items())}


def _previous_index(lake: Lake, before: str | None) -> pa.Table | None:
    key = f"release/{before}/{RELEASE_FILES['samples'][0]}"
    return lake.read_table(key) if before and lake.has(key) else None


def write_release(
    lake: Lake,
    version: str = "",
    options: ReleaseOptions | None = None,
    licenses: dict[str, str | None] | None = None,
    benchmarks: Collection[str] = (),
) -> pa.Table:
    """Every export for every split, the exclusions, the sample index, the diff to the previous version
    and the card, under an immutable version (`version`, or the next `vNNNN` when the content changed;
    see `versions`); then `latest` points at it. Returns the manifest table. `licenses` maps each source
    to its license (None: unknown), for the card and the Croissant. `benchmarks`: names of the
    `role: benchmark` sources (their clusters stay out of train/val)."""
    samples, excluded = release_samples(lake, benchmarks)
    options = options or ReleaseOptions()
    index = sample_index(samples)
    fp = fingerprint(
        index, excluded, [options.images, options.shard_size, options.min_shards, code_version("release")]
    )
    version = resolve_version(lake, version, fp)
    before = previous_version(lake, version)
    changes = diff(index, _previous_index(lake, before), version, before)
    out = ReleaseWriter(lake, version, options, licenses)
    if out.options.image_folder:
        _write_images(out, samples)
    for write in FORMATS.values():
        write(out, samples)
    stats = {
        "version": version,
        "splits": {k: len(v) for k, v in samples.items()},
        "split_units": {
            k: len({s.get("geo_cell") or s["cluster_id"] for s in v}) for k, v in samples.items()
        },
        "excluded": dict(Counter(e["reason"] for e in excluded)),
        "benchmark_overlap": dict(sorted(Counter(b for e in excluded for b in e["benchmarks"]).items())),
        "benchmarks": sorted(benchmarks),
        "funnel": caption_funnel(lake, samples),
        "stale_partitions": sum(s["stale_partition"] for v in samples.values() for s in v),
        "captions": sum(len(s["captions"]) for v in samples.values() for s in v),
        "conversations": sum(len(s["conversations"]) for v in samples.values() for s in v),
        "images": out.options.images,
        "shards": _shards(out.manifest),
        "previous_version": before,
        "diff": diff_summary(changes),
        "licenses": {
            s: (licenses or {}).get(s) for s in sorted({x["source"] for v in samples.values() for x in v})
        },
    }
    out.put_table(
        "excluded.parquet",
        pa.Table.from_pylist(
            excluded,
            schema=pa.schema(
                [("image_id", pa.string()), ("reason", pa.string()), ("benchmarks", pa.list_(pa.string()))]
            ),
        ),
        "exclusions",
        None,
    )
    out.put_table(RELEASE_FILES["samples"][0], index, "sample_index", None)
    out.put_table(RELEASE_FILES["diff"][0], changes, "release_diff", None)
    out.put("README.md", dataset_card(stats).encode(), "dataset_card", None, 0)
    report = report_html(report_data(lake, version, samples, excluded))
    out.put("report.html", report.encode(), "dataset_report", None, sum(stats["splits"].values()))
    out.remove_stale()
    record_version(lake, version, fp)
    return from_rows("release", out.manifest)


__all__ = ["ReleaseOptions", "ReleaseWriter", "write_release"]
