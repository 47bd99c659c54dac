"""`RS_ASSETS_EXECUTOR=ray` for raw_scrape: a pairs source served over loopback HTTP and a labeled folder,
sharded over a real local Ray instance (2 CPUs). Same raw_scrape and filtered_pool tables as the local
executor; a rerun after a crash fetches only the unfinished shard; the workers share one per-host pace."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rs_assets.defs.filtered_pool.assets import build as build_pool
from rs_assets.defs.project import Project, load_project
from rs_assets.defs.raw_scrape.assets import build as build_raw
from rs_assets.defs.raw_scrape.assets import scrape_local
from rs_assets.defs.resources import ExecutorResource, LakeResource, PoolResource
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.sharded import scrape_sharded
from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.shards import shard_prefix
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes

pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
pytestmark = pytest.mark.xdist_group("ray")
IMAGES = 30
RPS = 25.0  # per host; 2 workers of 4 threads each send ~2x this without the shared actor (measured)
SHARD = 8
RAY = ExecutorResource(kind="ray", shard_size=SHARD)
SCENES = parse_sources({"sources": {"s": {"kind": "synthetic", "years": [2021], "per_year": 10, "seed": 5}}})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, Site]]:
    """A pairs list on a loopback site (images, a 404, a prefiltered caption) and a labeled folder."""
    tmp = tmp_path_factory.mktemp("ray_scrape")
    site = Site()
    base = site.start()
    site.add("/robots.txt", b"", "text/plain", status=404)
    scenes = [i.content for i in generate("s", SCENES["s"], 2021) if i.content and i.url.endswith(".jpg")]
    for n in range(IMAGES):  # a few real-looking scenes the pool keeps, flat tiles it drops as blank
        content = scenes[n] if n < 4 else image_bytes(size=(128, 128), seed=n)
        site.add(f"/img/{n}.jpg", content, "image/jpeg")
    rows = [{"url": f"{base}/img/{n}.jpg", "caption": f"Satellite image of port {n}"} for n in range(IMAGES)]
    rows += [
        {"url": f"{base}/gone.jpg", "caption": "Landsat scene of a river delta"},
        {"url": f"{base}/img/0.jpg?copy", "caption": "a cat on a sofa"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp / "pairs.parquet")
    for n in range(12):
        folder = tmp / "ucm" / ("harbor" if n % 2 else "forest")
        folder.mkdir(parents=True, exist_ok=True)
        content = scenes[4 + n] if n < 3 else image_bytes(size=(64, 64), seed=100 + n)
        (folder / f"{n}.jpg").write_bytes(content)
    (tmp / "ucm" / "forest" / "notes.txt").write_text("not an image")
    sources = {
        "pairs_rs": {
            "kind": "pairs",
            "path": str(tmp / "pairs.parquet"),
            "default_year": 2021,
            "allow_private_network": True,
            "retries": 0,
            "requests_per_second": RPS,
            "max_concurrency": 4,
            "workers": 4,
        },
        "ucm_rs": {"kind": "labeled", "format": "folders", "path": str(tmp / "ucm"), "default_year": 2021},
    }
    (tmp / "sources.yaml").write_text(json.dumps({"sources": sources}))
    yield load_project(tmp / "sources.yaml"), site
    site.stop()


def materialize(project: Project, root: Path, key: str, executor: ExecutorResource, pool: bool = True) -> Any:
    assets = [build_raw(project), build_pool(project)]
    result = dg.materialize(
        assets,
        selection=None if pool else ["raw_scrape"],
        partition_key=key,
        resources={
            "lake": LakeResource(root=str(root)),
            "pool": PoolResource(workers=1),
            "executor": executor,
        },
    )
    assert result.success
    return result.asset_materializations_for_node("raw_scrape")[0].metadata


def without_clock(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its fetch time (the only column two runs may not share)."""
    return {k: v for k, v in row.items() if k != "fetched_at"}


def table(root: Path, asset: str, source: str) -> list[dict[str, Any]]:
    return [without_clock(r) for r in Lake(str(root)).read_table(table_key(asset, source, 2021)).to_pylist()]


def max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_ray_scrape_matches_local_and_shares_the_host_pace(
    local_ray: None, project: tuple[Project, Site], tmp_path: Path
) -> None:
    proj, site = project
    for source in ("pairs_rs", "ucm_rs"):
        materialize(proj, tmp_path / "local", f"{source}|2021", ExecutorResource(kind="local"))
        site.log.clear()
        # 2 shards of ~15 URLs run at once: per-worker limiters would send 2x RPS in their overlap
        executor = ExecutorResource(kind="ray", shard_size=16 if source == "pairs_rs" else SHARD)
        meta = materialize(proj, tmp_path / "ray", f"{source}|2021", executor)
        assert meta["executor"].value == "ray" and meta["executor/shards_computed"].value >= 2
        for asset in ("filtered_pool", "raw_scrape"):
            local, ray = table(tmp_path / "local", asset, source), table(tmp_path / "ray", asset, source)
            assert ray == local and len(local) >= 12  # same rows, ids, statuses, hashes, decisions
            assert asset == "raw_scrape" or 0 < sum(r["kept"] for r in local) < len(local)
        assert not Lake(str(tmp_path / "ray")).list(shard_prefix("raw_scrape", source, 2021))
        if source == "pairs_rs":
            statuses = {r["status"] for r in local}
            assert statuses == {"ok", "http_error", "prefiltered"}
            hits = [h for h in site.log if h.path.startswith(("/img/", "/gone"))]
            assert len(hits) == IMAGES + 1
            assert site.paths().count("/robots.txt") == 1  # one answer shared by every worker
            assert max_in_window([h.at for h in hits], 0.5) <= RPS / 2 + 3  # 2 workers x RPS: ~25


