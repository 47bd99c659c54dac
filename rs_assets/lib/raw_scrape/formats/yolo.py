"""`format: yolo`: YOLO / Ultralytics txt labels, one file per image (`images/train/x.jpg` -
`labels/train/x.txt`).

One object per line, normalised to [0, 1] of the image: `class cx cy w h`, or `class x1 y1 ... xn yn`
(Ultralytics OBB with 4 corners, kept as `poly`, and segment polygons, kept as their box). Boxes are
scaled to pixels once the image's size is read. Class indices (0-based) are named from `classes`, else
a `classes.txt` (one name per line) or `data.yaml` / `dataset.yaml` (`names:` list or {index: name})
in the label folder or up to two folders above it, or `path`; without any, the class is the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from rs_assets.lib.raw_scrape.connectors.files import Row
from rs_assets.lib.raw_scrape.formats.classes import class_names
from rs_assets.lib.raw_scrape.formats.geometry import fit_to_image, make_object, number
from rs_assets.lib.raw_scrape.formats.paired import (
    Annotation,
    Layout,
    Parse,
    annotation_root,
    paired_rows,
    parent,
    small_text,
)


class _NoAliases(yaml.SafeLoader):
    """A dataset's own YAML: aliases refused (a "billion laughs" file expands without bound)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if isinstance(self.peek_event(), yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not supported")
        return super().compose_node(parent, index)


def _yaml_names(text: str, path: str) -> tuple[str, ...]:
    try:
        loader = _NoAliases(text)
        try:
            names = (loader.get_single_data() or {}).get("names")
        finally:
            loader.dispose()
        if isinstance(names, dict):
            by_index = {int(k): str(v) for k, v in names.items()}
            return tuple(by_index.get(i, str(i)) for i in range(max(by_index, default=-1) + 1))
        if isinstance(names, list):
            return tuple(str(n) for n in names)
        raise ValueError(f"`names` is {type(names).__name__}, not a list or mapping")
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: no class names: {exc}") from None


def names_of(source: Any) -> tuple[str, ...] | None:
    """The class names: `classes`, else the nearest classes.txt / data.yaml / dataset.yaml."""
    if source.classes is not None:
        return class_names(source)
    labels = annotation_root(source)
    for folder in dict.fromkeys(
        d for d in (labels, parent(labels), parent(parent(labels)), source.path) if d
    ):
        text = small_text(f"{folder}/classes.txt")
        if text is not None:
            return tuple(line.strip() for line in text.splitlines() if line.strip())
        for name in ("data.yaml", "dataset.yaml"):
            text = small_text(f"{folder}/{name}")
            if text is not None:
                return _yaml_names(text, f"{folder}/{name}")
    return None


def parser(names: tuple[str, ...] | None) -> Parse:
    def parse(data: bytes, name: str) -> Annotation:
        annotation = Annotation()
        for line_number, line in enumerate(data.decode("utf-8-sig", "replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            annotation.found += 1
            try:
                index, values = int(parts[0]), [number(v) for v in parts[1:]]
                if len(values) == 4:
                    cx, cy, w, h = values
                    values = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
                elif len(values) < 6 or len(values) % 2:
                    raise ValueError(
                        f"expected class cx cy w h or class x1 y1 ... xn yn, got {len(parts)} fields"
                    )
            except ValueError as exc:
                annotation.errors.append(f"{name}:{line_number}: {exc}")
                continue
            cls = names[index] if names is not None and 0 <= index < len(names) else str(index)
            annotation.objects.append(make_object(cls, values, normalized=True))
        return annotation

    return parse


def rows(source: Any) -> Iterator[Row]:
    names = names_of(source)
    return paired_rows(source, Layout(".txt", parser(names), names))


fit = fit_to_image
