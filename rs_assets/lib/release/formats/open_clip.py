"""open_clip CSV per split: `filepath,caption`, one row per final caption."""

from __future__ import annotations

import csv
import io
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS


def csv_bytes(rows: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["filepath", "caption"])
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        pairs = [(s["image"], c["text"]) for s in samples.get(split, []) for c in s["captions"]]
        out.put(f"open_clip/{split}.csv", csv_bytes(pairs), "open_clip_csv", split, len(pairs))
