"""Reading the sources file strictly: a small UTF-8 file, YAML without what a sources file never needs.

PyYAML's SafeLoader still expands anchors and aliases (a "billion laughs" document is exponential),
recurses once per nesting level, and keeps the last of repeated keys silently; this loader refuses all
three, naming the file and line.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, NoReturn

import yaml

MAX_FILE_BYTES = 1_000_000  # a sources file is a few KB; PyYAML parses ~0.25 MB/s, so at most ~4 s
MAX_DEPTH = 20  # sources > name > field > list > item is 5; PyYAML's composer recurses once per level
_NO_ALIASES = (
    "YAML anchors, aliases and merge keys are not supported: a sources file has no need for them, "
    "and expanding them can take unbounded time and memory; write each value out"
)


class SourcesConfigError(ValueError):
    """A sources file that cannot be used; the message names the file, source and field."""


def _repeated(path: tuple[str, ...], key: Any) -> str:
    """What a repeated key is, in the words of the other errors (source, field)."""
    if path == ("sources",):
        return f"source {key!r} is defined twice"
    if len(path) >= 2 and path[0] == "sources":
        return f"source {path[1]!r}: field {'.'.join((*path[2:], str(key)))!r} is given twice"
    return f"key {'.'.join((*path, str(key)))!r} is given twice"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing what a sources file never needs and PyYAML gets wrong: anchors, aliases
    and merge keys (a "billion laughs" document expands exponentially), nesting deep enough to
    exhaust the stack, and repeated keys (PyYAML silently keeps the last one)."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0

    def _refuse(self, mark: Any, problem: str) -> NoReturn:
        raise SourcesConfigError(f"{self.file}: line {mark.line + 1}: {problem}")

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            self._refuse(event.start_mark, _NO_ALIASES)
        if self.depth >= MAX_DEPTH:
            self._refuse(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_document(self, node: Any) -> Any:
        self._check_keys(node, ())
        return super().construct_document(node)

    def _check_keys(self, node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._check_keys(item, (*path, str(i)))
        if not isinstance(node, yaml.MappingNode):
            return
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._refuse(key_node.start_mark, _NO_ALIASES)
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # the constructor refuses unhashable keys itself
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in lines:
                raise SourcesConfigError(
                    f"{self.file}: {_repeated(path, key)} (lines {lines[key]} and {line})"
                )
            lines[key] = line
            self._check_keys(value_node, (*path, str(key)))


def read_text(path: Path) -> str:
    """The file's text; anything but a small readable UTF-8 file is refused before parsing."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise SourcesConfigError(f"{path}: sources file is a folder, not a file (RS_ASSETS_SOURCES)")
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise SourcesConfigError(f"{path}: sources file is not a regular file (RS_ASSETS_SOURCES)")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SourcesConfigError(f"{path}: sources file not found (RS_ASSETS_SOURCES)") from None
    except OSError as exc:
        raise SourcesConfigError(
            f"{path}: sources file cannot be read (RS_ASSETS_SOURCES): {exc.strerror}"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise SourcesConfigError(
            f"{path}: sources file is larger than the {MAX_FILE_BYTES // 1_000_000} MB cap "
            f"({MAX_FILE_BYTES} bytes)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesConfigError(f"{path}: not UTF-8 text: {exc}") from None


def load_yaml(path: Path) -> Any:
    """The parsed document of a sources file, read and parsed strictly."""
    loader = _StrictLoader(read_text(path), file=str(path))
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise SourcesConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
