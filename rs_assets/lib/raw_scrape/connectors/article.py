"""One article page -> title, date, body text, content images with alt/caption/credits, coordinates.

Pure functions over bytes, so they are tested without a network and their output (a JSON-able dict)
is cached in the HTTP state. Body text comes from trafilatura: maintained, the best open-source F1 in
the ScrapingHub and Bevendorff et al. (SIGIR 2023) extraction benchmarks, and the extractor behind
RefinedWeb and FineWeb; a hand-written boilerplate stripper would only be worse. Image URLs lose any
"user:pass@" (a page must not make us send or cache credentials).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml.etree import ParserError

from rs_assets.lib.raw_scrape.connectors.common import (
    canonical_url,
    parse_datetime,
    strip_userinfo,
    to_float,
    valid_latlon,
)
from rs_assets.lib.raw_scrape.connectors.politeness import noai_directive

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# WHATWG: browsers decode these labels as windows-1252, and so must we to read what users see.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "dc.date.issued",
    "dc.date",
    "pubdate",
)
_FIELDS = ("url", "title", "published", "text", "images", "lat", "lon", "place", "noai")
_BOILERPLATE = {"nav", "footer", "aside", "form"}
_CREDIT_XPATH = (
    ".//*[contains(@class,'credit') or contains(@class,'copyright') or contains(@class,'attribution')"
    " or @itemprop='creditText' or @itemprop='copyrightHolder'] | .//figcaption//cite"
    " | .//figcaption//small"
)
# Credit lines at the end of a caption, as EO sites write them; the earliest match ends the caption.
# `credit`: the credit is what follows the label; `whole`: the credit is the whole phrase.
_CREDIT_TEXT = (
    # "Image credit: ESA", "Courtesy: NASA", "Source: USGS", "Image: ESA/Copernicus", "(Photo: J. Doe)"
    re.compile(
        r"(?:^|\s)[(\[]?\s*(?i:(?:(?:image|photo|picture)\s+)?(?:credits?|courtesy|source)|image|photo|picture)"
        r"\s*:\s*(?P<credit>.+?)[)\]]?\s*$"
    ),
    # "NASA Earth Observatory image by L. Dauphin, using Landsat data from ...", "Photo by Jane Doe",
    # "Image courtesy of NASA/JPL": a sentence of its own, the author capitalised (not "This image by the")
    re.compile(
        r"(?:^|(?<=[.!?])\s+|\n\s*)(?P<whole>(?!(?i:this|the|these|a|an|our)\b)(?:[\w.'/&-]*[\w'/&-]\s+){0,5}"
        r"(?i:images?|photos?|photographs?|maps?|animations?|visuali[sz]ations?)\s+(?i:by|courtesy\s+of)\s+"
        r"[A-Z].*?)\s*$"
    ),
    # "© ESA", "(c) ESA", "Copyright Airbus DS" (not the "(c)" of a panel list: a capital follows)
    re.compile(r"(?:^|\s)(?P<whole>[(\[]?(?:©|\((?i:c)\)|(?i:copyright)\s)\s*[A-Z].*?)\s*$"),
)
_HEMISPHERE = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*°?\s*([NS])\b[\s,;/]+(\d{1,3}(?:\.\d+)?)\s*°?\s*([EW])\b")
_LABELLED = re.compile(
    r"\b(?:lat(?:itude)?|coordinates?)\b[^\d-]{0,20}(-?\d{1,2}\.\d{2,})\s*[,;/]\s*"
    r"(?:lon(?:gitude)?\s*[:=]?\s*)?(-?\d{1,3}\.\d{2,})",
    re.IGNORECASE,
)


def decode_html(body: bytes, charset: str | None = None) -> str:
    """Text of a page: BOM, then HTTP charset, then `<meta charset>`, then UTF-8, then windows-1252."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", errors="replace")
    meta = _META_CHARSET.search(body[:4096])
    for name in (charset, meta.group(1).decode("ascii") if meta else None, "utf-8"):
        if name:
            try:
                return body.decode(_CHARSET_ALIASES.get(name.lower(), name))
            except (LookupError, UnicodeDecodeError):
                continue
    return body.decode("cp1252", errors="replace")


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def _metas(doc: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in doc.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and meta.get("content"):
            found.setdefault(key, []).append(meta.get("content").strip())
    return found


def _jsonld_nodes(doc: Any) -> Iterator[dict[str, Any]]:
    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for script in doc.xpath("//script[@type='application/ld+json']"):
        try:
            yield from walk(json.loads(script.text_content()))
        except ValueError:
            continue


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v), None)


