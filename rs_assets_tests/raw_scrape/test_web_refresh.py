"""Re-materialising `web` partitions through Dagster: history is kept, removals are marked, a broken
feed fails the run, and credentials in a feed URL go nowhere but that URL (loopback site)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.raw_scrape.rows import merge_rows
from rs_assets_tests.loopback_site import Site, image_bytes
from rs_assets_tests.materialize_worker import MaterializeWorker

pytestmark = pytest.mark.xdist_group("web_refresh")  # one Dagster instance for the module
USER, SECRET, LINK_SECRET, IMG_SECRET = "feeduser", "s3cretpw", "leak3dpw", "imgpw77"


@dataclass
class Env:
    site: Site
    base: str
    worker: MaterializeWorker
    home: Path

    @property
    def lake(self) -> Lake:
        return Lake(str(self.home / "lake"))


def _feed(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{link.rsplit('/', 1)[-1]}</title><link>{link}</link>"
        "<pubDate>Mon, 01 Feb 2021 10:00:00 GMT</pubDate></item>"
        for link in links
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def _page(*images: str) -> bytes:
    figures = "".join(f'<figure><img src="{i}" alt="scene"></figure>' for i in images)
    return (
        '<html><head><meta property="article:published_time" content="2021-02-01"></head><body><article>'
        f"<p>Sentinel-2 satellite image of farmland along a river, seen from orbit.</p>{figures}"
        "</article></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    site = Site()
    base = site.start()
    site.add("/robots.txt", b"", "text/plain", status=404)
    tmp = tmp_path_factory.mktemp("refresh")
    common = {
        "kind": "web",
        "default_year": 2021,
        "allow_private_network": True,
        "requests_per_second": 500,
        "retries": 0,
    }
    with_credentials = base.replace("//", f"//{USER}:{SECRET}@")
    sources = tmp / "sources.yaml"
    sources.write_text(
        json.dumps(
            {
                "sources": {
                    "refresh": {**common, "feed_url": f"{base}/refresh/feed.xml"},
                    "creds": {**common, "feed_url": f"{with_credentials}/creds/feed.xml"},
                }
            }
        )
    )
    worker = MaterializeWorker(sources, tmp / "home")
    try:
        yield Env(site, base, worker, tmp / "home")
    finally:
        worker.close()
        site.stop()


def _run(env: Env, source: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Materialise `source|2021` (all checks must pass); raw and pool rows by article name."""
    answer = env.worker.run(f"{source}|2021")
    assert answer["success"], answer["failures"]
    assert {k: v for k, v in answer["checks"].items() if not v} == {}
    assert {"raw_scrape:unique_keys", "filtered_pool:reconciliation"} <= set(answer["checks"])
    raw = env.lake.read_table(table_key("raw_scrape", source, 2021)).to_pylist()
    pool = {
        r["record_id"]: r for r in env.lake.read_table(table_key("filtered_pool", source, 2021)).to_pylist()
    }
    names = {r["record_id"]: r["page_url"].rsplit("/", 1)[-1].removesuffix(".html") for r in raw}
    assert len(set(names.values())) == len(raw) == len(pool)  # one record per article here
    return {names[r["record_id"]]: r for r in raw}, {names[k]: v for k, v in pool.items()}


