"""raw_scrape on the `ray` executor: discovery on the driver, each shard's downloads or reads as a Ray task.

The driver lists the partition's records as the local connectors do (a web source's pages are fetched
there: they are what lists the images). Records still waiting for their bytes are split into shards by
record_id (`lib/shards.py`); a task fetches or reads its shard's images, stores them content-addressed,
writes what it learned about URLs (validators, image ids) next to the shard and then the shard's rows.
Every fetcher of the partition, the driver's included, asks one Ray actor (`PolitenessActor`) for its
per-host slots, robots.txt answers and request budget, so N workers send what one fetcher would.

Finished shards are checkpoints of one materialisation: a rerun after a crash reuses them; once the
partition table is written `drop_shards` removes them, so the next materialisation asks the origin
again (conditional GETs from the merged HTTP state), as the local executor does.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

from rs_assets.lib.code_versions import code_version
from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors.http import Fetcher
from rs_assets.lib.raw_scrape.connectors.labeled import READ_WORKERS, labeled_items, reader, resolve_format
from rs_assets.lib.raw_scrape.connectors.pairs import pair_items
from rs_assets.lib.raw_scrape.connectors.politeness import bounded_map
from rs_assets.lib.raw_scrape.connectors.state import HttpState, completed, needs_fetch
from rs_assets.lib.raw_scrape.connectors.web import web_records
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.records import RawItem, record_id
from rs_assets.lib.shards import ray_module, run_sharded, shard_prefix
from rs_assets.lib.stages import from_rows

SHARDED_KINDS = frozenset({"web", "pairs", "labeled"})  # synthetic items are made, not fetched
ROBOTS_WAIT_S = 60.0  # a worker that died loading robots.txt leaves the next caller to load it
R = TypeVar("R")


class PolitenessActor:
    """The partition's `Politeness` as a Ray (asyncio) actor: host slots, robots answers, request budget."""

    def __init__(self) -> None:
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.next_start: dict[str, float] = {}
        self.sent = 0
        self.robots: dict[str, Any] = {}
        self.loading: dict[str, asyncio.Event] = {}

    async def acquire(self, host: str, concurrency: int, interval: float) -> float:
        """Seconds the caller waits before it starts its request (it holds one of the host's slots)."""
        slots = self.slots.setdefault(host, asyncio.Semaphore(concurrency))
        await slots.acquire()
        now = time.monotonic()
        start = max(now, self.next_start.get(host, 0.0))
        self.next_start[host] = start + interval
        return start - now

    def release(self, host: str) -> None:
        self.slots[host].release()

    def spend(self, cap: int) -> bool:
        if self.sent >= cap:
            return False
        self.sent += 1
        return True

    async def robots_claim(self, origin: str) -> tuple[bool, Any]:
        """(False, answer) when known, else (True, None): the caller loads it and `robots_put`s it."""
        while origin not in self.robots:
            loading = self.loading.get(origin)
            if loading is None:
                self.loading[origin] = asyncio.Event()
                return True, None
            try:
                await asyncio.wait_for(loading.wait(), ROBOTS_WAIT_S)
            except TimeoutError:
                self.loading.pop(origin, None)
        return False, self.robots[origin]

    def robots_put(self, origin: str, answer: Any) -> None:
        if answer is not None:
            self.robots[origin] = answer
        loading = self.loading.pop(origin, None)
        if loading is not None:
            loading.set()


@dataclass(frozen=True)
class RayPoliteness:
    """`Politeness` backed by a `PolitenessActor` handle; picklable into Ray tasks."""

    actor: Any

    @contextmanager
    def slot(self, host: str, concurrency: int, interval: float) -> Iterator[None]:
        import ray

        time.sleep(ray.get(self.actor.acquire.remote(host, concurrency, interval)))
        try:
            yield
        finally:
            self.actor.release.remote(host)

    def spend(self, cap: int) -> bool:
        import ray

        return bool(ray.get(self.actor.spend.remote(cap)))

    def robots(self, origin: str, load: Callable[[], R | None]) -> R | None:
        import ray

        claimed, answer = ray.get(self.actor.robots_claim.remote(origin))
        if not claimed:
            return answer
        answer = None
        try:
            answer = load()
        finally:
            self.actor.robots_put.remote(origin, answer)
        return answer


class ShardState(HttpState):
    """The partition's URL index as a shard sees it: read at start, never saved; `learned()` is what the
    shard added, merged by the driver into the partition's index."""

    def __init__(self, lake: Lake, source: str, year: int) -> None:
        super().__init__(lake, source, year)
        self._initial = dict(self.entries)

    def save(self) -> None:
        pass

    def learned(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: v for k, v in self.entries.items() if self._initial.get(k) != v}


