"""The members of a large top-level JSON object, one array element at a time, in bounded memory.

A COCO file is one object whose arrays (`images`, `annotations`) hold all of its size; `json.load` needs
several times the file in memory. Here the text is read in chunks and each element is decoded by the
standard library's C scanner on its own, so memory is one chunk plus the largest element (capped at
MAX_ELEMENT). A syntax error stops the stream with its line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 16  # characters read at a time
MAX_ELEMENT = 64 << 20  # characters: one COCO image or annotation is a few hundred
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class JsonStreamError(ValueError):
    """Malformed JSON: the message names the file, line and column."""


class _Reader:
    def __init__(self, fh: IO[str], name: str) -> None:
        self.fh, self.name = fh, name
        self.buf, self.pos, self.eof = "", 0, False
        self.line, self.counted = 1, 0  # line number at buf[counted]

    def _fill(self, want: int) -> bool:
        if self.eof:
            return False
        self.line_at(self.pos)
        self.buf, self.counted, self.pos = self.buf[self.pos :], self.counted - self.pos, 0
        chunk = self.fh.read(max(CHUNK, want))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def line_at(self, pos: int) -> int:
        """Line of buf[pos], counted forward from the last position asked (positions only grow)."""
        if pos > self.counted:
            self.line += self.buf.count("\n", self.counted, pos)
            self.counted = pos
        return self.line

    def error(self, message: str, pos: int | None = None) -> JsonStreamError:
        pos = self.pos if pos is None else pos
        line = self.line_at(pos)
        column = pos - (self.buf.rfind("\n", 0, pos) + 1) + 1
        return JsonStreamError(f"{self.name}:{line}:{column}: {message}")

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        if self.pos < len(self.buf) and self.buf[self.pos] not in " \t\n\r":  # the usual case, fast
            return self.buf[self.pos]
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill(0):
                return ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value; the buffer grows until it holds the whole value (a number at the end of
        the buffer may go on in the next chunk, so it is only taken when something follows it)."""
        want = CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:
                    self.pos = end
                    return value
            except json.JSONDecodeError as exc:
                truncated = exc.pos >= len(self.buf) - 16 or exc.msg.startswith("Unterminated string")
                if self.eof or not truncated:
                    raise self.error(exc.msg, exc.pos) from None
            if len(self.buf) - self.pos > MAX_ELEMENT:
                raise self.error(f"a value longer than {MAX_ELEMENT} characters")
            if self._fill(want):
                want *= 2


def members(fh: IO[str], name: str) -> Iterator[tuple[str, int, int, Any]]:
    """(key, index, line, value) for each top-level member of the object in `fh`: an array member
    yields each element with its index, any other member its value with index -1. `line` is where the
    value starts. JsonStreamError when the text is not such an object."""
    reader = _Reader(fh, name)
    reader.expect("{")
    if reader.peek() == "}":
        return
    while True:
        if reader.peek() != '"':
            raise reader.error("expected a member name")
        key = reader.value()
        reader.expect(":")
        if reader.peek() != "[":
            yield key, -1, reader.line_at(reader.pos), reader.value()
        else:
            reader.pos += 1
            index = 0
            while reader.peek() != "]":
                if index:
                    reader.expect(",")
                    reader.peek()
                yield key, index, reader.line_at(reader.pos), reader.value()
                index += 1
            reader.pos += 1
        following = reader.peek()
        if following == "}":
            return
        if following != ",":
            raise reader.error("expected ',' or '}'")
        reader.pos += 1
