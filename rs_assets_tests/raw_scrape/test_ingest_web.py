"""`kind: web` against a real site on 127.0.0.1: discovery, extraction, politeness, safety, incrementality."""

from __future__ import annotations

import gzip
import json
import logging
import re
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.raw_scrape.connectors.article import parse_article
from rs_assets.lib.raw_scrape.connectors.discover import SITEMAP_MAX_BYTES, DiscoveryError
from rs_assets.lib.raw_scrape.connectors.guard import BlockedAddress
from rs_assets.lib.raw_scrape.connectors.http import Fetcher
from rs_assets.lib.raw_scrape.rows import to_row
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes

FLOOD = """<!doctype html><html><head><title>Floods | EO News</title>
<meta property="og:title" content="Mississippi floods seen from orbit">
<meta property="og:image" content="/img/flood.jpg"><meta property="og:image:alt" content="Flooded fields">
<meta property="article:published_time" content="2021-03-04T10:00:00Z">
<link rel="canonical" href="/articles/flood.html"></head>
<body><header><nav><a href="/">Home</a><img src="/img/logo.png" alt="logo"></nav></header>
<article><h1>Mississippi floods</h1>
<p>Landsat 8 acquired this false-colour image of the swollen river near New Orleans on 2 March.
The scene centre lies at 29.95° N, 90.07° W, where the levees held back the water for a week.</p>
<figure><img src="../img/flood.jpg" alt="River in flood, false colour">
<figcaption>Floodwater covers the fields.
<span class="credit">NASA Earth Observatory / Landsat</span></figcaption>
</figure>
<p>Analysts compared the scene with an acquisition from last year to measure the flooded area
in detail.</p>
<figure><img src="/img/missing.jpg" alt="gone">
<figcaption>A lost figure. Image credit: ESA</figcaption></figure>
<figure><img src="/img/throttled.jpg"></figure><figure><img src="/img/fake.jpg"></figure>
<figure><img src="/img/as-html.jpg"></figure><figure><img src="/img/huge.jpg"></figure>
<figure><img src="/img/stream.jpg"></figure><figure><img src="/img/metadata.jpg"></figure>
<figure><img src="/private/photo.jpg"></figure><figure><img src="/img/slow.jpg"></figure>
<figure><img src="/img/noai.jpg"></figure><figure><img src="data:image/gif;base64,R0lGOD"></figure>
</article><footer><img src="/img/footer-badge.png"> Copyright EO News</footer></body></html>"""

LATIN = (
    """<html><head><meta charset="windows-1252"><title>Gletscher bei Zürich</title>
<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2021-07-01",
 "contentLocation": {"@type": "Place", "name": "Zürich",
 "geo": {"latitude": 47.37, "longitude": 8.54}}}</script>
</head><body><main><p>Sentinel-2 zeigt den Rückgang des Gletschers “deutlich” – über zwanzig
Jahre Messungen aus dem All, verglichen mit Luftbildern aus den Archiven der Schweiz.</p>
<figure><img src="glacier.png" alt="Gletscher, Falschfarben"><figcaption>Der Gletscher im Juli.
(Credit: ESA / Copernicus)</figcaption></figure></main></body></html>"""
).encode("cp1252")

TEXT_ONLY = b"""<html><head><meta property="article:published_time" content="2021-05-05"></head>
<body><article>
<p>No pictures in this piece about remote sensing policy, just words about satellites and sensors.</p>
</article></body></html>"""


def _simple(image: str, date: str) -> bytes:
    return (
        f'<html><head><meta property="article:published_time" content="{date}"></head><body><article>'
        f'<p>A short note about an aerial survey.</p><figure><img src="{image}"></figure>'
        "</article></body></html>"
    ).encode()


