"""The entries of top-level lists of a JSON document (`{"images": [...]}`), streamed with bounded memory.

Annotation files of the Karpathy and RSVQA layouts are one JSON object holding a long list; RSVQA-HR's
split files hold every question of the dataset (hundreds of MB). The file is read in chunks and each
entry is decoded on its own (the C decoder, `raw_decode`), so memory holds one chunk plus one entry and
one malformed entry costs that entry: a `BadRow` naming the file and the line of the error, after which
the reader resynchronises at the entry's end (brackets and strings counted) and reads on. A file that
ends inside an entry, or that is no object holding the list, is one `BadRow` after the entries read.
Several lists can be read in one pass (COCO: `images`, `annotations`, `categories`); the other lists
of the document are read entry by entry and dropped, never held whole.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from rs_assets.lib.lake import filesystem
from rs_assets.lib.raw_scrape.connectors.files import BadRow

CHUNK = 1 << 20  # characters read at a time; an entry shorter than this is always whole in the buffer
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
Entry = tuple[int, Any]  # (line where the entry starts, decoded value)


class _Reader:
    """A window on the text with absolute line numbers; `pos` only moves forward."""

    def __init__(self, fh: Any, name: str, chunk: int) -> None:
        self.fh, self.name, self.chunk = fh, name, chunk
        self.buf, self.pos, self.eof = "", 0, False
        self.line_at, self.counted = 1, 0  # line number of buf[counted]
        self.truncated = False  # the file ended inside a value: nothing more to read

    def fill(self, force: bool = False) -> None:
        """Keep at least `chunk` characters ahead of `pos` (or read `chunk` more when `force`)."""
        if self.eof or (not force and len(self.buf) - self.pos >= self.chunk):
            return
        self.line()  # count the lines of the text about to be dropped
        more = self.fh.read(self.chunk)
        self.buf, self.pos, self.counted = self.buf[self.pos :] + more, 0, 0
        self.eof = not more

    def line(self) -> int:
        self.line_at += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line_at

    def skip_space(self) -> str:
        """The next significant character ('' at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or self.eof:
                self.fill()
                return self.buf[self.pos : self.pos + 1]
            self.fill(force=True)

    def bad(self, reason: str, at: int | None = None) -> BadRow:
        line = self.line() + (self.buf.count("\n", self.pos, at) if at is not None else 0)
        return BadRow(self.name, line, reason)

    def value(self) -> tuple[Any, BadRow | None]:
        """Decode the value at `pos` and move past it; a malformed value is skipped and named."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:  # a number at the very end may continue
                    self.pos = end
                    return value, None
            except json.JSONDecodeError as exc:
                end = _value_end(self.buf, self.pos)
                if end is not None or self.eof:
                    self.truncated = end is None
                    ending = "; the file ends here" if self.truncated else ""
                    problem = self.bad(f"not JSON ({exc.msg}){ending}", at=exc.pos)
                    self.pos = len(self.buf) if end is None else end
                    return None, problem
            self.fill(force=True)  # the value is longer than the window


def _value_end(text: str, start: int) -> int | None:
    """Where the value starting at `start` ends: its closing bracket, or the `,` / `]` / `}` after a
    scalar (strings and escapes counted); None when the text ends first. Always past `start`."""
    depth, i, in_string = 0, start, False
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]},":
            if depth == 0:
                return max(i, start + 1)
            depth -= char != ","
            if depth == 0 and char != ",":
                return i + 1
        i += 1
    return None


def _list(reader: _Reader, key: str, wanted: bool) -> Iterator[Entry | BadRow]:
    """The entries of the list at `pos` (its `[` consumed here, its `]` too), one at a time; those of a
    list not `wanted` are decoded and dropped, so a long one costs no memory either."""
    reader.pos += 1
    while True:
        char = reader.skip_space()
        if char == "]":
            reader.pos += 1
            return
        if char == "":
            yield reader.bad(f"the file ends inside the {key!r} list")
            return
        line = reader.line()
        value, problem = reader.value()
        if problem or wanted:
            yield problem or (line, value)
        if reader.truncated:
            return
        if reader.skip_space() == ",":  # a missing comma loses nothing: the next entry is read
            reader.pos += 1


def _members(
    reader: _Reader, keys: tuple[str, ...], first_only: bool
) -> Iterator[tuple[str, Entry] | BadRow]:
    """(key, entry) for the entries of the top-level lists named `keys`, in file order; other members
    are skipped (lists entry by entry). With `first_only`, stops after the first such list."""
    names = " or ".join(repr(k) for k in keys)
    if reader.skip_space() != "{":
        yield reader.bad(f"not a JSON object holding {names}")
        return
    reader.pos += 1
    found = False
    while True:
        if reader.skip_space() != '"':
            if not found:
                yield reader.bad(f"no {names} list in the file")
            return
        name, problem = reader.value()
        if problem or reader.skip_space() != ":":
            yield problem or reader.bad("expected ':' after a key")
            return
        reader.pos += 1
        wanted = name in keys
        if reader.skip_space() == "[":
            for got in _list(reader, name, wanted):
                yield got if isinstance(got, BadRow) else (name, got)
            if reader.truncated or (reader.eof and reader.pos >= len(reader.buf)):
                return  # the file ended inside the list, named by `_list`
            found = found or wanted
            if wanted and first_only:
                return
        elif wanted:
            yield reader.bad(f"{name!r} is not a list")
            return
        else:
            _, problem = reader.value()  # another member (`"dataset": "rsicd"`): skipped
            if problem:
                yield problem
                return
        if reader.skip_space() == ",":
            reader.pos += 1


def _read(
    path: str, keys: tuple[str, ...], first_only: bool, chunk: int
) -> Iterator[tuple[str, Entry] | BadRow]:
    fs = filesystem(path)
    with fs.open(path, "rb", compression="infer") as raw:
        text = io.TextIOWrapper(raw, "utf-8-sig", "replace")
        reader = _Reader(text, path, chunk)
        reader.fill()
        yield from _members(reader, keys, first_only)


def list_entries(path: str, key: str, chunk: int = CHUNK) -> Iterator[Entry | BadRow]:
    """(line, entry) for every entry of the list under top-level `key` of the JSON file `path` (local or
    `s3://`, `.gz` inferred), or a BadRow for what cannot be read; FileNotFoundError when it is absent.
    `chunk` characters are read at a time."""
    for got in _read(path, (key,), True, chunk):
        yield got if isinstance(got, BadRow) else got[1]


def lists_entries(
    path: str, keys: tuple[str, ...], chunk: int = CHUNK
) -> Iterator[tuple[str, Entry] | BadRow]:
    """(key, (line, entry)) for the entries of every top-level list named in `keys`, in one pass over
    the file (COCO's `images`, `annotations` and `categories`, in whatever order the file has them)."""
    yield from _read(path, keys, False, chunk)
