"""A real HTTP site on 127.0.0.1 for connector tests and the ingest bench: routes, a request log,
ETag revalidation, and an optional delay per response."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

Answer = tuple[int, dict[str, str], bytes]


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (96, 80), seed: int = 0) -> bytes:
    """A small distinct image: `seed` changes the colour so content addresses differ."""
    buf = io.BytesIO()
    Image.new("RGB", size, ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256)).save(buf, fmt)
    return buf.getvalue()


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.monotonic)  # when the request arrived


@dataclass
class Site:
    """Routes map a path (with query) to a static answer or a handler `(headers, nth_call) -> Answer`."""

    delay_s: float = 0.0
    routes: dict[str, Answer | Callable[[dict[str, str], int], Answer]] = field(default_factory=dict)
    log: list[Hit] = field(default_factory=list)
    _calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str = "text/html",
        status: int = 200,
        etag: bool = True,
        **headers: str,
    ) -> None:
        hdrs = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if etag:
            hdrs["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        self.routes[path] = (status, hdrs, body)

    def answer(self, path: str, headers: dict[str, str]) -> Answer:
        with self._lock:
            nth = self._calls[path] = self._calls.get(path, 0) + 1
        route = self.routes.get(path)
        if route is None:
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        status, hdrs, body = route(headers, nth) if callable(route) else route
        if "ETag" in hdrs and headers.get("if-none-match") == hdrs["ETag"]:
            return 304, {"ETag": hdrs["ETag"]}, b""
        return status, hdrs, body

    def paths(self) -> list[str]:
        return [h.path for h in self.log]

    def start(self) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, hdrs, body = site.answer(self.path, headers)
                with site._lock:
                    site.log.append(Hit(self.path, headers, status))
                if site.delay_s:
                    time.sleep(site.delay_s)
                self.send_response(status)
                for key, value in hdrs.items():
                    self.send_header(key, value)
                if "X-Stream" in hdrs:  # no length: the client only learns the size by reading
                    self.send_header("Connection", "close")
                    self.close_connection = True
                elif "Content-Length" not in hdrs:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