def _feed(base: str) -> bytes:
    items = [
        ("Floods", "/articles/flood.html", "Thu, 04 Mar 2021 10:00:00 GMT"),
        ("Floods again", "/articles/flood.html?utm_source=rss", "Thu, 04 Mar 2021 10:00:00 GMT"),
        ("Secret", "/private/secret.html", "Fri, 05 Mar 2021 10:00:00 GMT"),
        ("Gletscher", "/articles/latin.html", None),
        ("Old", "/articles/old.html", "Mon, 01 Apr 2019 10:00:00 GMT"),
        ("No AI", "/articles/noai.html", "Tue, 06 Apr 2021 10:00:00 GMT"),
        ("Words", "/articles/text-only.html", "Wed, 05 May 2021 10:00:00 GMT"),
        ("Gone", "/articles/gone.html", "Thu, 06 May 2021 10:00:00 GMT"),
    ]
    xml = "".join(
        f"<item><title>{t}</title><link>{base}{link}</link>"
        + (f"<pubDate>{d}</pubDate>" if d else "")
        + "</item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>EO</title>{xml}</channel></rss>'.encode()


def _throttled(headers: dict[str, str], nth: int) -> tuple[int, dict[str, str], bytes]:
    if nth == 1:
        return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"
    return 200, {"Content-Type": "image/jpeg"}, image_bytes(seed=3)  # no validators: trusted on re-run


def _slow(headers: dict[str, str], nth: int) -> tuple[int, dict[str, str], bytes]:
    import time

    time.sleep(0.6)
    return 200, {"Content-Type": "image/jpeg"}, image_bytes(seed=4)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every outgoing connection is recorded and anything but 127.0.0.1 fails the test."""
    seen: list[tuple[Any, ...]] = []
    real = socket.create_connection

    def guarded(address: tuple[Any, ...], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        assert address[0] == "127.0.0.1", f"connected to {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return seen


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    site = Site()
    base = site.start()
    site.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add("/feed.xml", _feed(base), "application/rss+xml")
    site.add("/articles/flood.html", FLOOD.encode())
    site.add("/articles/flood.html?utm_source=rss", FLOOD.encode())
    site.add("/articles/latin.html", LATIN)
    site.add("/articles/old.html", _simple("/img/flood.jpg", "2019-04-01"))
    site.add("/articles/a.html", _simple("/img/flood.jpg", "2021-01-01"))
    site.add("/articles/b.html", _simple("/img/b.jpg", "2021-01-02"))
    site.add("/articles/noai.html", FLOOD.encode(), X_Robots_Tag="noai, noimageai")
    site.add("/articles/text-only.html", TEXT_ONLY)
    site.add("/img/flood.jpg", image_bytes(seed=1), "image/jpeg")
    site.add("/articles/glacier.png", image_bytes("PNG", seed=2), "image/png")
    site.routes["/img/throttled.jpg"] = _throttled
    site.routes["/img/slow.jpg"] = _slow
    site.add("/img/fake.jpg", b"<html><body>Please log in</body></html>", "image/jpeg")
    site.add("/img/as-html.jpg", image_bytes(seed=5), "text/html; charset=utf-8")
    site.add("/img/huge.jpg", image_bytes(seed=6) + b"\0" * 5000, "image/jpeg")
    site.add("/img/stream.jpg", image_bytes(seed=7) + b"\0" * 5000, "image/jpeg", X_Stream="1")
    site.add(
        "/img/metadata.jpg",
        b"",
        "image/jpeg",
        status=302,
        Location="http://169.254.169.254/latest/meta-data/",
    )
    site.add("/img/noai.jpg", image_bytes(seed=8), "image/jpeg", X_Robots_Tag="rs_assets: noimageai")
    site.add("/private/photo.jpg", image_bytes(seed=9), "image/jpeg")
    yield site, base
    site.stop()


def _source(base: str, **over: Any) -> Any:
    body = {
        "kind": "web",
        "feed_url": f"{base}/feed.xml",
        "default_year": 2020,
        "allow_private_network": True,
        "requests_per_second": 500,
        "max_concurrency": 8,
        "timeout_s": 0.3,
        "retries": 1,
        "max_bytes": 4000,
        **over,
    }
    return parse_sources({"sources": {"eo": body}})["eo"]


def _ingest(source: Any, lake: Lake, year: int = 2021) -> dict[str, RawItem]:
    """What the raw_scrape asset does with each item: store ok bytes content-addressed."""
    items = list(fetch_items("eo", source, year, lake))
    for item in items:
        row, content = to_row("eo", item)
        if content is not None:
            lake.put_image(row["image_id"], row["image_ext"], content)
    by_key = {(i.url or i.page_url or "").rsplit("/", 1)[-1]: i for i in items}
    assert len(by_key) == len(items) == len({i.native_id for i in items})
    return by_key


def test_web_outcomes_politeness_and_rerun(
    site: tuple[Site, str], tmp_path: Path, loopback_only: list[tuple[Any, ...]]
) -> None:
    server, base = site
    lake = Lake(str(tmp_path / "lake"))
    got = _ingest(_source(base), lake)
    status = {k: (v.status, v.error) for k, v in got.items()}
    assert {k: s for k, (s, _) in status.items()} == {
        "flood.jpg": "ok",
        "missing.jpg": "http_error",
        "throttled.jpg": "ok",
        "fake.jpg": "bad_content_type",
        "as-html.jpg": "bad_content_type",
        "huge.jpg": "too_large",
        "stream.jpg": "too_large",
        "metadata.jpg": "blocked_address",
        "photo.jpg": "robots_disallowed",
        "slow.jpg": "timeout",
        "noai.jpg": "robots_disallowed",
        "glacier.png": "ok",
        "secret.html": "robots_disallowed",
        "noai.html": "robots_disallowed",
        "text-only.html": "no_image",
        "gone.html": "http_error",
    }
    assert "169.254.169.254" in status["metadata.jpg"][1] and "metadata" in status["metadata.jpg"][1]
    assert status["noai.jpg"][1] == "X-Robots-Tag: noimageai"
    assert status["noai.html"][1] == "X-Robots-Tag: noai"
    assert "Content-Length" in status["huge.jpg"][1] and "max_bytes" in status["stream.jpg"][1]
    assert got["missing.jpg"].http_status == 404 and got["gone.html"].http_status == 404

    flood = got["flood.jpg"]
    assert flood.page_url == f"{base}/articles/flood.html" and flood.url == f"{base}/img/flood.jpg"
    assert flood.title == "Floods" and flood.captured_at.isoformat().startswith("2021-03-04")
    assert flood.alt_text == "Flooded fields" and flood.credits == "NASA Earth Observatory / Landsat"
    assert flood.extra["caption"] == "Floodwater covers the fields."
    assert "levees held back the water" in flood.text and "Copyright EO News" not in flood.text
    assert (flood.lat, flood.lon) == (29.95, -90.07)
    assert got["missing.jpg"].credits == "ESA" and got["missing.jpg"].extra["caption"] == "A lost figure."

    glacier = got["glacier.png"]  # windows-1252 page, relative image, JSON-LD date and geo, no feed date
    assert glacier.title == "Gletscher" and "Rückgang des Gletschers “deutlich” – über" in glacier.text
    assert glacier.alt_text == "Gletscher, Falschfarben" and glacier.credits == "ESA / Copernicus"
    assert glacier.captured_at.isoformat().startswith("2021-07-01") and (glacier.lat, glacier.lon) == (
        47.37,
        8.54,
    )
    assert glacier.extra["place"] == "Zürich" and glacier.year == 2021

    paths = server.paths()
    assert paths.count("/robots.txt") == 1 and paths.count("/img/throttled.jpg") == 2
    assert not [
        p
        for p in paths
        if p.startswith("/private/") or p in ("/articles/old.html", "/img/logo.png", "/img/footer-badge.png")
    ]
    assert {a[0] for a in loopback_only} == {"127.0.0.1"}

    # Re-run: no image bytes travel again. Validated URLs answer 304, unvalidated ones are not requested.
    before = len(server.log)
    again = _ingest(_source(base), lake)
    assert {k: v.status for k, v in again.items()} == {k: s for k, (s, _) in status.items()}
    assert (
        again["flood.jpg"].content == flood.content
        and again["throttled.jpg"].content == got["throttled.jpg"].content
    )
    image_hits = [h for h in server.log[before:] if h.path.startswith("/img/") or h.path.endswith(".png")]
    ok_hits = [h for h in image_hits if h.path in ("/img/flood.jpg", "/articles/glacier.png")]
    assert [h.status for h in ok_hits] == [304, 304] and all(h.headers.get("if-none-match") for h in ok_hits)
    assert "/img/throttled.jpg" not in [h.path for h in image_hits]


def test_other_years_are_not_fetched(site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    got = list(fetch_items("eo", _source(base), 2019, Lake(str(tmp_path / "lake"))))
    assert {i.page_url for i in got} == {f"{base}/articles/old.html"} and all(i.year == 2019 for i in got)
    assert "/articles/flood.html" not in server.paths()


def test_undated_articles_belong_to_the_default_year(site: tuple[Site, str], tmp_path: Path) -> None:
    """No date in the listing nor on the page (or no page at all): the record is in `default_year`,
    never lost; so a web source cannot be configured without one."""
    server, base = site
    server.add("/undated.html", b'<article><p>Aerial survey.</p><figure><img src="/img/flood.jpg"></figure>')
    server.add("/news.html", b'<a href="/undated.html">a</a><a href="/vanished.html">b</a>')
    listing = _source(base, feed_url=None, start_urls=[f"{base}/news.html"])
    got = {i.page_url.rsplit("/", 1)[-1]: i for i in fetch_items("eo", listing, 2020, Lake(str(tmp_path)))}
    assert {k: (v.status, v.year) for k, v in got.items()} == {
        "undated.html": ("ok", 2020),
        "vanished.html": ("http_error", 2020),
    }
    assert list(fetch_items("eo", listing, 2021, Lake(str(tmp_path)))) == []
    with pytest.raises(SourcesConfigError, match=r"field 'default_year': .*set default_year"):
        parse_sources({"sources": {"eo": {"kind": "web", "feed_url": f"{base}/feed.xml"}}})


def test_ssrf_guard_sends_nothing_without_opt_in(site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    for host in (base, base.replace("127.0.0.1", "localhost")):
        with pytest.raises(DiscoveryError, match="blocked_address"):
            list(fetch_items("eo", _source(host, allow_private_network=False), 2021, Lake(str(tmp_path))))
    assert server.log == []


def test_listing_pagination_and_sitemap(site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    server.add(
        "/news/1.html",
        b'<a href="/articles/a.html">a</a><a href="/about.html">x</a>'
        b'<a rel="next" href="/news/2.html">more</a>',
    )
    server.add("/news/2.html", b'<a href="/articles/b.html">b</a><a rel="next" href="/news/1.html">loop</a>')
    listing = _source(base, feed_url=None, start_urls=[f"{base}/news/1.html"], link_pattern=r"/articles/")
    got = list(fetch_items("eo", listing, 2021, Lake(str(tmp_path / "a"))))
    assert {(i.page_url.rsplit("/", 1)[-1], i.status) for i in got} == {
        ("a.html", "ok"),
        ("b.html", "http_error"),
    }
    assert server.paths().count("/news/1.html") == 1 and "/about.html" not in server.paths()

    server.add(
        "/sitemap.xml",
        f"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>{base}/articles/latin.html</loc></url>
      <url><loc>{base}/articles/old.html</loc><news:news><news:publication_date>2019-04-01</news:publication_date>
      </news:news></url></urlset>""".encode(),
        "application/xml",
    )
    got = list(
        fetch_items(
            "eo",
            _source(base, feed_url=None, sitemap_url=f"{base}/sitemap.xml"),
            2021,
            Lake(str(tmp_path / "b")),
        )
    )
    assert [i.url.rsplit("/", 1)[-1] for i in got] == ["glacier.png"]


