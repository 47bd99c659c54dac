"""Contact sheets: a grid of a partition's thumbnails, each with a line of text under it (its first caption,
or its filter decision), so a person sees what a partition holds without opening Parquet."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from rs_assets.lib.captions.strategies import preference_rank

COLUMNS = 6  # tiles per row
CELL = 128  # thumbnail box (px); thumbnails are fitted inside, keeping their aspect ratio
TEXT_LINES = 3  # lines of label under each thumbnail
LINE_HEIGHT = 13
FONT_SIZE = 11
PAD = 6
MAX_TILES = 24  # a sheet is a sample, not the partition: it must stay small enough to inline in the UI
BACKGROUND = (245, 245, 242)
PLACEHOLDER = (200, 200, 200)


@dataclass(frozen=True)
class Tile:
    thumb: bytes | None  # JPEG thumbnail bytes; None (or undecodable) draws a grey placeholder
    label: str


def sheet_size(tiles: int, columns: int = COLUMNS) -> tuple[int, int]:
    """(width, height) in pixels of the sheet for `tiles` tiles (at least one row, even when empty)."""
    cols = max(1, min(columns, tiles))
    rows = max(1, -(-tiles // columns))
    cell_w, cell_h = CELL + 2 * PAD, CELL + 2 * PAD + TEXT_LINES * LINE_HEIGHT
    return cols * cell_w, rows * cell_h


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=FONT_SIZE)


def wrap(
    text: str, draw: ImageDraw.ImageDraw, font: object, width: int, lines: int = TEXT_LINES
) -> list[str]:
    """Greedy word wrap to `width` pixels, at most `lines` lines, the last ending in an ellipsis if cut."""
    out: list[str] = []
    words = text.split()
    current = ""
    while words and len(out) < lines:
        candidate = f"{current} {words[0]}".strip()
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
            words.pop(0)
            continue
        if not current:  # one word wider than the cell: cut it
            current, words[0] = words[0][:12], words[0][12:]
        out.append(current)
        current = ""
    if current and len(out) < lines:
        out.append(current)
    if words and out:
        last = out[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        out[-1] = last + "…"
    return out


def _thumb(data: bytes | None) -> Image.Image | None:
    if data is None:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.draft("RGB", (CELL, CELL))
        image = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    image.thumbnail((CELL, CELL))
    return image


def contact_sheet(tiles: Sequence[Tile], columns: int = COLUMNS, quality: int = 70) -> bytes:
    """The JPEG of `tiles` (the first MAX_TILES) in a grid of `columns`, labels wrapped under images."""
    tiles = list(tiles)[:MAX_TILES]
    sheet = Image.new("RGB", sheet_size(len(tiles), columns), BACKGROUND)
    draw, font = ImageDraw.Draw(sheet), _font()
    cell_w, cell_h = CELL + 2 * PAD, CELL + 2 * PAD + TEXT_LINES * LINE_HEIGHT
    for n, tile in enumerate(tiles):
        x, y = (n % columns) * cell_w + PAD, (n // columns) * cell_h + PAD
        image = _thumb(tile.thumb)
        if image is None:
            draw.rectangle((x, y, x + CELL - 1, y + CELL - 1), fill=PLACEHOLDER)
            draw.text((x + 4, y + CELL // 2 - 6), "no thumbnail", fill=(90, 90, 90), font=font)
        else:
            sheet.paste(image, (x + (CELL - image.width) // 2, y + (CELL - image.height) // 2))
        for i, line in enumerate(wrap(tile.label, draw, font, CELL)):
            draw.text((x, y + CELL + 2 + i * LINE_HEIGHT), line, fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    sheet.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def caption_tiles(captions: Sequence[dict], thumb: Callable[[str], bytes | None]) -> list[Tile]:
    """One tile per image (first MAX_TILES by image id): its thumbnail and its first caption (preferred
    strategy, lowest caption index), or why it has none."""
    by_image: dict[str, list[dict]] = {}
    for row in captions:
        by_image.setdefault(row["image_id"], []).append(row)
    tiles = []
    for image in sorted(by_image)[:MAX_TILES]:
        rows = by_image[image]
        ok = [r for r in rows if r["status"] == "ok" and r["text"]]
        if ok:
            best = min(ok, key=lambda r: (preference_rank(r["strategy"]), r.get("caption_index") or 0))
            label = f"[{best['strategy']}] {best['text']}"
        else:
            label = "no caption: " + ", ".join(sorted({r["status"] for r in rows}))
        tiles.append(Tile(thumb(image), label))
    return tiles


def decision_tiles(decided: Sequence[dict], thumb: Callable[[str], bytes | None]) -> list[Tile]:
    """One tile per record (the first MAX_TILES): its thumbnail and its filter decision."""
    return [
        Tile(
            thumb(r["image_id"]) if r["image_id"] else None,
            "kept" if r["kept"] else f"dropped: {r['drop_reason']}",
        )
        for r in decided[:MAX_TILES]
    ]
