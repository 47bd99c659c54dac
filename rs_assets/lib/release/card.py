"""The dataset card: what is inside, how it was made, and every column and code documented.

Everything the card states about the pipeline (split shares, geo-cell size, caption strategies, columns,
vocabularies) is rendered from the code that implements it, so the card cannot drift from the data. Its
YAML front matter is the Hugging Face dataset-card header: `configs`/`data_files` make
`datasets.load_dataset(<release folder>)` read the `hf/` splits and nothing else.
"""

from __future__ import annotations

from typing import Any

import yaml

from rs_assets.lib.benchmark_splits.splits import GEO_CELL_DEG, SPLIT_SHARES, SPLITS
from rs_assets.lib.captions.strategies import PREFERENCE, STRATEGIES
from rs_assets.lib.instruction_sets.boxes import CONVENTION_DOCS
from rs_assets.lib.release.formats.messages import TARGETS
from rs_assets.lib.release.samples import EXCLUSION_REASONS
from rs_assets.lib.stages import Stage, table_stages

TASK_CATEGORIES = ["image-to-text", "image-text-to-text", "visual-question-answering"]


def _cell(text: str) -> str:
    """A Markdown table cell: pipes escaped (box conventions contain them)."""
    return text.replace("|", "\\|")


def _codes(title: str, codes: dict[str, str]) -> str:
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in codes.items())
    return f"### {title}\n| code | meaning |\n|---|---|\n{rows}\n"


def _stage_section(stage: Stage) -> str:
    rows = "\n".join(f"| `{c.name}` | {c.type} | {c.doc} |" for c in (*stage.columns, *stage.extra))
    vocab = "\n".join(
        _codes(f"`{stage.name}.{col}`", dict(codes)) for col, codes in stage.vocabularies.items()
    )
    header = "| column | type | meaning |\n|---|---|---|"
    return f"### `{stage.name}`\n{stage.description}\n\n{header}\n{rows}\n\n{vocab}"


def _funnel(funnel: dict[str, Any]) -> str:
    """Candidates -> exported: each caption not exported counted under its selection decision."""
    rows = "\n".join(f"| `{k}` | {v} |" for k, v in funnel["not_exported"].items())
    return (
        f"### Caption funnel\n{funnel['candidates']} candidate captions -> {funnel['exported']} exported "
        "(the per-source `select` policy over `caption_scores`; the `caption_selection` view lists every "
        "decision).\n\n| not exported because | captions |\n|---|---|\n" + (rows or "| - | 0 |") + "\n"
    )


def _benchmarks(stats: dict[str, Any]) -> str:
    if not stats["benchmarks"]:
        return "### Benchmark decontamination\nNo source is marked `role: benchmark`.\n"
    rows = "\n".join(f"| `{b}` | {stats['benchmark_overlap'].get(b, 0)} |" for b in stats["benchmarks"])
    return (
        "### Benchmark decontamination\nImages removed from train/val because their cluster (exact or "
        "near duplicate) holds an image of a benchmark source (`benchmark_overlap`):\n\n"
        f"| benchmark source | images removed |\n|---|---|\n{rows}\n"
    )


def card_license(licenses: dict[str, str | None]) -> str:
    """One SPDX-style id when every source shares it, else `other` (the card lists them per source)."""
    found = set(licenses.values())
    return found.pop() if len(found) == 1 and None not in found else "other"


def front_matter(stats: dict[str, Any]) -> str:
    """The Hub header: license, task categories and one `data_files` entry per split of `hf/`."""
    header = {
        "pretty_name": f"rs_assets release {stats['version']}",
        "license": card_license(stats["licenses"]),
        "language": ["en"],
        "task_categories": TASK_CATEGORIES,
        "tags": ["remote-sensing", "earth-observation", "image-text"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"hf/{s}.parquet"} for s in SPLITS],
            }
        ],
    }
    return f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n"


