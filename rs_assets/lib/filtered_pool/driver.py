"""`pool_partition`: decode each distinct image once in a process pool, then decide every raw row."""

from __future__ import annotations

import math
import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from typing import Any

import pyarrow as pa

from rs_assets.lib.filtered_pool.lexicon import row_text
from rs_assets.lib.filtered_pool.rules import decide
from rs_assets.lib.filtered_pool.scorers import load_rs_scorer
from rs_assets.lib.imaging import DEFAULT_MAX_PIXELS, ImageAssessment, assess_image
from rs_assets.lib.stages import from_rows

_RAW_COLUMNS = (
    "record_id",
    "image_id",
    "image_ext",
    "source",
    "year",
    "status",
    "error",
    "title",
    "alt_text",
    "text",
    "width",
    "height",
    "sensor",
)


def _assess_many(contents: list[bytes], sensors: list[str | None], max_pixels: int) -> list[ImageAssessment]:
    return [assess_image(c, max_pixels, sensor=s) for c, s in zip(contents, sensors, strict=True)]


def _assessments(
    todo: list[tuple[str, str, str | None]],
    load_image: Callable[[str, str], bytes],
    workers: int,
    batch_size: int,
    max_pixels: int,
) -> Iterator[tuple[str, ImageAssessment]]:
    """(image_id, assessment) for each (image_id, ext, sensor); bytes are loaded here, decoded in workers
    (the sensor picks a multiband raster's RGB bands).

    At most ~two batches of bytes are in flight, so memory does not grow with the partition.
    """
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    if workers <= 1:
        for batch in batches:
            contents = [load_image(i, e) for i, e, _ in batch]
            assessed = _assess_many(contents, [s for _, _, s in batch], max_pixels)
            yield from zip([i for i, _, _ in batch], assessed, strict=True)
        return
    chunk = max(1, math.ceil(batch_size / workers))
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    pending: deque[tuple[list[str], Future[list[ImageAssessment]]]] = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as executor:
        for batch in batches:
            for start in range(0, len(batch), chunk):
                part = batch[start : start + chunk]
                contents = [load_image(i, e) for i, e, _ in part]
                job = executor.submit(_assess_many, contents, [s for _, _, s in part], max_pixels)
                pending.append(([i for i, _, _ in part], job))
            while len(pending) > 2 * workers:
                ids, fut = pending.popleft()
                yield from zip(ids, fut.result(), strict=True)
        while pending:
            ids, fut = pending.popleft()
            yield from zip(ids, fut.result(), strict=True)


def pool_partition(
    raw: pa.Table,
    source_cfg: Any,
    load_image: Callable[[str, str], bytes],
    put_thumb: Callable[[str, bytes], None],
    workers: int = 1,
    batch_size: int = 256,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    rs_scorer: str = "lexicon",
) -> pa.Table:
    """filtered_pool rows for one raw_scrape partition: same record_ids in and out, one each.

    Each distinct image_id is loaded (main process: `load_image` may hold an S3 client) and decoded
    once, in a process pool of `workers` (1 = in process); thumbnails are stored
    with `put_thumb` as results arrive. Load failures raise: a missing lake object is a bug to fix.
    """
    rows = raw.select([c for c in _RAW_COLUMNS if c in raw.column_names]).to_pylist()
    scorer = load_rs_scorer(rs_scorer)
    todo: dict[str, tuple[str, str, str | None]] = {}
    for row in rows:
        if row.get("status") == "ok" and row.get("image_id"):
            todo.setdefault(
                row["image_id"], (row["image_id"], row.get("image_ext") or "bin", row.get("sensor"))
            )
    found: dict[str, ImageAssessment] = {}
    image_scores: dict[str, float] = {}
    for image_id, assessment in _assessments(
        list(todo.values()), load_image, workers, batch_size, max_pixels
    ):
        if assessment.thumb is not None:
            put_thumb(image_id, assessment.thumb)
            if scorer.on == "image":
                image_scores[image_id] = scorer.score([assessment.thumb])[0]
        found[image_id] = replace(assessment, thumb=None)
    model_text = scorer.name != "lexicon" and scorer.on == "text"
    text_scores = scorer.score([row_text(r) for r in rows]) if model_text else [None] * len(rows)

    out = []
    for row, text_score in zip(rows, text_scores, strict=True):
        assessment = found.get(row.get("image_id") or "") if row.get("status") == "ok" else None
        rs = image_scores.get(row.get("image_id") or "") if scorer.on == "image" else text_score
        decision = decide(row, assessment, source_cfg, rs_score=rs)
        a = assessment or ImageAssessment()
        out.append(
            {
                "record_id": row["record_id"],
                "image_id": row.get("image_id"),
                "source": row.get("source"),
                "year": row.get("year"),
                "kept": decision.kept,
                "drop_reason": decision.drop_reason,
                "phash": a.phash,
                "width": a.width if a.width is not None else row.get("width"),
                "height": a.height if a.height is not None else row.get("height"),
                "format": a.format,
                "mode": a.mode,
                "error_detail": a.detail or row.get("error"),
                "rs_scorer": scorer.name,
                **decision.scores,
            }
        )
    return from_rows("filtered_pool", out)
