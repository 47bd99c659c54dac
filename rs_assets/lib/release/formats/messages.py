"""ShareGPT `messages` JSON per box convention and split, plus the `dataset_info.json` LLaMA-Factory
reads: `[{id, task, messages: [{role, content}], images: [path]}]`, the layout LLaMA-Factory (with
`dataset_dir` = the release folder) and ms-swift (`--dataset <file>`, run from the release folder)
train on without a converter. Image paths are relative to the release folder."""

from __future__ import annotations

import json
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.release.formats.llava import records

TARGETS = ("llava", "qwen2vl", "qwen25vl")  # box conventions (instruction_sets/boxes.py)
ROLES = {"human": "user", "gpt": "assistant"}
SHAREGPT_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
}


def dataset_name(target: str, split: str) -> str:
    return f"rs_{target}_{split}"


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    info = {}
    for target in TARGETS:
        for split in SPLITS:
            rows = [
                {
                    "id": r["id"],
                    "task": r["task"],
                    "messages": [
                        {"role": ROLES[t["from"]], "content": t["value"]} for t in r["conversations"]
                    ],
                    "images": [r["image"]],
                }
                for r in records(samples, split, target)
            ]
            path = f"messages/{target}/{split}.json"
            out.put(
                path, json.dumps(rows, ensure_ascii=False, indent=1).encode(), "messages", split, len(rows)
            )
            info[dataset_name(target, split)] = {
                "file_name": path,
                "formatting": "sharegpt",
                "columns": {"messages": "messages", "images": "images"},
                "tags": SHAREGPT_TAGS,
            }
    out.put("dataset_info.json", json.dumps(info, indent=1).encode(), "dataset_info", None, len(info))
