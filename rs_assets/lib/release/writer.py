"""`write_release`: every export format over the release's samples, the exclusions and the card."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Collection

import pyarrow as pa
import pyarrow.parquet as pq

from rs_assets.lib.lake import Lake
from rs_assets.lib.release.card import dataset_card
from rs_assets.lib.release.formats import FORMATS
from rs_assets.lib.release.samples import caption_funnel, release_samples
from rs_assets.lib.stages import from_rows


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

    def remove_stale(self) -> None:
        """Delete files a previous release of the same version left that this one did not write."""
        written = {self.key(m["path"]) for m in self.manifest}
        for key in self.lake.list(f"release/{self.version}/"):
            if key not in written:
                self.lake.delete(key)


def write_release(lake: Lake, version: str, benchmarks: Collection[str] = ()) -> pa.Table:
    """Every export for every split, the exclusions and the card; returns the manifest table.
    `benchmarks`: names of the `role: benchmark` sources (their clusters stay out of train/val)."""
    samples, excluded = release_samples(lake, benchmarks)
    out = ReleaseWriter(lake, version)
    for write in FORMATS.values():
        write(out, samples)
    stats = {
        "version": version,
        "splits": {k: len(v) for k, v in samples.items()},
        "excluded": dict(Counter(e["reason"] for e in excluded)),
        "benchmark_overlap": dict(sorted(Counter(b for e in excluded for b in e["benchmarks"]).items())),
        "benchmarks": sorted(benchmarks),
        "funnel": caption_funnel(lake, samples),
        "stale_partitions": sum(s["stale_partition"] for v in samples.values() for s in v),
        "captions": sum(len(s["captions"]) for v in samples.values() for s in v),
        "conversations": sum(len(s["conversations"]) for v in samples.values() for s in v),
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
    out.put("README.md", dataset_card(stats).encode(), "dataset_card", None, 0)
    out.remove_stale()
    return from_rows("release", out.manifest)


__all__ = ["ReleaseWriter", "write_release"]
