"""Human ratings (RS5M rubric: relevance/detail, hallucination, fluency 1-5, plus free text) as the
lake's append-only `caption_ratings` table: each rating session writes its own file
`tables/caption_ratings/source=<s>/year=<y>/session-<id>.parquet` (rewritten whole, atomically, after
every rating), so several raters at once never touch each other's files and no rating is lost. A
re-rating is a new row; the latest per (rater, caption) wins in the `caption_ratings_latest` view."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from rs_assets.lib.lake import Lake
from rs_assets.lib.records import stable_hash

TABLE = "caption_ratings"
RUBRIC = ("relevance", "hallucination", "fluency")
SCHEMA = pa.schema(
    [
        ("rating_id", pa.string()),
        ("session_id", pa.string()),
        ("rater", pa.string()),
        ("caption_id", pa.string()),
        ("image_id", pa.string()),
        ("source", pa.string()),
        ("year", pa.int32()),
        ("relevance", pa.int8()),
        ("hallucination", pa.int8()),
        ("fluency", pa.int8()),
        ("note", pa.string()),
        ("rated_at", pa.timestamp("us", tz="UTC")),
        ("session_started_at", pa.timestamp("us", tz="UTC")),
    ]
)


class RatingError(ValueError):
    """A rating that cannot be stored; the message names the field."""


def session_key(source: str, year: int, session_id: str) -> str:
    return f"tables/{TABLE}/source={source}/year={year}/session-{session_id}.parquet"


def validate(body: Any, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The rating fields of a request body: a known caption_id, each rubric score an integer 1-5."""
    if not isinstance(body, dict):
        raise RatingError("expected a JSON object")
    caption_id = body.get("caption_id")
    if caption_id not in known:
        raise RatingError(f"caption_id: unknown caption {caption_id!r}")
    out = {"caption_id": caption_id}
    for field in RUBRIC:
        value = body.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise RatingError(f"{field}: an integer from 1 to 5 is required, got {value!r}")
        out[field] = value
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise RatingError("note: text of at most 2000 characters")
    out["note"] = note.strip() or None
    return out


class RatingSession:
    """One rater's session on one partition: every rating is added and the session file rewritten."""

    def __init__(self, lake: Lake, source: str, year: int, rater: str) -> None:
        if not rater.strip():
            raise RatingError("rater: a name or id is required")
        self.lake, self.source, self.year, self.rater = lake, source, year, rater.strip()
        self.session_id = uuid.uuid4().hex[:16]
        self.started = datetime.now(UTC)
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return session_key(self.source, self.year, self.session_id)

    def add(self, rating: dict[str, Any], image_id: str) -> dict[str, Any]:
        with self._lock:
            row = {
                "rating_id": stable_hash("rating", self.session_id, len(self.rows)),
                "session_id": self.session_id,
                "rater": self.rater,
                "image_id": image_id,
                "source": self.source,
                "year": self.year,
                "rated_at": datetime.now(UTC),
                "session_started_at": self.started,
                **rating,
            }
            self.rows.append(row)
            table = pa.Table.from_pylist(self.rows, schema=SCHEMA)
            self.lake.write_table(self.key, table, {"rs_assets.rating_session": self.session_id})
            return row