def _webdataset_recipe(shards: dict[str, list[str]]) -> str:
    calls = [
        '`datasets.load_dataset("webdataset", data_files={'
        + ", ".join(f'"{s}": "webdataset/{s}-{ext}-*.tar"' for s in splits)
        + "})`"
        for ext, splits in shards.items()
    ]
    return " and ".join(calls) or "no shards in this release"


def _diff_section(stats: dict[str, Any]) -> str:
    """What changed since the previous version (also `diff.parquet` and the warehouse's `release_diff`)."""
    before = stats["previous_version"]
    if before is None:
        return "## Changes\nFirst release version: every sample is new (`diff.parquet`: all added).\n"
    by_kind = stats["diff"]["by_kind"]
    if not by_kind:
        return f"## Changes since `{before}`\nNo sample added, removed or changed.\n"
    kinds = "\n".join(f"| {change} | {kind} | {n} |" for (change, kind), n in by_kind.items())
    cells = "\n".join(
        f"| `{s}` | {y} | {c} | {n} |" for (s, y, c), n in stats["diff"]["by_source_year"].items()
    )
    return (
        f"## Changes since `{before}`\n| change | sample kind | samples |\n|---|---|---|\n{kinds}\n\n"
        f"| source | year | change | samples |\n|---|---|---|---|\n{cells}\n\n"
        "Per sample: `diff.parquet` here, or the warehouse's `release_diff` view.\n"
    )


def _share_rows(stats: dict[str, Any]) -> str:
    total = sum(stats["splits"].values()) or 1
    target = dict(SPLIT_SHARES)
    return "\n".join(
        f"| {k} | {stats['splits'].get(k, 0)} | {100 * stats['splits'].get(k, 0) / total:.0f}% | "
        f"{100 * target[k]:.0f}% | {stats['split_units'].get(k, 0)} |"
        for k in SPLITS
    )


def _license_rows(licenses: dict[str, str | None]) -> str:
    return "\n".join(
        f"| `{s}` | {lic or 'unknown: set `license:` for the source'} |"
        for s, lic in sorted(licenses.items())
    )


