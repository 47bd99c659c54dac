"""open_clip CSV per split: `filepath,caption,sample_id`, one row per final caption (`sample_id` is the
caption_id); `filepath` is relative to the release folder."""

from __future__ import annotations

import csv
import io
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS


def csv_bytes(rows: list[tuple[str, str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["filepath", "caption", "sample_id"])
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_folder:
        return
    for split in SPLITS:
        pairs = [
            (s["image"], c["text"], c["caption_id"]) for s in samples.get(split, []) for c in s["captions"]
        ]
        out.put(f"open_clip/{split}.csv", csv_bytes(pairs), "open_clip_csv", split, len(pairs))
