"""GeoChat conversation JSON per split: the LLaVA layout GeoChat's training code reads, with boxes
written `{<x1><y1><x2><y2>|<θ>}` on 0-100 (θ from the oriented box) and `<delim>` between boxes."""

from __future__ import annotations

import json
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.release.formats.llava import records


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        rows = records(samples, split, "geochat")
        data = json.dumps(rows, ensure_ascii=False, indent=1).encode()
        out.put(f"geochat/{split}.json", data, "geochat", split, len(rows))
