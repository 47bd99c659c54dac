"""`rs-assets rate`: a keyboard-first rating page for one partition's candidate captions, served with
the standard library on 127.0.0.1 only. Ratings go to the lake through `RatingSession` (one file per
session). Writes need a JSON body (`Content-Type: application/json`), which a cross-site form cannot
send without a CORS preflight this server never grants."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from rs_assets.lib.caption_scores.ratings import RatingError, RatingSession, validate
from rs_assets.lib.caption_scores.score import candidates
from rs_assets.lib.lake import Lake, table_key

HOST = "127.0.0.1"
_IMAGE_ID = re.compile(r"^/thumb/([0-9a-f]{64})$")
MAX_BODY = 64_000


def _meta(rec: dict[str, Any]) -> str:
    parts = [
        ("title", rec.get("title")),
        ("captured", rec.get("captured_at")),
        ("lat, lon", f"{rec['lat']:.4f}, {rec['lon']:.4f}" if rec.get("lat") is not None else None),
        ("sensor", rec.get("sensor")),
        ("GSD m", rec.get("gsd_m")),
        ("labels", ", ".join(rec.get("labels") or []) or None),
        ("objects", len(rec.get("objects") or []) or None),
    ]
    return "\n".join(f"{k}: {v}" for k, v in parts if v is not None)


def rating_items(lake: Lake, source: str, year: int) -> list[dict[str, Any]]:
    """Images of the partition with their metadata and candidate captions (what caption_scores scores)."""
    key = table_key("captions", source, year)
    if not lake.has(key):
        raise RatingError(
            f"no captions for {source}|{year} at {lake.uri(key)}: materialise the partition first"
        )
    raw = {r["record_id"]: r for r in lake.read_table(table_key("raw_scrape", source, year)).to_pylist()}
    items = []
    for image_id, caps in candidates(lake.read_table(key).to_pylist()).items():
        rec = raw.get(caps[0]["record_id"], {})
        items.append(
            {
                "image_id": image_id,
                "meta": _meta(rec),
                "captions": [
                    {"caption_id": c["caption_id"], "strategy": c["strategy"], "text": c["text"]}
                    for c in caps
                ],
            }
        )
    return items


class RatingServer:
    """The page, its JSON API and thumbnails; `start()` serves in a thread (tests), `serve()` blocks."""

    def __init__(self, lake: Lake, source: str, year: int, rater: str, port: int = 0) -> None:
        self.lake = lake
        self.items = rating_items(lake, source, year)
        self.session = RatingSession(lake, source, year, rater)
        self.captions = {c["caption_id"]: item for item in self.items for c in item["captions"]}
        self.page = (resources.files("rs_assets.lib.caption_scores") / "static" / "rate.html").read_bytes()
        self.httpd = ThreadingHTTPServer((HOST, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value).encode(), "application/json")

            def do_GET(self) -> None:
                if self.path == "/":
                    self._send(200, server.page, "text/html; charset=utf-8")
                elif self.path == "/api/items":
                    self._json(200, {"rater": server.session.rater, "items": server.items})
                elif (m := _IMAGE_ID.match(self.path)) and server.lake.has_thumb(m.group(1)):
                    self._send(200, server.lake.get_thumb(m.group(1)), "image/jpeg")
                else:
                    self._json(404, {"error": f"not found: {self.path}"})

            def do_POST(self) -> None:
                if self.path != "/api/rate":
                    return self._json(404, {"error": f"not found: {self.path}"})
                if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                    return self._json(415, {"error": "Content-Type must be application/json"})
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return self._json(413, {"error": "body too large"})
                try:
                    valid = server.rate(json.loads(self.rfile.read(length) or b"null"))
                except (ValueError, RatingError) as exc:
                    return self._json(400, {"error": str(exc)})
                return self._json(200, {"rating_id": valid["rating_id"], "saved": len(server.session.rows)})

        return Handler

    def rate(self, body: Any) -> dict[str, Any]:
        rating = validate(body, self.captions)
        return self.session.add(rating, self.captions[rating["caption_id"]]["image_id"])

    def start(self) -> RatingServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