def test_rerun_after_a_crash_fetches_only_unfinished_shards(
    local_ray: None, project: tuple[Project, Site], tmp_path: Path
) -> None:
    proj, site = project
    lake = Lake(str(tmp_path / "lake"))
    cfg = proj.sources["pairs_rs"]
    scrape_sharded("pairs_rs", cfg, 2021, lake, SHARD)  # as if the run died before writing its table
    shards = [k for k in lake.list(shard_prefix("raw_scrape", "pairs_rs", 2021)) if k.endswith(".parquet")]
    assert len(shards) >= 3
    lost = lake.read_table(shards[0])
    lake.delete(shards[0])
    site.log.clear()
    meta = materialize(proj, tmp_path / "lake", "pairs_rs|2021", RAY, pool=False)
    assert meta["executor/shards_computed"].value == 1
    assert meta["executor/shards_reused"].value == len(shards) - 1
    requested = [h.path for h in site.log if h.path != "/robots.txt"]
    assert len(requested) == lost.num_rows  # the lost shard's URLs, nothing else
    materialize(proj, tmp_path / "local", "pairs_rs|2021", ExecutorResource(kind="local"), pool=False)
    ray = table(tmp_path / "lake", "raw_scrape", "pairs_rs")
    local = table(tmp_path / "local", "raw_scrape", "pairs_rs")
    revalidated = {r["record_id"] for r in lost.to_pylist() if r["status"] == "ok"}  # conditional GETs
    assert [r["record_id"] for r in ray] == [r["record_id"] for r in local]
    for got, want in zip(ray, local, strict=True):
        assert got == (want | {"http_status": 304} if got["record_id"] in revalidated else want)


def test_web_source_pages_on_the_driver_images_in_shards(local_ray: None, tmp_path: Path) -> None:
    """A feed of articles: pages fetched once by the run, their images by the shards, same rows."""
    site = Site()
    base = site.start()
    try:
        site.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
        items = ""
        for n in range(6):
            figures = "".join(f'<figure><img src="/img/{n}-{k}.jpg"></figure>' for k in range(3))
            page = (
                '<html><head><meta property="article:published_time" content="2021-05-05"></head><body>'
                f"<article><p>Aerial survey number {n} of the delta, seen by Sentinel-2.</p>{figures}"
                "</article></body></html>"
            )
            site.add(f"/a/{n}.html", page.encode())
            for k in range(3):
                site.add(f"/img/{n}-{k}.jpg", image_bytes(seed=10 * n + k), "image/jpeg")
            items += f"<item><title>A{n}</title><link>{base}/a/{n}.html</link></item>"
        items += f"<item><title>gone</title><link>{base}/a/gone.html</link></item>"
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>EO</title>{items}</channel></rss>'
        site.add("/feed.xml", feed.encode(), "application/rss+xml")
        body = {
            "kind": "web",
            "feed_url": f"{base}/feed.xml",
            "default_year": 2021,
            "allow_private_network": True,
            "retries": 0,
            "requests_per_second": 200,
        }
        source = parse_sources({"sources": {"eo": body}})["eo"]
        local = scrape_local("eo", source, 2021, Lake(str(tmp_path / "local")))
        site.log.clear()
        ray = scrape_sharded("eo", source, 2021, Lake(str(tmp_path / "ray")), 4)
        assert ray.stats["shards_computed"] >= 3 and ray.new_images == local.new_images == 18
        assert Counter(site.paths()) == Counter({p: 1 for p in {h.path for h in site.log}})  # each URL once
        rows = [sorted((r for r in s.rows), key=lambda r: r["record_id"]) for s in (local, ray)]
        assert [without_clock(r) for r in rows[1]] == [without_clock(r) for r in rows[0]]
        assert len(rows[0]) == 19
    finally:
        site.stop()


def test_request_budget_is_one_for_all_workers(
    local_ray: None, project: tuple[Project, Site], tmp_path: Path
) -> None:
    """`max_requests_per_run` counts every worker's requests (robots.txt included), not each one's."""
    proj, site = project
    cfg = proj.sources["pairs_rs"].model_copy(update={"max_requests_per_run": 11})
    site.log.clear()
    run = scrape_sharded("pairs_rs", cfg, 2021, Lake(str(tmp_path / "lake")), SHARD)
    statuses = Counter(r["status"] for r in run.rows)
    assert run.stats["shards_computed"] >= 3
    assert len(site.log) == 11 and statuses["request_cap"] == IMAGES + 1 - 10