def _published(doc: Any, metas: dict[str, list[str]], nodes: list[dict[str, Any]]) -> str | None:
    candidates = [
        *(metas.get(k, [None])[0] for k in _PUBLISHED_META),
        *(n.get("datePublished") for n in nodes),
        *doc.xpath("//time/@datetime"),
    ]
    when = _first(parse_datetime(c) for c in candidates if isinstance(c, str))
    return when.isoformat() if when else None


def _geo(
    metas: dict[str, list[str]], nodes: list[dict[str, Any]], texts: list[str]
) -> tuple[float, float] | None:
    """Coordinates from geo meta tags, JSON-LD GeoCoordinates, then "lat, lon" patterns in the text."""

    def meta(key: str) -> str | None:
        return metas.get(key, [None])[0]

    pairs = [tuple(re.split(r"[;,]\s*", meta(k) or "", maxsplit=1)) for k in ("geo.position", "icbm")]
    pairs += [
        (meta("place:location:latitude"), meta("place:location:longitude")),
        (meta("og:latitude"), meta("og:longitude")),
    ]
    pairs += [(n.get("latitude"), n.get("longitude")) for n in nodes if "latitude" in n]
    for text in texts:
        for m in _HEMISPHERE.finditer(text):
            lat, lon = float(m[1]) * (-1 if m[2] in "Ss" else 1), float(m[3]) * (-1 if m[4] in "Ww" else 1)
            pairs.append((lat, lon))
        pairs += [(m[1], m[2]) for m in _LABELLED.finditer(text)]
    return _first(valid_latlon(*p) for p in pairs if len(p) == 2)


def _place(metas: dict[str, list[str]], nodes: list[dict[str, Any]]) -> str | None:
    names = [*metas.get("geo.placename", [])]
    for node in nodes:
        for key in ("contentLocation", "locationCreated", "spatialCoverage"):
            value = node.get(key)
            names.append(value.get("name") if isinstance(value, dict) else value)
    return _first(_clean(n) for n in names if isinstance(n, str))


def _img_url(img: Any, base: str) -> str | None:
    """Largest srcset candidate, else src (or a lazy-loading attribute); http(s) rasters only."""
    best, best_size = None, -1.0
    for candidate in (img.get("srcset") or img.get("data-srcset") or "").split(","):
        parts = candidate.split()
        if parts:
            size = (to_float(re.sub(r"[^\d.]", "", parts[1])) or 0.0) if len(parts) > 1 else 1.0
            if size > best_size:
                best, best_size = parts[0], size
    src = (
        best or img.get("src") or img.get("data-src") or img.get("data-original") or img.get("data-lazy-src")
    )
    if not src or src.strip().startswith("data:"):
        return None
    url = strip_userinfo(urljoin(base, src.strip()))
    if urlsplit(url).scheme not in ("http", "https") or urlsplit(url).path.lower().endswith(".svg"):
        return None
    return url


def _tiny(img: Any) -> bool:
    """Tracking pixels and icons declared as such."""
    return any((img.get(a) or "").isdigit() and int(img.get(a)) < 32 for a in ("width", "height"))


