"""`kind: pairs`: a Parquet file on moto S3, images from a real site on 127.0.0.1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rs_assets.lib.connectors import fetch_items
from rs_assets.lib.connectors.pairs import keyword_pattern
from rs_assets.lib.ingest import to_row
from rs_assets.lib.lake import Lake
from rs_assets.lib.pool import RS_LEXICON
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    site = Site()
    base = site.start()
    site.add("/robots.txt", b"", "text/plain", status=404)
    for n in range(3):
        site.add(f"/img/{n}.jpg", image_bytes(seed=n), "image/jpeg")
    site.add("/img/page.jpg", b"<!doctype html><html>soft 404</html>", "image/jpeg")
    yield site, base
    site.stop()


def _put_parquet(rows: list[dict[str, Any]], bucket: str, key: str) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return f"s3://{bucket}/{key.rsplit('/', 1)[0]}/*.parquet"


def _source(path: str, **over: Any) -> Any:
    body = {
        "kind": "pairs",
        "path": path,
        "url_column": "url",
        "text_column": "caption",
        "id_column": "key",
        "date_column": "date",
        "default_year": 2021,
        "allow_private_network": True,
        "requests_per_second": 1000,
        "timeout_s": 2,
        **over,
    }
    return parse_sources({"sources": {"laion_rs": body}})["laion_rs"]


def test_pairs_from_s3_parquet(s3_env: str, site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    rows = [
        {
            "key": "a",
            "url": f"{base}/img/0.jpg",
            "caption": "Satellite image of a harbour",
            "date": "2021-06-01",
            "similarity": 0.31,
            "width": 96,
            "height": 80,
            "license": "CC-BY",
        },
        {
            "key": "b",
            "url": f"{base}/img/1.jpg",
            "caption": "A cat sleeping on a sofa",
            "date": None,
            "similarity": 0.2,
            "width": 96,
            "height": 80,
            "license": None,
        },
        {
            "key": "c",
            "url": f"{base}/img/404.jpg",
            "caption": "aerial view of farmland",
            "date": None,
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
        {
            "key": "d",
            "url": "",
            "caption": "Remote-sensing mosaic",
            "date": None,
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
        {
            "key": "e",
            "url": "ftp://example.org/x.jpg",
            "caption": "Landsat scene",
            "date": None,
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
        {
            "key": "a",
            "url": f"{base}/img/0.jpg",
            "caption": "Satellite image of a harbour",
            "date": "2021-06-01",
            "similarity": 0.31,
            "width": 96,
            "height": 80,
            "license": "CC-BY",
        },
        {
            "key": "f",
            "url": f"{base}/img/2.jpg",
            "caption": "Sentinel-2 tile",
            "date": "2019-01-01",
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
        {
            "key": "g",
            "url": "http://169.254.169.254/latest/meta-data/",
            "caption": "satellite",
            "date": None,
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
        {
            "key": "h",
            "url": f"{base}/img/page.jpg",
            "caption": "orthophoto of a town",
            "date": None,
            "similarity": 0.3,
            "width": 1,
            "height": 1,
            "license": None,
        },
    ]
    path = _put_parquet(rows, "pub11", "laion/part-0.parquet")
    lake = Lake("s3://rs-lake/lake")
    boto3.client("s3").create_bucket(Bucket="rs-lake")

    def run() -> dict[str, Any]:
        items = list(fetch_items("laion_rs", _source(path), 2021, lake))
        for item in items:
            row, content = to_row("laion_rs", item)
            if content is not None:
                lake.put_image(row["image_id"], row["image_ext"], content)
        assert len(items) == len({i.native_id for i in items})
        return {i.native_id: i for i in items}

    got = run()
    assert {k: v.status for k, v in got.items()} == {
        "a": "ok",
        "b": "prefiltered",
        "c": "http_error",
        "d": "invalid_url",
        "e": "invalid_url",
        "g": "blocked_address",
        "h": "bad_content_type",
    }
    a = got["a"]
    assert a.content == image_bytes(seed=0) and a.captured_at.year == 2021 and a.text.startswith("Satellite")
    assert a.extra == {"similarity": 0.31, "width": 96, "height": 80, "license": "CC-BY"}
    assert got["b"].error == "no RS keyword in the text" and got["c"].http_status == 404
    assert sorted(server.paths()) == ["/img/0.jpg", "/img/404.jpg", "/img/page.jpg", "/robots.txt"]

    before = len(server.log)
    again = run()
    assert {k: v.status for k, v in again.items()} == {k: v.status for k, v in got.items()}
    assert again["a"].content == a.content
    assert [(h.path, h.status) for h in server.log[before:] if h.path == "/img/0.jpg"] == [
        ("/img/0.jpg", 304)
    ]
    assert any(
        k.startswith("lake/state/http/laion_rs/")
        for k in (o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="rs-lake")["Contents"])
    )


def test_ssrf_guard_blocks_everything_without_opt_in(site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    urls = [
        f"{base}/img/0.jpg",
        base.replace("127.0.0.1", "localhost") + "/img/1.jpg",
        "http://10.0.0.1/x.jpg",
        "http://[::1]/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/x.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://192.168.1.1/",
        "http://224.0.0.1/x.jpg",
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"url": u, "caption": f"satellite {n}"}) for n, u in enumerate(urls))
    )
    source = _source(str(path), id_column=None, date_column=None, allow_private_network=False)
    got = list(fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake"))))
    assert len(got) == len(urls) and {i.status for i in got} == {"blocked_address"}
    assert server.log == []


def test_keyword_lexicon_and_year_config() -> None:
    pattern = keyword_pattern(RS_LEXICON)
    assert (
        pattern.search("An AERIAL photo") and pattern.search("remote-sensing data") and pattern.search("UAVs")
    )
    assert not pattern.search("a sentimental satellitez story") and not pattern.search("Sarah at the spa")
    with pytest.raises(SourcesConfigError, match="field 'date_column'"):
        parse_sources({"sources": {"p": {"kind": "pairs", "path": "x.parquet"}}})


def test_local_csv_glob(site: tuple[Site, str], tmp_path: Path) -> None:
    _, base = site
    for n in range(2):
        (tmp_path / f"part-{n}.csv").write_text(
            f"url,caption,year\n{base}/img/{n}.jpg,aerial view {n},2021\n"
        )
    source = _source(str(tmp_path / "part-*.csv"), id_column=None, date_column="year", keywords=["aerial"])
    got = list(fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake"))))
    assert sorted((i.native_id, i.status) for i in got) == [
        (f"{base}/img/0.jpg", "ok"),
        (f"{base}/img/1.jpg", "ok"),
    ]