def test_unparsable_links_in_a_sitemap_or_listing_are_rows(site: tuple[Site, str], tmp_path: Path) -> None:
    """One `http://[::1` link crashed discovery (urljoin raises ValueError), failing the partition."""
    server, base = site
    server.add(
        "/sitemap.xml",
        f"<urlset><url><loc>http://[::1/articles/x.html</loc></url>"
        f"<url><loc>{base}/articles/latin.html</loc></url></urlset>".encode(),
        "application/xml",
    )
    server.add(
        "/news.html", f'<a href="http://[::1/articles/y">y</a><a href="{base}/articles/a.html">a</a>'.encode()
    )
    for name, listing in [
        ("sitemap", {"sitemap_url": f"{base}/sitemap.xml"}),
        ("listing", {"start_urls": [f"{base}/news.html"], "link_pattern": "/articles/"}),
    ]:
        source = _source(base, feed_url=None, default_year=2021, **listing)  # undated failures: 2021
        got = {i.page_url: i for i in fetch_items("eo", source, 2021, Lake(str(tmp_path / name)))}
        bad = "http://[::1/articles/x.html" if name == "sitemap" else "http://[::1/articles/y"
        assert got[bad].status == "invalid_url" and got[bad].url is None
        assert {i.status for u, i in got.items() if u != bad} == {"ok"}