def test_refresh_keeps_history_marks_removals_and_refuses_an_empty_feed(env: Env) -> None:
    site, base = env.site, env.base
    for seed, name in enumerate("abc", start=1):
        site.add(f"/refresh/{name}.html", _page(f"/refresh/{name}.jpg"))
        site.add(f"/refresh/{name}.jpg", image_bytes(seed=seed), "image/jpeg")

    def listing(*names: str) -> None:
        site.add(
            "/refresh/feed.xml", _feed([f"{base}/refresh/{n}.html" for n in names]), "application/rss+xml"
        )

    listing("a", "b")
    first, _ = _run(env, "refresh")
    assert {n: r["status"] for n, r in first.items()} == {"a": "ok", "b": "ok"}

    # A scrolled off the feed: its row is carried over unchanged, B is revalidated (304), C is new.
    listing("b", "c")
    before = len(site.log)
    second, pool = _run(env, "refresh")
    assert set(second) == set(pool) == {"a", "b", "c"}
    assert second["a"] == first["a"] and second["b"]["image_id"] == first["b"]["image_id"]
    hits = {h.path: h.status for h in site.log[before:] if h.path.startswith("/refresh/")}
    assert hits == {"/refresh/feed.xml": 200, "/refresh/b.html": 304, "/refresh/b.jpg": 304} | {
        "/refresh/c.html": 200,
        "/refresh/c.jpg": 200,
    }

    # A's page and B's image are gone at the origin: both are marked, their stored image kept.
    listing("a", "b", "c")
    del site.routes["/refresh/a.html"]
    site.add("/refresh/b.jpg", b"gone", "text/plain", status=410)
    third, pool = _run(env, "refresh")
    assert {n: (r["status"], r["http_status"]) for n, r in third.items() if n != "c"} == {
        "a": ("removed_at_origin", 404),
        "b": ("removed_at_origin", 410),
    }
    assert third["c"]["status"] == "ok" and "HTTP 404" in third["a"]["error"]
    assert [third[n]["image_id"] for n in "ab"] == [first[n]["image_id"] for n in "ab"]
    assert {n: p["drop_reason"] for n, p in pool.items() if n != "c"} == dict.fromkeys(
        "ab", "removed_at_origin"
    )

    # The feed URL now answers an HTML page with 200: the run fails naming it, the partition stays.
    partition = Path(env.lake.uri(table_key("raw_scrape", "refresh", 2021)))
    good = partition.read_bytes()
    site.add("/refresh/feed.xml", b"<html><body>Down for maintenance</body></html>")
    answer = env.worker.run("refresh|2021")
    assert not answer["success"]
    failure = " ".join(answer["failures"])
    assert f"{base}/refresh/feed.xml" in failure and "allow_empty" in failure
    assert partition.read_bytes() == good


