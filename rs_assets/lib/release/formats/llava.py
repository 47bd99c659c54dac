"""LLaVA conversation JSON per split: `[{id, sample_id, task, conversations, image}]`; `image` is relative
to the release folder (LLaVA's `--image_folder`)."""

from __future__ import annotations

import json
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_folder:
        return
    for split in SPLITS:
        llava = [
            dict(c, sample_id=c["id"], image=s["image"])
            for s in samples.get(split, [])
            for c in s["conversations"]
        ]
        data = json.dumps(llava, ensure_ascii=False, indent=1).encode()
        out.put(f"llava/{split}.json", data, "llava", split, len(llava))
