"""The dataset card: what is inside, how it was made, and every column and code documented.

Everything the card states about the pipeline (split shares, geo-cell size, caption strategies, columns,
vocabularies) is rendered from the code that implements it, so the card cannot drift from the data.
"""

from __future__ import annotations

from typing import Any

from rs_assets.lib.benchmark_splits.splits import GEO_CELL_DEG, SPLIT_SHARES, SPLITS
from rs_assets.lib.captions.strategies import PREFERENCE, STRATEGIES
from rs_assets.lib.instruction_sets.boxes import CONVENTION_DOCS
from rs_assets.lib.release.formats.messages import TARGETS
from rs_assets.lib.release.samples import EXCLUSION_REASONS
from rs_assets.lib.stages import Stage, table_stages


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


def dataset_card(stats: dict[str, Any]) -> str:
    shares = "/".join(str(round(100 * share)) for _, share in SPLIT_SHARES)
    order = ", else ".join(f"`{s}`" for s in PREFERENCE)
    strategies = "\n".join(f"- `{s.name}`: {s.description}" for s in STRATEGIES.values())
    split_rows = "\n".join(f"| {k} | {stats['splits'].get(k, 0)} |" for k in SPLITS)
    columns = "\n".join(_stage_section(s) for s in table_stages())
    boxes = "\n".join(f"| `{k}` | {_cell(v)} |" for k, v in CONVENTION_DOCS.items())
    targets = ", ".join(f"`{t}`" for t in TARGETS)
    return f"""# rs_assets release `{stats["version"]}`

Remote-sensing image-text data built by the rs_assets Dagster pipeline (GAIA / RS5M / HQRS-IT /
RS-GPT4V methods). Every file is rebuilt by one command and every row names its lineage.

| split | images |
|---|---|
{split_rows}

Captions: {stats["captions"]}. Conversations: {stats["conversations"]}.
Canonical images held back, by reason (listed in `excluded.parquet`): {stats["excluded"] or "none"}.

{_funnel(stats["funnel"])}

{_benchmarks(stats)}
Images whose partition predates a change of its cluster (re-materialise them to refresh their
captions): {stats["stale_partitions"]}.

## Files
- `images/<image_id>.<ext>`: original bytes; `image_id` is the sha256 of the file.
- `llava/<split>.json`: LLaVA conversations `{{id, image, conversations: [{{from, value}}]}}`.
  Boxes are integers on a **0-1000 scale** `[x1, y1, x2, y2]` relative to image width/height.
- `geochat/<split>.json`: the same conversations in the LLaVA layout with GeoChat boxes
  `{{<x1><y1><x2><y2>|<θ>}}` on 0-100.
- `messages/<convention>/<split>.json` ({targets}): ShareGPT `{{id, task, messages: [{{role, content}}],
  images}}` with boxes in that convention; `dataset_info.json` names each file for LLaMA-Factory
  (`dataset_dir` = this folder, datasets `rs_<convention>_<split>`); ms-swift reads the files as they are.
- `open_clip/<split>.csv`: `filepath,caption`, one row per final caption;
  `filepath` is relative to this folder (run training from here, or prefix it).
- `excluded.parquet`: every canonical image held back, with its reason (table below).
- `hf/<split>.parquet`: `datasets.load_dataset("parquet", data_files=...)`; `strategy` says which
  captioner wrote the text.
- `webdataset/<split>-NNNNNN.tar` (+ same-name Parquet): `key.<ext>`, `key.txt` (the best-ranked
  selected caption; ties: {order}), `key.json` (metadata).
- `karpathy/dataset_rs.json`: RSICD/UCM-style `images[].filename/split/sentences[].raw/tokens`.

## Box conventions
Boxes are stored in pixels of the original image; each file writes them in its convention:

| convention | boxes in the text |
|---|---|
{boxes}

## Caption strategies (preference order)
{strategies}

## Splits
{shares} by a hash of the cluster's {GEO_CELL_DEG:g}-degree geo cell (else its cluster id): near-duplicates
and neighbouring scenes never straddle splits, and new data moves an image only when it joins
another cluster. Splits are recomputed from the current clusters at release time.

{_codes("Release exclusion reasons", EXCLUSION_REASONS)}
## Columns of the source tables
{columns}"""
