"""Annotation XML (VOC, DIOR, FAIR1M) parsed safely and leniently.

Safe: entities are never resolved, no DTD is loaded, nothing is fetched (no XXE, no network), and
libxml2's limits on depth and text size stay on (`huge_tree` off). Lenient: a malformed file is read as
far as libxml2 can recover it; each syntax error is reported with its line so the row can name it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from rs_assets.lib.raw_scrape.formats.geometry import number

MAX_ERRORS = 5  # per file: a broken file may produce thousands


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )


def parse(data: bytes, name: str) -> tuple[Any, list[str]]:
    """(root element or None, syntax errors as "name:line: message")."""
    parser = _parser()
    try:
        root = etree.fromstring(data, parser) if data.strip() else None
    except etree.XMLSyntaxError as exc:  # recover gives up on some inputs (no root element at all)
        return None, [f"{name}:{exc.lineno}: not XML: {exc.msg}"]
    errors = [f"{name}:{e.line}: {e.message}" for e in list(parser.error_log)[:MAX_ERRORS]]
    if len(parser.error_log) > MAX_ERRORS:
        errors.append(f"{name}: {len(parser.error_log) - MAX_ERRORS} more XML errors")
    if root is None and not errors:
        errors.append(f"{name}: no XML element")
    return root, errors


def text(element: Any, path: str) -> str | None:
    """Stripped text of the first `path` under `element`, None when absent or empty (an unresolved
    entity reference has no text)."""
    found = element.find(path)
    value = found.text.strip() if found is not None and found.text else ""
    return value or None


def numbers(element: Any, tags: tuple[str, ...]) -> list[float] | None:
    """The `tags` children of `element` as floats, None when `element` has none of them; ValueError
    naming the tag when one is missing or not a number."""
    if element is None or all(element.find(t) is None for t in tags):
        return None
    out = []
    for tag in tags:
        value = text(element, tag)
        try:
            out.append(number(value))
        except (TypeError, ValueError):
            raise ValueError(f"<{tag}> is {value!r}, not a number") from None
    return out
