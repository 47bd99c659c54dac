"""Caption stage throughput against the stub OpenAI server with 200 ms latency per call.

Async calls with bounded concurrency must beat sequential calls by >= 15x over 300+ calls. Prints calls/s,
CPU seconds per call (client and in-process stub together, an upper bound) and the ratio.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import StubServer

LATENCY_S = 0.2
CALLS_PER_IMAGE = 6  # gaia (short text: 1 vision call) + mpgi (4 perspectives + 1 integrate)


def run(images: int, concurrency: int, server: StubServer) -> tuple[int, float, float]:
    """(calls, wall seconds, CPU seconds) of one caption_partition over a fresh lake."""
    lake = Lake(tempfile.mkdtemp(prefix="bench_captions_"))
    records = caption_records(lake, images)
    settings = replace(LLMSettings.from_env(), concurrency=concurrency, rpm=1e6, tpm=1e9)
    before = len(server.calls())
    wall, cpu = time.perf_counter(), time.process_time()
    result = caption_partition(records, ["gaia", "mpgi"], lake, settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls = len(server.calls()) - before
    assert calls == result.stats["calls"] == images * CALLS_PER_IMAGE, (calls, result.stats)
    assert result.stats["failed"] == 0
    return calls, wall, cpu


def main() -> None:
    quick = "--quick" in sys.argv
    images = 20 if quick else 55
    server = StubServer(latency=LATENCY_S).start()
    os.environ.update(RS_ASSETS_LLM="openai", OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench")
    try:
        run(1, 1, server)  # warm-up: imports, geocoder table, connection pool
        seq_calls, seq_wall, _ = run(3, 1, server)
        calls, wall, cpu = run(images, 64, server)
    finally:
        server.stop()
    per_call_seq = seq_wall / seq_calls
    ratio = (per_call_seq * calls) / wall
    print(f"sequential: {seq_calls} calls in {seq_wall:.2f}s = {1 / per_call_seq:.1f} calls/s")
    print(
        f"concurrent: {calls} calls in {wall:.2f}s = {calls / wall:.1f} calls/s, "
        f"CPU {cpu / calls * 1000:.2f} ms/call (client + stub)"
    )
    print(f"speedup vs sequential: {ratio:.1f}x (target >= 15x)")
    if not quick and ratio < 15:
        raise SystemExit(f"caption stage only {ratio:.1f}x faster than sequential calls")


if __name__ == "__main__":
    main()