def test_parse_article_meta_robots_and_fallbacks() -> None:
    page = parse_article(
        b'<html><head><meta name="robots" content="index, noai"><meta name="ICBM" '
        b'content="-33.86, 151.21"></head><body><p>x</p></body></html>',
        "https://h/a",
    )
    assert page["noai"] == "noai" and (page["lat"], page["lon"]) == (-33.86, 151.21) and page["images"] == []
    assert parse_article(b"", "https://h/b")["title"] is None


def test_connection_pool_enforces_the_guard_itself(site: tuple[Site, str]) -> None:
    """Even a request that skips the pre-check (DNS rebinding between check and connect) is refused
    where the socket would be opened."""
    server, base = site
    with Fetcher(_source(base, allow_private_network=False)) as fetcher, pytest.raises(BlockedAddress):
        fetcher.client.get(f"{base}/feed.xml")
    assert server.log == []


def test_gzip_sitemap_beyond_the_cap_or_corrupt_is_a_clear_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The 50 MB cap cut a bigger `.xml.gz` short and lxml's recovering parser read what was left:
    a silently partial (or empty) partition. Corrupt gzip raised a bare zlib.error."""
    sitemap = b'<?xml version="1.0"?><urlset><url><loc>/articles/a.html</loc></url>'
    bomb = gzip.compress(sitemap + b" " * SITEMAP_MAX_BYTES + b"</urlset>", compresslevel=1)
    whole = gzip.compress(sitemap + b"</urlset>")
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    for name, body in [
        ("bomb", bomb),
        ("cut", whole[: len(whole) // 2]),
        ("junk", b"\x1f\x8b" + b"junk" * 9),
    ]:
        httpserver.expect_request(f"/{name}.xml.gz").respond_with_data(body, content_type="application/gzip")
    for name, error in [
        ("bomb", f"decompresses to more than {SITEMAP_MAX_BYTES} bytes"),
        ("cut", "truncated gzip"),
        ("junk", "not gzip"),
    ]:
        url = httpserver.url_for(f"/{name}.xml.gz")
        source = _source(httpserver.url_for(""), feed_url=None, sitemap_url=url, max_bytes=1_000_000)
        with pytest.raises(DiscoveryError, match=re.escape(f"sitemap {url}: {error}")):
            list(fetch_items("eo", source, 2021, Lake(str(tmp_path))))
    assert "/articles/a.html" not in [r.path for r, _ in httpserver.log]


def test_a_listing_that_lists_nothing_fails_unless_allowed(site: tuple[Site, str], tmp_path: Path) -> None:
    """An HTML page answering 200 at the feed URL, or a listing without article links, is a broken
    source, not an empty one: the run fails naming the URL (`allow_empty: true` accepts it)."""
    server, base = site
    server.add("/feed.xml", b"<html><body>Down for maintenance</body></html>")
    server.add("/news.html", b'<a href="/about.html">About</a>')
    listing = {"feed_url": None, "start_urls": [f"{base}/news.html"], "link_pattern": "/articles/"}
    for over, url in (({}, f"{base}/feed.xml"), (listing, f"{base}/news.html")):
        with pytest.raises(DiscoveryError, match=rf"{re.escape(url)}.*allow_empty"):
            list(fetch_items("eo", _source(base, **over), 2021, Lake(str(tmp_path))))
        assert (
            list(fetch_items("eo", _source(base, allow_empty=True, **over), 2021, Lake(str(tmp_path)))) == []
        )


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"",
        lambda data: b"\x00garbage, not gzip",
        lambda data: gzip.compress(gzip.decompress(data)[:-9]),
        lambda data: gzip.compress(b"[1, 2, 3]"),
        lambda data: gzip.compress(b'{"http://h/x": 1}'),
    ],
    ids=["truncated", "empty", "garbage", "truncated-json", "not-a-mapping", "bad-entry"],
)
def test_an_unreadable_http_state_is_a_miss_and_rewritten(
    site: tuple[Site, str], tmp_path: Path, caplog: pytest.LogCaptureFixture, corrupt: Any
) -> None:
    server, base = site
    server.add("/news.html", b'<a href="/articles/a.html">a</a>')
    source, lake = _source(base, feed_url=None, start_urls=[f"{base}/news.html"]), Lake(str(tmp_path))
    first = {i.native_id: (i.status, i.content) for i in fetch_items("eo", source, 2021, lake)}
    path = Path(lake.uri("state/http/eo/2021.json.gz"))
    path.write_bytes(corrupt(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="rs_assets.lib.raw_scrape.connectors.state"):
        again = {i.native_id: (i.status, i.content) for i in fetch_items("eo", source, 2021, lake)}
    assert again == first and [s for s, _ in first.values()] == ["ok"]
    assert str(path) in caplog.text and "unreadable" in caplog.text
    assert set(json.loads(gzip.decompress(path.read_bytes()))) == {
        f"{base}/articles/a.html",
        f"{base}/img/flood.jpg",
    }


def test_images_per_article_and_requests_per_run_are_capped(site: tuple[Site, str], tmp_path: Path) -> None:
    """A page with 2000 images costs `max_images_per_item` requests and says how many it skipped; a
    run stops sending at `max_requests_per_run` and records what it did not request."""
    server, base = site
    figures = "".join(f'<figure><img src="/many/{n}.jpg"></figure>' for n in range(2000))
    server.add(
        "/many.html",
        _simple("/many/0.jpg", "2021-06-01").replace(b"</article>", figures.encode() + b"</article>"),
    )
    server.add("/index.html", b'<a href="/many.html">many</a>')
    for n in range(20):
        server.add(f"/many/{n}.jpg", image_bytes(seed=n), "image/jpeg")
    listing = {"feed_url": None, "start_urls": [f"{base}/index.html"], "max_bytes": 1_000_000}
    got = list(fetch_items("eo", _source(base, **listing), 2021, Lake(str(tmp_path / "a"))))
    assert Counter(i.status for i in got) == {"ok": 20, "item_image_cap": 1}
    capped = next(i for i in got if i.status == "item_image_cap")
    assert (
        capped.page_url == f"{base}/many.html"
        and "1980" in capped.error
        and "max_images_per_item 20" in capped.error
    )
    assert len([p for p in server.paths() if p.startswith("/many/")]) == 20

    before = len(server.log)
    small = _source(base, max_requests_per_run=10, **listing)
    got = list(fetch_items("eo", small, 2021, Lake(str(tmp_path / "b"))))
    assert len(server.log) - before == 10  # robots.txt, listing, page and 7 images
    assert Counter(i.status for i in got) == {"ok": 7, "request_cap": 13, "item_image_cap": 1}
    assert all("max_requests_per_run 10" in i.error for i in got if i.status == "request_cap")
