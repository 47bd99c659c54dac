"""LLaVA conversation JSON per split: `[{id, task, conversations, image}]`."""

from __future__ import annotations

import json
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        llava = [dict(c, image=s["image"]) for s in samples.get(split, []) for c in s["conversations"]]
        data = json.dumps(llava, ensure_ascii=False, indent=1).encode()
        out.put(f"llava/{split}.json", data, "llava", split, len(llava))
