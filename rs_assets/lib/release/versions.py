"""Release versions: immutable folders `release/<version>/`, an index of them in publish order
(`release/versions.json`), the `latest` alias, each version's sample index and its diff to the previous.

A version is identified by its content: the fingerprint of its sample index, exclusions and layout.
Publishing unchanged data again reuses the newest version; changed data gets the next `vNNNN` (or the
version asked for, which must be new); asking for an existing version with other content is an error
naming it, never an overwrite.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa

from rs_assets.lib.lake import Lake, content_hash
from rs_assets.lib.records import stable_hash

INDEX = "release/versions.json"
ALIAS = "latest"
SAMPLE_INDEX_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("sample_kind", pa.string()),  # image, caption or instruction
        ("image_id", pa.string()),
        ("source", pa.string()),
        ("year", pa.int32()),
        ("split", pa.string()),
        ("content_hash", pa.string()),
    ]
)
DIFF_SCHEMA = pa.schema(
    [
        ("version", pa.string()),
        ("previous_version", pa.string()),
        ("sample_id", pa.string()),
        ("change", pa.string()),  # added, removed, changed
        ("sample_kind", pa.string()),
        ("image_id", pa.string()),
        ("source", pa.string()),
        ("year", pa.int32()),
        ("split", pa.string()),
    ]
)
# files every release version holds, read across versions by the warehouse (`{{release:<name>}}`)
RELEASE_FILES: dict[str, tuple[str, pa.Schema]] = {
    "samples": ("samples.parquet", SAMPLE_INDEX_SCHEMA),
    "diff": ("diff.parquet", DIFF_SCHEMA),
}


class ReleaseVersionError(ValueError):
    """The version asked for cannot be written: it holds other content (versions are immutable), or it
    is the `latest` alias."""


def sample_index(samples: dict[str, list[dict[str, Any]]]) -> pa.Table:
    """One row per exported sample id (image, caption, conversation) with a hash of what it exports."""
    rows = []
    for split, images in samples.items():
        for s in images:
            base = {"image_id": s["image_id"], "source": s["source"], "year": s["year"], "split": split}
            captions = [c["caption_id"] for c in s["captions"]]
            rows.append(
                {"sample_id": s["image_id"], "sample_kind": "image", **base,
                 "content_hash": stable_hash(split, s["record_id"], captions, s.get("credits"))}
            )  # fmt: skip
            rows += [
                {"sample_id": c["caption_id"], "sample_kind": "caption", **base,
                 "content_hash": stable_hash(split, c["text"])}
                for c in s["captions"]
            ]  # fmt: skip
            rows += [
                {"sample_id": c["id"], "sample_kind": "instruction", **base,
                 "content_hash": stable_hash(split, c["conversations"])}
                for c in s["conversations"]
            ]  # fmt: skip
    rows.sort(key=lambda r: r["sample_id"])
    return pa.Table.from_pylist(rows, schema=SAMPLE_INDEX_SCHEMA)


def fingerprint(index: pa.Table, excluded: list[dict[str, str]], layout: Any) -> str:
    return stable_hash(content_hash(index), sorted(e["image_id"] + e["reason"] for e in excluded), layout)


def read_index(lake: Lake) -> list[dict[str, str]]:
    """Published versions, oldest first: `{version, fingerprint}`."""
    return json.loads(lake.read_bytes(INDEX)) if lake.has(INDEX) else []


def resolve_version(lake: Lake, asked: str, fp: str) -> str:
    """The version to write: `asked` (new, or the same content again), else the newest version when
    its content is unchanged, else the next `vNNNN`."""
    versions = read_index(lake)
    if asked == ALIAS:
        raise ReleaseVersionError(f"release version {ALIAS!r} is the newest one's alias: name another")
    known = {v["version"]: v["fingerprint"] for v in versions}
    if asked:
        if asked in known and known[asked] != fp:
            raise ReleaseVersionError(
                f"release version {asked!r} ({lake.uri('release/' + asked)}) exists with other content and "
                "is immutable: publish under a new version (or leave `version` empty for the next one)"
            )
        return asked
    if versions and versions[-1]["fingerprint"] == fp:
        return versions[-1]["version"]
    return f"v{len(versions) + 1:04d}"


def previous_version(lake: Lake, version: str) -> str | None:
    """The version published before `version` (None for the first)."""
    names = [v["version"] for v in read_index(lake) if v["version"] != version]
    return names[-1] if names else None


def record_version(lake: Lake, version: str, fp: str) -> None:
    """Append `version` to the index (once) and point `latest` at it."""
    versions = [v for v in read_index(lake) if v["version"] != version]
    versions.append({"version": version, "fingerprint": fp})
    lake.write_bytes(INDEX, json.dumps(versions, indent=1).encode())
    lake.link_prefix(f"release/{ALIAS}", f"release/{version}")


def diff(current: pa.Table, previous: pa.Table | None, version: str, before: str | None) -> pa.Table:
    """Samples added, removed and changed (same id, other content) since the previous version."""
    old = {r["sample_id"]: r for r in (previous.to_pylist() if previous is not None else [])}
    new = {r["sample_id"]: r for r in current.to_pylist()}
    rows = []
    for sid in sorted(old.keys() | new.keys()):
        a, b = old.get(sid), new.get(sid)
        change = "added" if a is None else "removed" if b is None else None
        if change is None and a["content_hash"] != b["content_hash"]:
            change = "changed"
        if change:
            row = b or a
            rows.append(
                {"version": version, "previous_version": before, "sample_id": sid, "change": change,
                 "sample_kind": row["sample_kind"], "image_id": row["image_id"], "source": row["source"],
                 "year": row["year"], "split": row["split"]}
            )  # fmt: skip
    return pa.Table.from_pylist(rows, schema=DIFF_SCHEMA)


def diff_summary(table: pa.Table) -> dict[str, Any]:
    """Counts for the card: by change x kind, and by source x year x change."""
    rows = table.to_pylist()
    return {
        "by_kind": dict(sorted(Counter((r["change"], r["sample_kind"]) for r in rows).items())),
        "by_source_year": dict(sorted(Counter((r["source"], r["year"], r["change"]) for r in rows).items())),
    }