def _caption_credits(img: Any) -> tuple[str | None, str | None]:
    figure = next(img.iterancestors("figure"), None)
    if figure is None:
        return None, None
    credit_elements = figure.xpath(_CREDIT_XPATH)
    credits = _clean(" ".join(e.text_content() for e in credit_elements))
    caption_el = figure.find(".//figcaption")
    caption = _clean(caption_el.text_content()) if caption_el is not None else None
    if caption and credits:
        caption = _clean(caption.replace(credits, ""))
    elif caption:
        caption, credits = split_credits(caption)
    return caption, credits


def split_credits(text: str) -> tuple[str | None, str | None]:
    """(caption, credits) of a caption that ends with a credit line; (text, None) when none is found."""
    found = [m for pattern in _CREDIT_TEXT if (m := pattern.search(text))]
    if not found:
        return text, None
    m = min(found, key=lambda m: m.start())
    return _clean(text[: m.start()]), _clean(m["credit"] if "credit" in m.groupdict() else m["whole"])


def _images(doc: Any, base: str, metas: dict[str, list[str]]) -> list[dict[str, Any]]:
    """og:image (or twitter:image) then figure and article/main images outside nav/footer/aside and the
    site header; one entry per URL, metadata merged."""
    found: dict[str, dict[str, Any]] = {}
    alt = metas.get("og:image:alt", [None])[0]
    for src in metas.get("og:image") or metas.get("twitter:image") or []:
        url = strip_userinfo(urljoin(base, src))
        if urlsplit(url).scheme in ("http", "https"):
            found.setdefault(url, {"url": url, "alt": alt, "caption": None, "credits": None})
    roots = doc.xpath("//article | //main | //*[@role='main']")
    for img in doc.iter("img"):
        ancestors = list(img.iterancestors())
        in_content = any(a.tag == "figure" for a in ancestors) or any(r in ancestors for r in roots)
        boilerplate = any(
            a.tag in _BOILERPLATE or (a.tag == "header" and not any(r in ancestors for r in roots))
            for a in ancestors
        )
        url = _img_url(img, base) if in_content and not boilerplate and not _tiny(img) else None
        if url is None:
            continue
        caption, credits = _caption_credits(img)
        entry = found.setdefault(url, {"url": url, "alt": None, "caption": None, "credits": None})
        for key, value in (("alt", _clean(img.get("alt"))), ("caption", caption), ("credits", credits)):
            entry[key] = entry[key] or value
    return list(found.values())


def parse_article(body: bytes, url: str, charset: str | None = None) -> dict[str, Any]:
    """Everything a web record needs from one page (JSON-able: cached in the HTTP state)."""
    html = _XML_DECLARATION.sub("", decode_html(body, charset), count=1)
    try:
        doc = lxml.html.document_fromstring(html)
    except ParserError:  # empty or whitespace-only document
        return dict.fromkeys(_FIELDS) | {"url": canonical_url(url), "images": []}
    base = strip_userinfo(urljoin(url, _first(doc.xpath("//base/@href")) or ""))
    canonical = _first(doc.xpath("//link[@rel='canonical']/@href"))
    canonical = urljoin(base, canonical) if canonical else url
    if urlsplit(canonical).hostname != urlsplit(url).hostname:  # another site cannot claim our record
        canonical = url
    metas, nodes = _metas(doc), list(_jsonld_nodes(doc))
    title = _first([*metas.get("og:title", []), *doc.xpath("//title/text()"), *doc.xpath("//h1//text()")])
    text = _clean(trafilatura.extract(html, url=url, include_comments=False, include_tables=False))
    text = text or _first([*metas.get("og:description", []), *metas.get("description", [])])
    images = _images(doc, base, metas)
    latlon = _geo(metas, nodes, [text or "", *(i["caption"] or "" for i in images)])
    return {
        "url": canonical_url(canonical),
        "title": _clean(title),
        "published": _published(doc, metas, nodes),
        "text": text,
        "images": images,
        "lat": latlon[0] if latlon else None,
        "lon": latlon[1] if latlon else None,
        "place": _place(metas, nodes),
        "noai": noai_directive(metas.get("robots", []), "robots"),
    }
