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

from rs_assets.lib.filtered_pool.lexicon import rs_text_score
from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors import fetch_items, redact_url
from rs_assets.lib.raw_scrape.connectors.files import read_rows
from rs_assets.lib.raw_scrape.connectors.pairs import keyword_matcher
from rs_assets.lib.raw_scrape.rows import to_row
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


RS_TEXTS = ["satellites", "Landsats", "sentinel2", "Sentinel-2", "SAR", "An AERIAL photo", "remote  sensing"]
NON_RS_TEXTS = ["Sarah at the spa", "sentimental", "the sar is a river", "SARS outbreak", "unsatellite"]


def test_prefilter_is_the_pool_lexicon() -> None:
    """A text is prefiltered exactly when filtered_pool would score it 0: no download is paid for a
    row the pool then drops as not_remote_sensing, and no row the pool would keep is skipped."""
    passes = keyword_matcher(_source("x.parquet"))
    assert passes is not None
    for text in RS_TEXTS:
        assert rs_text_score(text) > 0 and passes(text), text
    for text in NON_RS_TEXTS:
        assert rs_text_score(text) == 0 and not passes(text), text
    assert keyword_matcher(_source("x.parquet", keyword_prefilter=False)) is None


def test_own_keywords_use_the_pool_matcher() -> None:
    passes = keyword_matcher(_source("x.parquet", keywords=["aerial", "Sentinel-2", "SAR"]))
    assert passes is not None
    assert all(passes(t) for t in ("Aerials of a farm", "Sentinel2 tile", "Sentinel_2", "SARs"))
    assert not any(passes(t) for t in ("Sarah", "sentinel-2 tile", "satellite", "SARS"))


@pytest.mark.parametrize("extra", [{}, {"date_column": "date"}])
def test_pairs_need_a_default_year(extra: dict[str, str]) -> None:
    """An undated row is never lost: its year is the source's default_year, which is required."""
    with pytest.raises(SourcesConfigError, match=r"field 'default_year': .*set default_year"):
        parse_sources({"sources": {"p": {"kind": "pairs", "path": "x.parquet", **extra}}})


def test_csv_cells_are_text_whatever_the_first_block_says(tmp_path: Path) -> None:
    """pyarrow typed CSV columns from the first block; a later block that disagreed crashed the run."""
    path = tmp_path / "pairs.csv"
    lines = [f"{n},http://h/{n}.jpg,satellite view number {n} {'x' * 80},2021" for n in range(10_000)]
    path.write_text("key,url,caption,year\n" + "\n".join([*lines, "a1b2,http://h/a.jpg,satellite,", ""]))
    rows = list(read_rows(str(path)))
    assert len(rows) == 10_001 and rows[0] == {
        "key": "0",
        "url": "http://h/0.jpg",
        "caption": f"satellite view number 0 {'x' * 80}",
        "year": "2021",
    }
    assert rows[-1] == {"key": "a1b2", "url": "http://h/a.jpg", "caption": "satellite", "year": None}


def test_redact_url() -> None:
    url = "https://user:p%40ss@cdn.example.org/a.jpg?token=t1&w=96&X-Amz-Signature=s1&X-Amz-Credential=c1"
    assert redact_url(url) == (
        "https://cdn.example.org/a.jpg?token=REDACTED&w=96&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"
    )
    text = "not an http(s) URL: 'ftp://u:pw@h.org/x?sig=S1&key=K1&monkey=2#access_token=A1'"
    assert redact_url(text) == (
        "not an http(s) URL: 'ftp://h.org/x?sig=REDACTED&key=REDACTED&monkey=2#access_token=REDACTED'"
    )
    assert redact_url("https://h.org/a@b.jpg?signature=") == "https://h.org/a@b.jpg?signature=REDACTED"


