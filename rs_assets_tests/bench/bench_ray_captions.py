"""Caption throughput on the `ray` executor vs the local one, on a local Ray instance of 2 CPUs, against
the stub OpenAI server at 200 ms per call advertising a tier-5 limit (10,000 RPM / 30M TPM).

Both runs use default settings, so one concurrency budget (64 in flight) holds in both: the shards share
it through the limits actor. The calls are I/O-bound, so the ratio shows what the sharing costs (actor
round trips, task start-up) rather than a speed-up; Ray pays off where one process's CPU (prompts,
images, parsing) or one machine's network would bound a partition. A warm-up run starts the workers.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

import pyarrow as pa

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.captions.sharded import caption_partition_sharded
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.bench.bench_captions import CALLS_PER_IMAGE, LATENCY_S
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import StubServer

STRATEGIES = ["gaia", "mpgi"]


def run(images: int, server: StubServer, ray: bool, shard_size: int) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, driver CPU seconds, stats) of captioning `images` fresh images."""
    lake = Lake(tempfile.mkdtemp(prefix="bench_ray_captions_"))
    records = pa.Table.from_pylist(caption_records(lake, images)).sort_by("record_id")
    settings = LLMSettings.from_values({"backend": "openai"})
    before = len(server.calls())
    wall, cpu = time.perf_counter(), time.process_time()
    if ray:
        result, shards = caption_partition_sharded(
            lake, "bench", 2020, records, STRATEGIES, settings, shard_size
        )
        assert shards["shards_computed"] == shards["shards"], shards
    else:
        result = caption_partition(records.to_pylist(), STRATEGIES, lake, settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    calls = len(server.calls()) - before
    assert calls == result.stats["calls"] == images * CALLS_PER_IMAGE, (calls, result.stats)
    assert result.stats["failed"] == 0
    return wall, cpu, result.stats


def main() -> None:
    import ray

    images = 20 if "--quick" in sys.argv else 60
    server = StubServer(latency=LATENCY_S, rpm=10_000, tpm=30_000_000).start()
    os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run(4, server, ray=True, shard_size=2)  # warm-up: workers, imports, connection pools
        local_wall, local_cpu, _ = run(images, server, ray=False, shard_size=images)
        ray_wall, ray_cpu, stats = run(images, server, ray=True, shard_size=images // 2)
    finally:
        ray.shutdown()
        server.stop()
    calls = images * CALLS_PER_IMAGE
    print(
        f"local: {calls} calls in {local_wall:.2f}s = {calls / local_wall:.1f} calls/s, "
        f"CPU {local_cpu / calls * 1000:.2f} ms/call (driver + stub)"
    )
    print(
        f"ray (2 shards on 2 CPUs, one limits actor, {stats.get('rpm_limit', 0):,.0f} RPM adopted): "
        f"{calls} calls in {ray_wall:.2f}s = {calls / ray_wall:.1f} calls/s, "
        f"driver CPU {ray_cpu / calls * 1000:.2f} ms/call"
    )
    print(f"ray / local throughput: {local_wall / ray_wall:.2f}x")


if __name__ == "__main__":
    main()