def _stored_text(home: Path) -> str:
    """Everything written under `home` that could hold a URL: tables and their metadata, decompressed
    HTTP state, and the raw bytes of every other file (Dagster storage, logs)."""
    parts = []
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            parts.append(json.dumps(table.to_pylist(), default=str))
            parts.append(str(table.schema.metadata))
        elif path.name.endswith(".json.gz"):
            parts.append(gzip.decompress(path.read_bytes()).decode())
        else:
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_credentials_in_a_feed_url_reach_only_that_url_and_are_never_stored(env: Env) -> None:
    site, base = env.site, env.base
    site.add(
        "/creds/feed.xml",
        _feed(["/creds/a.html", base.replace("//", f"//someone:{LINK_SECRET}@") + "/creds/b.html"]),
        "application/rss+xml",
    )
    site.add("/creds/a.html", _page("a.jpg", base.replace("//", f"//img:{IMG_SECRET}@") + "/creds/x.jpg"))
    site.add("/creds/b.html", _page("/creds/b.jpg"))
    for seed, name in enumerate("abx", start=4):
        site.add(f"/creds/{name}.jpg", image_bytes(seed=seed), "image/jpeg")
    before = len(site.log)
    answer = env.worker.run("creds|2021")
    assert answer["success"], answer["failures"]
    hits = site.log[before:]
    sent = [(h.path, h.headers["authorization"]) for h in hits if "authorization" in h.headers]
    assert sent == [("/creds/feed.xml", "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode())]
    assert {h.path for h in hits} >= {f"/creds/{n}" for n in ("a.html", "b.html", "a.jpg", "b.jpg", "x.jpg")}

    raw = env.lake.read_table(table_key("raw_scrape", "creds", 2021)).to_pylist()
    assert sorted((r["url"], r["status"]) for r in raw) == [(f"{base}/creds/{n}.jpg", "ok") for n in "abx"]
    assert {r["page_url"] for r in raw} == {f"{base}/creds/a.html", f"{base}/creds/b.html"}
    stored = _stored_text(env.home)
    assert "creds/a.html" in stored  # the scan does read what was written
    assert [s for s in (SECRET, LINK_SECRET, IMG_SECRET, f"{USER}:") if s in stored] == []


# -- the merge itself (pure) ---------------------------------------------------------------------
T0, T1 = datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 6, 1, tzinfo=UTC)


def _row(
    native: str, status: str = "ok", http: int | None = 200, image: str | None = "img", **over: Any
) -> dict:
    page = native.split("#", 1)[0]
    return {
        "record_id": native,
        "native_id": native,
        "page_url": page,
        "url": None if native == page else native.split("=", 1)[1],
        "status": status,
        "error": None if status == "ok" else f"{status} {http}",
        "http_status": http,
        "image_id": image if status == "ok" else None,
        "fetched_at": T1,
        "title": "new",
        **over,
    }


def _old(native: str, **over: Any) -> dict:
    return _row(native, fetched_at=T0, title="old", image=f"img-{native}", **over)


def test_merge_rows_rules() -> None:
    previous = [
        _old("p1#image=a"),  # scrolled off the listing
        _old("p2#image=b"),  # revalidated ok
        _old("p2#image=c"),  # image gone (404)
        _old("p2#image=d"),  # image times out
        _old("p2#image=e"),  # image now carries a noai directive
        _old("p2#image=f", status="http_error", http=404),  # never fetched, still 404
        _old("p3#image=g"),  # page gone (410)
        _old("p4#image=h"),  # page times out
        _old("p5#image=i"),  # the edited page holds no image any more
        _old("p6#image=j"),  # robots.txt now disallows the page
    ]
    current = [
        _row("p2#image=b"),
        _row("p2#image=c", "http_error", 404),
        _row("p2#image=d", "timeout", None),
        _row("p2#image=e", "robots_disallowed", 200),
        _row("p2#image=f", "http_error", 404),
        _row("p2#image=n"),  # new
        _row("p3", "http_error", 410),
        _row("p4", "connection_error", None),
        _row("p5", "no_image", 200),
        _row("p6", "robots_disallowed", None),
        _row("p7", "http_error", 404),  # a page never seen before
    ]
    merged = {r["record_id"]: r for r in merge_rows(previous, current)}
    old, new = {r["record_id"]: r for r in previous}, {r["record_id"]: r for r in current}
    assert len(merged) == len(merge_rows(previous, current))

    def outcome(rid: str) -> tuple[Any, ...]:
        r = merged[rid]
        return r["status"], r["image_id"], r["title"], r["http_status"], r["fetched_at"]

    assert merged["p1#image=a"] == old["p1#image=a"] and merged["p2#image=d"] == old["p2#image=d"]
    assert merged["p4#image=h"] == old["p4#image=h"] and merged["p5#image=i"] == old["p5#image=i"]
    assert merged["p2#image=b"] == new["p2#image=b"] and merged["p2#image=n"] == new["p2#image=n"]
    assert merged["p2#image=f"] == new["p2#image=f"] and merged["p7"] == new["p7"]
    assert merged["p5"] == new["p5"]
    assert outcome("p2#image=c") == ("removed_at_origin", "img-p2#image=c", "old", 404, T1)
    assert outcome("p3#image=g") == ("removed_at_origin", "img-p3#image=g", "old", 410, T1)
    assert outcome("p2#image=e") == ("robots_disallowed", "img-p2#image=e", "old", 200, T1)
    assert outcome("p6#image=j") == ("robots_disallowed", "img-p6#image=j", "old", None, T1)
    assert merged["p3#image=g"]["error"] == "http_error 410"
    # a page row that only repeats what its earlier records now say is not a record of its own
    assert not {"p3", "p4", "p6"} & set(merged)
    assert merge_rows([], current) == current and merge_rows(previous, []) == previous
