"""Caption stage throughput with default settings against the stub OpenAI server: 200 ms latency per call,
advertising a tier-5 limit (10,000 RPM / 30M TPM) in `x-ratelimit-*` headers.

The limiter adopts the advertised limits and the default concurrency keeps enough calls in flight to
beat sequential calls by >= 15x over 300+ calls. Prints calls/s, CPU seconds per call (client and
in-process stub together, an upper bound), the ratio and the limits in force; the full run also checks
that a server advertising 120 RPM never sees more than 30 requests in a 10 s window.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from typing import Any

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import StubServer
from rs_assets_tests.test_llm_ratelimit import busiest

LATENCY_S = 0.2
CALLS_PER_IMAGE = 6  # gaia (short text: 1 vision call) + mpgi (4 perspectives + 1 integrate)


def run(images: int, server: StubServer, **changes: Any) -> tuple[int, float, float, dict[str, Any]]:
    """(calls, wall seconds, CPU seconds, stats) of one caption_partition over a fresh lake."""
    lake = Lake(tempfile.mkdtemp(prefix="bench_captions_"))
    records = caption_records(lake, images)
    settings = replace(LLMSettings.from_env(), **changes)
    before = len(server.calls())
    wall, cpu = time.perf_counter(), time.process_time()
    result = caption_partition(records, ["gaia", "mpgi"], lake, settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls = len(server.calls()) - before
    assert calls == result.stats["calls"] == images * CALLS_PER_IMAGE, (calls, result.stats)
    assert result.stats["failed"] == 0
    return calls, wall, cpu, result.stats


def small_tier() -> None:
    """A server advertising 120 RPM: the busiest 10 s window, start included, must stay <= 30 requests."""
    server = StubServer(latency=LATENCY_S, rpm=120).start()
    os.environ["OPENAI_BASE_URL"] = server.base_url
    try:
        calls, wall, _, stats = run(5, server)
    finally:
        server.stop()
    peak = busiest([r.at for r in server.calls()], 10.0)
    print(f"120 RPM server: {calls} calls in {wall:.1f}s, busiest 10 s window {peak} requests (limit 30)")
    if peak > 30 or stats["retries"]:
        raise SystemExit(f"exceeded an advertised 120 RPM: {peak} in 10 s, {stats['retries']} retries")


def main() -> None:
    quick = "--quick" in sys.argv
    images = 20 if quick else 55
    server = StubServer(latency=LATENCY_S, rpm=10_000, tpm=30_000_000).start()
    for var in ("RS_ASSETS_LLM_CONCURRENCY", "RS_ASSETS_LLM_RPM", "RS_ASSETS_LLM_TPM"):
        os.environ.pop(var, None)  # default settings
    os.environ.update(RS_ASSETS_LLM="openai", OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench")
    try:
        run(1, server, concurrency=1)  # warm-up: imports, geocoder table, connection pool
        seq_calls, seq_wall, _, _ = run(3, server, concurrency=1)
        calls, wall, cpu, stats = run(images, server)
    finally:
        server.stop()
    per_call_seq = seq_wall / seq_calls
    ratio = (per_call_seq * calls) / wall
    defaults = LLMSettings()
    print(f"sequential: {seq_calls} calls in {seq_wall:.2f}s = {1 / per_call_seq:.1f} calls/s")
    print(
        f"default settings (concurrency {defaults.concurrency}, limits adopted: "
        f"{stats.get('rpm_limit', 0):,.0f} RPM / {stats.get('tpm_limit', 0):,.0f} TPM): {calls} calls in "
        f"{wall:.2f}s = {calls / wall:.1f} calls/s, CPU {cpu / calls * 1000:.2f} ms/call (client + stub)"
    )
    print(f"speedup vs sequential: {ratio:.1f}x (target >= 15x)")
    if not quick and ratio < 15:
        raise SystemExit(f"caption stage only {ratio:.1f}x faster than sequential calls")
    if not quick:
        small_tier()


if __name__ == "__main__":
    main()