def test_no_credentials_in_errors_or_extra(site: tuple[Site, str], tmp_path: Path) -> None:
    server, base = site
    server.add("/img/signed.jpg?key=K1", b"", "image/jpeg", status=302, Location="/img/0.jpg?sig=S2&w=1")
    server.add("/img/0.jpg?sig=S2&w=1", image_bytes(seed=0), "image/jpeg")
    rows = [
        {"url": "ftp://user:hunter2@example.org/x.jpg?token=T1", "caption": "satellite"},
        {"url": f"{base}/img/signed.jpg?key=K1", "caption": "satellite"},
        {
            "url": base.replace("//", "//user:hunter2@") + "/img/404.jpg?access_token=A1",
            "caption": "satellite",
        },
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    source = _source(str(path), id_column=None, date_column=None)
    got = {i.url: i for i in fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake")))}
    assert [got[r["url"]].status for r in rows] == ["invalid_url", "ok", "http_error"]
    assert got[rows[0]["url"]].error == "not an http(s) URL: 'ftp://example.org/x.jpg?token=REDACTED'"
    assert got[rows[1]["url"]].extra["final_url"] == f"{base}/img/0.jpg?sig=REDACTED&w=1"
    stored = json.dumps([(i.error, i.extra) for i in got.values()])
    assert not any(secret in stored for secret in ("hunter2", "T1", "K1", "S2", "A1"))


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


def test_unparsable_urls_are_rows_not_crashes(site: tuple[Site, str], tmp_path: Path) -> None:
    """`http://[::1` and port 99999 crashed the whole partition (urlsplit raises ValueError)."""
    server, base = site
    port = base.rsplit(":", 1)[1]
    urls = ["http://[::1", f"{base.replace(port, '99999')}/img/1.jpg", f"{base}/img/0.jpg"]
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"url": u, "caption": f"satellite {n}"}) for n, u in enumerate(urls))
    )
    for id_column in (None, "key"):  # identity from the URL, or a native id and the fetcher's own check
        source = _source(str(path), id_column=id_column, date_column=None)
        got = {i.url: i for i in fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake")))}
        assert {u: got[u].status for u in urls} == {
            urls[0]: "invalid_url",
            urls[1]: "invalid_url",
            urls[2]: "ok",
        }
        assert "port" in got[urls[1]].error
    assert "/img/1.jpg" not in server.paths()


def test_bad_jsonl_lines_are_rows_naming_file_and_line(site: tuple[Site, str], tmp_path: Path) -> None:
    _, base = site
    path = tmp_path / "pairs.jsonl"
    lines = [
        json.dumps({"url": f"{base}/img/0.jpg", "caption": "satellite"}),
        '{"url": "http://h/cut-off.jpg", "capt',
        "[1, 2]",
        "",
        '"just text"',
        json.dumps({"url": f"{base}/img/1.jpg", "caption": "aerial"}),
    ]
    path.write_text("\n".join(lines) + "\n")
    source = _source(str(path), id_column=None)
    got = list(fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake"))))
    assert sorted(i.status for i in got) == ["invalid_row"] * 3 + ["ok"] * 2
    bad = sorted(i.error or "" for i in got if i.status == "invalid_row")
    assert [e.split(": ", 1)[0] for e in bad] == [f"{path}:2", f"{path}:3", f"{path}:5"]
    assert bad[0].startswith(f"{path}:2: not JSON (")
    assert bad[1:] == [f"{path}:3: not a JSON object: list", f"{path}:5: not a JSON object: str"]
    rows = [to_row("laion_rs", i)[0] for i in got]
    assert len({r["record_id"] for r in rows}) == 5
    assert list(fetch_items("laion_rs", source, 2020, Lake(str(tmp_path / "lake")))) == []  # default year


def test_csv_with_a_10mb_cell_and_bad_rows(site: tuple[Site, str], tmp_path: Path) -> None:
    """pyarrow's 1 MB blocks failed on a bigger cell ("straddling object"), and on a quoted newline."""
    _, base = site
    path = tmp_path / "pairs.csv"
    huge = "satellite " + "x" * 10_000_000
    path.write_text(
        "url,caption,year\n"
        f"{base}/img/0.jpg,{huge},2021\n"
        f'{base}/img/1.jpg,"aerial view\nof a port",2021\n'
        f"{base}/img/2.jpg,too,many,cells\n"
        f"{base}/img/2.jpg,satellite,2021\n"
    )
    source = _source(str(path), id_column=None, date_column="year")
    got = {i.native_id: i for i in fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake")))}
    assert sorted(i.status for i in got.values()) == ["invalid_row", "ok", "ok", "ok"]
    assert got[f"{base}/img/0.jpg"].text == huge and got[f"{base}/img/1.jpg"].text == "aerial view\nof a port"
    (bad,) = (i for i in got.values() if i.status == "invalid_row")
    assert bad.error == f"{path}:5: 4 cells, the header has 3" and bad.native_id == f"{path}:5"


@pytest.mark.parametrize(
    "name", ["empty.csv", "header.csv", "empty.jsonl", "empty.parquet", "no_rows.parquet"]
)
def test_a_source_without_rows_is_a_clear_error(name: str, tmp_path: Path) -> None:
    """An empty export would look like a successful empty partition: fail, naming the file."""
    path = tmp_path / name
    if name == "header.csv":
        path.write_text("url,caption\n")
    elif name == "no_rows.parquet":
        pq.write_table(pa.table({"url": pa.array([], pa.string())}), path)
    else:
        path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"{path}: no rows"):
        list(fetch_items("laion_rs", _source(str(path)), 2021, Lake(str(tmp_path / "lake"))))


def test_an_empty_or_corrupt_file_among_others(
    site: tuple[Site, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, base = site
    (tmp_path / "part-0.jsonl").write_text(json.dumps({"url": f"{base}/img/0.jpg", "caption": "satellite"}))
    (tmp_path / "part-1.jsonl").write_bytes(b"")
    source = _source(str(tmp_path / "part-*.jsonl"), id_column=None, date_column=None)
    got = list(fetch_items("laion_rs", source, 2021, Lake(str(tmp_path / "lake"))))
    assert [i.status for i in got] == ["ok"]
    assert f"{tmp_path / 'part-1.jsonl'} holds no rows" in caplog.text
    pq.write_table(pa.table({"url": [f"{base}/img/0.jpg"], "caption": ["satellite"]}), tmp_path / "t.parquet")
    (tmp_path / "t.parquet").write_bytes((tmp_path / "t.parquet").read_bytes()[:-20])  # truncated footer
    with pytest.raises(ValueError, match=rf"{tmp_path / 't.parquet'}: not a readable Parquet file"):
        list(
            fetch_items("laion_rs", _source(str(tmp_path / "t.parquet")), 2021, Lake(str(tmp_path / "lake")))
        )
