"""instruction_sets throughput: conversations/s of the local templates on 20k synthetic images, the
model path on the offline backend (Runner, response store, checks) against that baseline, and requests
per image of the openai backend against the stub server (first run, then a rerun: 0 expected).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from typing import Any

from rs_assets.lib.instruction_sets.build import build_instructions
from rs_assets.lib.instruction_sets.inputs import source_vocabulary
from rs_assets.lib.instruction_sets.llm import instruction_partition
from rs_assets.lib.instruction_sets.tasks import MODEL_TASKS, TASKS
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.sources import SyntheticSource
from rs_assets_tests.instruction_sets.test_instruction_tasks import VOCAB
from rs_assets_tests.instruction_sets.test_instructions_openai import harbour
from rs_assets_tests.openai_stub_server import StubServer

LATENCY_S = 0.05


def synthetic(images: int, distinct: int = 400) -> list[dict[str, Any]]:
    """`images` records: `distinct` generated scenes, repeated under new ids (phrasings follow the id)."""
    src = SyntheticSource(kind="synthetic", years=[2020], per_year=distinct, seed=11)
    rows = (to_row("syn", item)[0] for item in generate("syn", src, 2020))
    base = [row for row in rows if row["status"] == "ok"]
    return [{**base[i % len(base)], "record_id": f"rec-{i}", "image_id": f"img-{i}"} for i in range(images)]


def ok(rows: list[dict[str, Any]]) -> int:
    return sum(r["status"] == "ok" for r in rows)


def model_path(
    records: list[dict[str, Any]], vocab: Any, lake: Lake, settings: LLMSettings
) -> tuple[Any, float]:
    start = time.perf_counter()
    result = instruction_partition(
        records, [], list(TASKS), vocab, None, backend="llm", lake=lake, settings=settings
    )
    return result, time.perf_counter() - start


def main() -> None:
    quick = "--quick" in sys.argv
    images = 2_000 if quick else 20_000
    records = synthetic(images)
    vocab = source_vocabulary(records)
    start = time.perf_counter()
    convs = ok(build_instructions(records, [], list(TASKS), vocab))
    wall = time.perf_counter() - start
    print(
        f"local templates: {images} images, {convs} ok conversations in {wall:.1f}s = "
        f"{convs / wall:,.0f} conversations/s, {images / wall:,.0f} images/s"
    )

    sample = records[: images // 10]
    lake = Lake(tempfile.mkdtemp(prefix="bench_instr_"))
    offline, off_wall = model_path(sample, vocab, lake, LLMSettings())
    failed = [r for r in offline.rows if r["status"] == "failed"]
    assert not failed, failed[:3]  # the references never contradict their own record
    calls, rate = offline.stats["calls"], ok(offline.rows) / off_wall
    print(
        f"model path, offline backend: {len(sample)} images, {calls} calls "
        f"({calls / len(sample):.2f}/image), "
        f"{rate:,.0f} conversations/s = {rate / (convs / wall):.2f}x the templates"
    )

    server = StubServer(latency=LATENCY_S).start()
    os.environ.update(RS_ASSETS_LLM="openai", OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench")
    try:
        lake = Lake(tempfile.mkdtemp(prefix="bench_instr_openai_"))
        n = 20 if quick else 100
        recs = harbour(lake, n)
        s = replace(LLMSettings.from_env(), concurrency=32, rpm=1e6, tpm=1e9)
        first, first_wall = model_path(recs, VOCAB, lake, s)
        sent = len(server.calls())
        rerun, rerun_wall = model_path(recs, VOCAB, lake, s)
        again = len(server.calls()) - sent
    finally:
        server.stop()
    model_rows = [r for r in first.rows if r["task"] in MODEL_TASKS]
    assert sent == len(model_rows) and {r["status"] for r in model_rows} == {"ok"}
    print(
        f"openai backend (stub, {LATENCY_S * 1000:.0f} ms/call): {n} images, {sent / n:.2f} requests/image "
        f"({', '.join(MODEL_TASKS)}), {sent / first_wall:.0f} requests/s; rerun: {again} requests, "
        f"{rerun.stats['cache_hits']} store hits in {rerun_wall:.2f}s"
    )
    if again:
        raise SystemExit(f"a rerun sent {again} requests; the response store should answer every one")


if __name__ == "__main__":
    main()