@dataclass(frozen=True)
class ShardJob:
    """What a shard task needs besides its rows: the source (labeled: its format resolved) and politeness."""

    name: str
    source: Any
    year: int
    politeness: RayPoliteness | None


def _learned_key(key: str) -> str:
    return key.removesuffix(".parquet") + ".state.json.gz"


def scrape_shard(root: str, key: str, rows: pa.Table, job: ShardJob) -> None:
    """One shard in a Ray worker: bytes fetched or read, images stored, learned state then rows written."""
    lake = Lake(root)
    items = [pickle.loads(b) for b in rows["item"].to_pylist()]
    learned: dict[str, dict[str, Any]] = {}
    if job.source.kind == "labeled":
        done = list(bounded_map(reader(job.source), items, READ_WORKERS))
    else:
        with Fetcher(job.source, job.politeness) as fetcher, ShardState(lake, job.name, job.year) as state:
            done = list(fetcher.map(lambda i: completed(fetcher, state, i), items))
            learned = state.learned()
    out, new_images = [], 0
    for item in done:
        row, content = to_row(job.name, item)
        if content is not None:
            new_images += lake.put_image(row["image_id"], row["image_ext"], content)
        out.append(row)
    summary = {"entries": learned, "new_images": new_images}
    lake.write_bytes(_learned_key(key), gzip.compress(json.dumps(summary, sort_keys=True).encode()))
    lake.write_table(key, from_rows("raw_scrape", out).sort_by("record_id"), {"rs_assets.shard": key})


def _discover(
    name: str, source: Any, year: int, lake: Lake, politeness: RayPoliteness | None
) -> tuple[list[RawItem], list[RawItem], Any]:
    """(records waiting for bytes, final records, the source as shard tasks get it)."""
    if source.kind == "labeled":
        resolved, auto = resolve_format(name, source)
        return list(labeled_items(name, resolved, year, auto)), [], resolved
    if source.kind == "pairs":
        found = list(pair_items(source, year))
    else:
        with Fetcher(source, politeness) as fetcher, HttpState(lake, name, year) as state:
            found = list(web_records(source, year, fetcher, state))
    return [i for i in found if needs_fetch(i)], [i for i in found if not needs_fetch(i)], source


@dataclass
class Scraped:
    """This run's rows of a partition (any order) and what the shards did."""

    rows: list[dict[str, Any]]
    new_images: int
    image_bytes: int
    stats: dict[str, int]


def scrape_sharded(name: str, source: Any, year: int, lake: Lake, shard_size: int) -> Scraped:
    """The rows `fetch_items` + `to_row` give for the partition, the heavy part done by Ray tasks."""
    if source.kind not in SHARDED_KINDS:
        raise ValueError(f"source {name!r}: kind {source.kind!r} has no sharded connector")
    ray = ray_module()
    actor = ray.remote(PolitenessActor).remote() if source.kind != "labeled" else None
    try:
        politeness = RayPoliteness(actor) if actor is not None else None
        pending, final, shard_source = _discover(name, source, year, lake, politeness)
        rows = [to_row(name, i)[0] for i in final]
        stats: dict[str, int] = {"shards": 0}
        if pending:
            table = pa.table(
                {
                    "record_id": [record_id(name, i.native_id) for i in pending],
                    "item": pa.array([pickle.dumps(i) for i in pending], pa.binary()),
                }
            )
            fingerprint = {"code": code_version("raw_scrape"), "source": source.model_dump(mode="json")}
            job = ShardJob(name, shard_source, year, politeness)
            sharded, stats = run_sharded(
                lake, "raw_scrape", name, year, table, scrape_shard, job, fingerprint, shard_size
            )
            rows += sharded.to_pylist()
    finally:
        if actor is not None:
            ray.kill(actor)
    new_images = _merge_learned(lake, name, year)
    image_bytes = sum(r["byte_size"] or 0 for r in rows if r["status"] == "ok")
    return Scraped(rows, new_images, image_bytes, stats)


def _merge_learned(lake: Lake, name: str, year: int) -> int:
    """Every shard's learned URL state into the partition's index; the images they stored."""
    summaries = [
        json.loads(gzip.decompress(lake.read_bytes(k)))
        for k in lake.list(shard_prefix("raw_scrape", name, year))
        if k.endswith(".state.json.gz")
    ]
    entries = {url: e for s in summaries for url, e in s["entries"].items()}
    if entries:
        with HttpState(lake, name, year) as state:
            state.merge(entries)
    return sum(s["new_images"] for s in summaries)


def drop_shards(lake: Lake, name: str, year: int) -> None:
    """Remove the partition's shard checkpoints once its table is written."""
    for key in lake.list(shard_prefix("raw_scrape", name, year)):
        lake.delete(key)