def dataset_card(stats: dict[str, Any]) -> str:
    order = ", else ".join(f"`{s}`" for s in PREFERENCE)
    strategies = "\n".join(f"- `{s.name}`: {s.description}" for s in STRATEGIES.values())
    columns = "\n".join(_stage_section(s) for s in table_stages())
    boxes = "\n".join(f"| `{k}` | {_cell(v)} |" for k, v in CONVENTION_DOCS.items())
    targets = ", ".join(f"`{t}`" for t in TARGETS)
    units = sum(stats["split_units"].values())
    folder = (
        ""
        if stats["images"] != "tars"
        else (
            "\n**This release stores images only inside the WebDataset tars** (`images: tars`): the "
            "path-based exports (LLaVA, open_clip, HF Parquet, Karpathy) are not written.\n"
        )
    )
    return f"""{front_matter(stats)}
# rs_assets release `{stats["version"]}`

Remote-sensing image-text data built by the rs_assets Dagster pipeline (GAIA / RS5M / HQRS-IT /
RS-GPT4V methods). Every file is rebuilt by one command and every row names its lineage: each
exported sample carries a `sample_id` that the warehouse's `lineage` view resolves to its image, record,
URL or path, fetch, filter decision, model call and Dagster run.
{folder}
| split | images | real share | target share | split units (geo cells / clusters) |
|---|---|---|---|---|
{_share_rows(stats)}

The target shares apply to **split units**, not images: every geo cell (or, without coordinates, every
near-duplicate cluster) goes to one split as a whole, chosen by a hash of the unit. With {units} units
of uneven size the image shares deviate from the target; they converge only as units multiply.

{_diff_section(stats)}
Captions: {stats["captions"]}. Conversations: {stats["conversations"]}.
Canonical images held back, by reason (listed in `excluded.parquet`): {stats["excluded"] or "none"}.

{_funnel(stats["funnel"])}

{_benchmarks(stats)}
Images whose partition predates a change of its cluster (re-materialise them to refresh their
captions): {stats["stale_partitions"]}.

## Licenses per source
| source | license |
|---|---|
{_license_rows(stats["licenses"])}

## Files and how to load them
Run everything from this folder (the release folder); every path in the files is relative to it.
- `images/<image_id>.<ext>`: original bytes; `image_id` is the sha256 of the file.
- `hf/<split>.parquet`: one row per caption (`sample_id` = caption_id). `datasets.load_dataset("<this
  folder>")` reads exactly these files through the `configs` header above. `image` is a path relative to
  this folder; for decoded images:
  `ds = ds.map(lambda r: {{"image": f"{{root}}/{{r['image']}}"}}).cast_column("image", datasets.Image())`.
- `llava/<split>.json`: LLaVA conversations `{{id, sample_id, task, image, conversations: [{{from,
  value}}]}}` (`sample_id` = instruction_id). Pass **this folder** as LLaVA's `--image_folder` and the
  JSON as `--data_path`. Boxes are integers on a **0-1000 scale** `[x1, y1, x2, y2]` relative to image
  width/height. For single-turn (`plain` template) pretraining use the `brief_caption` records
  (`task == "brief_caption"`: one `<image>` prompt, one caption answer); the other tasks are
  instruction tuning data.
- `geochat/<split>.json`: the same conversations in the LLaVA layout with GeoChat boxes
  `{{<x1><y1><x2><y2>|<θ>}}` on 0-100.
- `messages/<convention>/<split>.json` ({targets}): ShareGPT `{{id, task, messages: [{{role, content}}],
  images}}` with boxes in that convention; `dataset_info.json` names each file for LLaMA-Factory
  (`dataset_dir` = this folder, datasets `rs_<convention>_<split>`); ms-swift reads the files as they are.
- `open_clip/<split>.csv`: `filepath,caption,sample_id`, one row per final caption (`sample_id` =
  caption_id); train from this folder with `--train-data open_clip/train.csv --csv-separator ,
  --csv-img-key filepath --csv-caption-key caption`.
- `webdataset/<split>-<ext>-NNNNNN.tar` (+ same-name Parquet): `key.<ext>`, `key.txt` (the best-ranked
  selected caption; ties: {order}), `key.json` (metadata with `sample_id` = image_id); keys are image
  ids, unique across shards; one image extension per shard. `webdataset/sizes.json` gives the samples
  per shard
  (open_clip's `--dataset-type webdataset` reads it); each split has at least as many shards as a
  typical dataloader has workers when it has that many images. HF's `webdataset` builder types the
  columns from the first shard only (and a folder has one builder: the header's is Parquet), so load
  one image extension at a time: {_webdataset_recipe(stats["shards"])}.
- `karpathy/dataset_rs.json`: RSICD/UCM-style `images[].filename/filepath/split/imgid/sentids`,
  `sentences[].raw/tokens/sentid/imgid`, plus `sample_id` on images and sentences.
- `excluded.parquet`: every canonical image held back, with its reason (table below).
- `report.html`: the dataset report, one self-contained page (open it in any browser, offline): images by
  source x year x split, the drop funnel, caption lengths, a map of image locations, LLM cost per source
  and example conversations per task.

## Box conventions
Boxes are stored in pixels of the original image; each file writes them in its convention:

| convention | boxes in the text |
|---|---|
{boxes}

## Caption strategies (preference order)
{strategies}

## Splits
Target shares {"/".join(str(round(100 * share)) for _, share in SPLIT_SHARES)} by a hash of the cluster's
{GEO_CELL_DEG:g}-degree geo cell (else its cluster id): near-duplicates and neighbouring scenes never
straddle splits, and new data moves an image only when it joins another cluster. Splits are recomputed
from the current clusters at release time.

{_codes("Release exclusion reasons", EXCLUSION_REASONS)}
## Columns of the source tables
{columns}"""
