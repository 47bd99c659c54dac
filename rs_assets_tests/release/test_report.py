"""report.html: built with every release, self-contained (no reference outside the page), and rendered by
Debian's headless Chromium with every chart present and a screenshot that is not blank."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import pytest
from PIL import Image, ImageStat

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.funnel import Funnel
from rs_assets.lib.lake import table_key
from rs_assets.lib.release.report import ReportData, report_html
from rs_assets_tests.cdp import Chromium

pytestmark = pytest.mark.xdist_group("published")  # reads the session's `published` release

CHARTS = ("heatmap", "funnel", "caption_lengths", "map", "cost")


class Attributes(HTMLParser):
    """Every (tag, attribute, value) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [(tag, k, v or "") for k, v in attrs]


def assert_self_contained(page: str) -> None:
    parser = Attributes()
    parser.feed(page)
    linked = [(t, k, v) for t, k, v in parser.found if k in ("src", "href", "xlink:href", "srcset", "action")]
    assert linked == []
    assert not [(t, k, v) for t, k, v in parser.found if "://" in v]
    assert "url(" not in page and "@import" not in page and "<script" not in page and "<link" not in page


def test_report_is_written_with_the_release_and_self_contained(published: dict) -> None:
    page = (published["dir"] / "report.html").read_text()
    assert_self_contained(page)
    manifest = published["lake"].read_table(table_key("release")).to_pylist()
    assert [m["path"] for m in manifest if m["format"] == "dataset_report"] == ["report.html"]
    assert "`report.html`" in (published["dir"] / "README.md").read_text()  # the card lists it


def test_report_escapes_text_and_handles_an_empty_release() -> None:
    data = ReportData(
        "v9",
        {},
        {"release": Funnel("canonical_images", 0, {})},
        [],
        [],
        {},
        {"vqa": [{"id": "i1", "image_id": "x" * 64, "source": "s", "task": "vqa",
                  "conversations": [{"from": "human", "value": '<img src="https://evil.example/x.png">'}]}]},
    )  # fmt: skip
    page = report_html(data)
    assert_self_contained(page)  # a caption or answer with markup stays text
    assert "&lt;img src=&quot;https://evil.example/x.png&quot;&gt;" in page
    assert all(f'<svg id="{c}"' in page for c in CHARTS)


def test_report_renders_in_chromium_with_every_chart(published: dict, browser: Chromium) -> None:
    path = (published["dir"] / "report.html").resolve()
    index = published["lake"].read_table(f"release/{path.parent.name}/samples.parquet").to_pylist()
    images = [r for r in index if r["sample_kind"] == "image"]
    browser.open(path.as_uri())
    # the new tab starts on about:blank, which is "complete" too: wait for the report's last section
    browser.wait_for("document.readyState === 'complete' && !!document.getElementById('examples')", True)
    for chart in CHARTS:
        box = browser.evaluate(f"JSON.stringify(document.getElementById('{chart}').getBoundingClientRect())")
        assert json.loads(box)["width"] > 100, chart  # laid out, not collapsed
    cells = {(r["source"], r["year"]) for r in images}
    heat = browser.evaluate("document.querySelectorAll('#heatmap rect.cell').length")
    assert heat == len(cells) * len(SPLITS)
    shown = browser.evaluate(
        "[...document.querySelectorAll('#heatmap rect.cell title')].map(t => +t.textContent.split(': ')[1])"
        ".reduce((a, b) => a + b, 0)"
    )
    assert shown == len(images)  # the heatmap counts every exported image once
    assert browser.evaluate("document.querySelectorAll('#map circle.point').length") > 0
    assert browser.evaluate("document.querySelectorAll('#map line.graticule').length") == 13 + 7
    assert browser.evaluate("document.querySelectorAll('#caption_lengths rect.bar').length") > 0
    assert browser.evaluate("document.querySelectorAll('.example').length") > 0
    assert browser.evaluate("performance.getEntriesByType('resource').length") == 0  # fetched nothing
    shot = browser.call("Page.captureScreenshot", format="png")["data"]
    with Image.open(io.BytesIO(base64.b64decode(shot))) as image:
        stats = ImageStat.Stat(image.convert("L"))
        assert image.width > 300 and stats.var[0] > 100  # something is drawn, not a blank page
