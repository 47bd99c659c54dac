"""Karpathy JSON (RSICD/RSITMD/UCM style): `images[].filename/split/sentences[].raw/tokens`, plus
`sample_id` on images (the image_id) and sentences (the caption_id)."""

from __future__ import annotations

import json
import re
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS

TOKEN = re.compile(r"[a-z0-9]+")


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_folder:
        return
    images: list[dict[str, Any]] = []
    sent_id = 0
    for split in SPLITS:
        for s in samples.get(split, []):
            sents = [
                {
                    "raw": c["text"],
                    "tokens": TOKEN.findall(c["text"].lower()),
                    "sentid": sent_id + i,
                    "imgid": len(images),
                    "sample_id": c["caption_id"],
                }
                for i, c in enumerate(s["captions"])
            ]
            images.append(
                {
                    "filename": s["image"].split("/", 1)[1],
                    "filepath": "images",
                    "imgid": len(images),
                    "sample_id": s["image_id"],
                    "split": split,
                    "sentences": sents,
                    "sentids": [x["sentid"] for x in sents],
                }
            )
            sent_id += len(sents)
    data = json.dumps({"dataset": "rs_assets", "images": images}).encode()
    out.put("karpathy/dataset_rs.json", data, "karpathy_json", None, len(images))
