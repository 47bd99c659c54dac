"""Web credits written the way EO sites write them end up in `credits`, apart from the caption."""

from __future__ import annotations

import pytest

from rs_assets.lib.raw_scrape.connectors.article import parse_article

PAGE = """<html><head><title>t</title></head><body><article><h1>Scene</h1>
<p>Some article text about the scene that is long enough to be extracted as the body.</p>
<figure><img src="/a.jpg" alt="a"><figcaption>{caption}</figcaption></figure></article></body></html>"""

CASES = [
    (  # NASA Earth Observatory's figure captions
        "Sediment plumes spread into the Gulf. NASA Earth Observatory image by Lauren Dauphin, using "
        "Landsat data from the U.S. Geological Survey.",
        "Sediment plumes spread into the Gulf.",
        "NASA Earth Observatory image by Lauren Dauphin, using Landsat data from the U.S. Geological Survey.",
    ),
    (
        "Sea ice off Greenland.\nImage: ESA/Copernicus Sentinel-2",
        "Sea ice off Greenland.",
        "ESA/Copernicus Sentinel-2",
    ),
    ("Venice lagoon seen by Sentinel-2 (c) ESA", "Venice lagoon seen by Sentinel-2", "(c) ESA"),
    (
        "Venice lagoon seen by Sentinel-2 © ESA, CC BY-SA 3.0 IGO",
        "Venice lagoon seen by Sentinel-2",
        "© ESA, CC BY-SA 3.0 IGO",
    ),
    ("Wildfire smoke over Oregon. Photo by Jane Doe", "Wildfire smoke over Oregon.", "Photo by Jane Doe"),
    (
        "The delta at low tide. Image courtesy of NASA/JPL-Caltech",
        "The delta at low tide.",
        "Image courtesy of NASA/JPL-Caltech",
    ),
    ("Dunes in the Namib. Credit: USGS", "Dunes in the Namib.", "USGS"),
    # no credit: a caption that merely mentions an image stays whole
    (
        "This image by the Landsat 9 satellite shows the dunes.",
        "This image by the Landsat 9 satellite shows the dunes.",
        None,
    ),
    ("Panels (a) to (c) show the flood extent.", "Panels (a) to (c) show the flood extent.", None),
]


@pytest.mark.parametrize(("figcaption", "caption", "credits"), CASES)
def test_credit_conventions_are_split_from_the_caption(
    figcaption: str, caption: str, credits: str | None
) -> None:
    page = parse_article(PAGE.format(caption=figcaption).encode(), "https://eo.example/a.html")
    image = page["images"][0]
    assert (image["caption"], image["credits"]) == (caption, credits)
