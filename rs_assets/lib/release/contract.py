"""release's contract: the manifest of exported files (one row per file of each release version)."""

import pyarrow as pa

from rs_assets.lib.stages import Column, Stage

FILE_FORMATS: dict[str, str] = {
    "image": "original image bytes, `images/<image_id>.<ext>`",
    "llava": "LLaVA conversation JSON (boxes on 0-1000)",
    "geochat": "GeoChat conversation JSON (LLaVA layout, boxes `{<x1><y1><x2><y2>|<θ>}` on 0-100)",
    "messages": "ShareGPT `messages` + `images` JSON (LLaMA-Factory, ms-swift), a folder per box convention",
    "dataset_info": "LLaMA-Factory `dataset_info.json` naming every `messages` file",
    "open_clip_csv": "open_clip `filepath,caption` CSV",
    "hf_parquet": "Parquet for `datasets.load_dataset`",
    "webdataset": "WebDataset tar shard",
    "webdataset_meta": "the shard's same-name Parquet (img2dataset layout)",
    "webdataset_sizes": "`webdataset/sizes.json`: samples per shard (open_clip reads it)",
    "karpathy_json": "RSICD/UCM-style Karpathy JSON",
    "url_list": "`urls/<split>.parquet`: url, caption, sample_id, source of web images (for img2dataset)",
    "croissant": "`croissant.json`: Croissant 1.0 metadata with Responsible-AI fields",
    "exclusions": "canonical images held back, with their reason (and overlapped benchmarks)",
    "dataset_card": "this card",
    "dataset_report": "`report.html`: counts, drop funnel, caption lengths, map, cost, examples (offline)",
    "sample_index": "`samples.parquet`: every exported sample id with a hash of its content",
    "release_diff": "`diff.parquet`: samples added, removed or changed since the previous version",
}
RELEASE = Stage(
    name="release",
    description="Canonical images with their split, captions and conversations in the formats training "
    "code loads, with a dataset card; `tables/release` lists every file.",
    partitioned=False,
    job="publish",
    columns=(
        Column(
            "version",
            pa.string(),
            "release version (immutable folder under release/; `latest` points at the newest)",
        ),
        Column("path", pa.string(), "file path relative to the release folder"),
        Column("format", pa.string(), "export format (vocabulary below)"),
        Column("split", pa.string(), "split the file holds (NULL: all)"),
        Column("rows", pa.int64(), "samples, captions or conversations in the file"),
        Column("bytes", pa.int64(), "file size"),
    ),
    keys=("version", "path"),
    vocabularies={"format": FILE_FORMATS},
    preview=("path", "format", "split", "rows"),
)
