"""The safe fetcher shared by `web` and `pairs` sources.

One `Fetcher.get` = SSRF guard and robots.txt before anything is sent, per-host rate limit and
concurrency cap, retries with exponential backoff honouring `Retry-After`, manual redirects (each hop
checked again), a streamed byte cap, an overall deadline, X-Robots-Tag `noai`, and a content-type
check. Every outcome is a `Fetched` with a `raw_scrape.status` code, never an exception, and an error
text passed through `redact_url` (no userinfo or signed-URL tokens in stored errors).

A URL's "user:pass@" is never sent as such: it is stripped from every URL, and only a web source's own
feed/sitemap/start URLs send theirs, as HTTP Basic on their first hop (no redirect, pagination page,
article or image of the same host gets them). `max_requests_per_run` bounds what one run sends.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar
from urllib.robotparser import RobotFileParser

import httpx

from rs_assets.lib.raw_scrape.connectors.common import redact_url, strip_userinfo, userinfo
from rs_assets.lib.raw_scrape.connectors.guard import BlockedAddress, GuardedTransport, resolve
from rs_assets.lib.raw_scrape.connectors.media import (
    SNIFF_BYTES,
    declared_image,
    image_format,
    looks_like_markup,
)
from rs_assets.lib.raw_scrape.connectors.politeness import Pacer, Politeness, bounded_map, noai_directive
from rs_assets.lib.retry_after import retry_after_s
from rs_assets.lib.sources import PairsSource, WebSource

HttpSource = WebSource | PairsSource
Accept = Literal["image", "page", "robots"]
T = TypeVar("T")
R = TypeVar("R")

RETRY_HTTP = frozenset({429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
BACKOFF_S = 0.5
MAX_WAIT_S = 120.0  # a longer Retry-After gives up: the next run retries the item
ROBOTS_MAX_BYTES = 512_000  # RFC 9309: parse at least 500 KiB


@dataclass
class Fetched:
    """Outcome of one GET (after redirects and retries). `status` is a raw_scrape.status code."""

    url: str
    status: str
    content: bytes | None = None
    http_status: int | None = None
    error: str | None = None
    content_type: str | None = None
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    retry_after: float | None = None
    location: str | None = None


class Fetcher:
    """Thread-safe HTTP GET for one source run; use as a context manager. Fetchers given the same
    `politeness` (default: their own) share per-host pacing, robots answers and the request budget."""

    def __init__(self, source: HttpSource, politeness: Politeness | None = None) -> None:
        self.source = source
        self.politeness = politeness or Pacer()
        self.ua_token = source.user_agent.split("/", 1)[0].strip().lower()
        limits = httpx.Limits(max_connections=source.workers, max_keepalive_connections=source.workers)
        self.client = httpx.Client(
            transport=GuardedTransport(source.allow_private_network, limits),
            timeout=source.timeout_s,
            headers={"User-Agent": source.user_agent},
            trust_env=False,
        )
        self._lock = threading.Lock()
        self._intervals: dict[str, float] = {}  # host -> seconds between starts (robots Crawl-delay)
        self._refusals: dict[str, tuple[str, str] | None] = {}
        self._robots: dict[str, RobotFileParser] = {}
        self._auth: dict[str, str] = {}  # configured URL (userinfo stripped) -> its Authorization
        for listed in source.listing_urls if isinstance(source, WebSource) else []:
            credentials = userinfo(listed)
            if credentials is not None:
                token = base64.b64encode(":".join(credentials).encode()).decode()
                self._auth[strip_userinfo(listed)] = f"Basic {token}"

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        return bounded_map(fn, items, self.source.workers)

    def get(self, url: str, accept: Accept = "image", validators: dict[str, str] | None = None) -> Fetched:
        """GET `url` (its userinfo stripped); `validators` (etag, last_modified) make it conditional
        (304 -> not_modified)."""
        headers = {}
        if validators and validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators and validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        url = current = strip_userinfo(url)
        for hop in range(self.source.max_redirects + 1):
            result = self._refused(current, check_robots=accept != "robots")
            if result is None:
                auth = self._auth.get(url) if hop == 0 else None
                result = self._attempts(current, accept, headers | ({"Authorization": auth} if auth else {}))
            if result.location is None:
                if result.error:
                    result.error = redact_url(result.error)
                return result
            current = strip_userinfo(result.location)
        return Fetched(
            url,
            "http_error",
            http_status=result.http_status,
            error=f"more than {self.source.max_redirects} redirects",
        )

    # -- before anything is sent -------------------------------------------------------------------
    def _refused(self, url: str, check_robots: bool) -> Fetched | None:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            return Fetched(url, "invalid_url", error=str(exc))
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return Fetched(url, "invalid_url", error=f"not an http(s) URL: {url[:200]!r}")
        if parsed.port is not None and not 0 < parsed.port < 65536:  # httpx accepts any integer
            return Fetched(url, "invalid_url", error=f"port {parsed.port} out of range 1-65535")
        refusal = self._address_refusal(parsed)
        if refusal:
            return Fetched(url, refusal[0], error=refusal[1])
        if not check_robots:
            return None
        robots = self._robots_for(parsed)
        if robots is None:
            return self._capped(url)
        if not robots.can_fetch(self.source.user_agent, url):
            return Fetched(url, "robots_disallowed", error=f"robots.txt disallows {parsed.raw_path.decode()}")
        return None

    def _address_refusal(self, url: httpx.URL) -> tuple[str, str] | None:
        key = f"{url.host}:{url.port}"
        if key not in self._refusals:
            try:
                resolve(url.host, url.port or 0, self.source.allow_private_network)
                verdict = None
            except BlockedAddress as exc:
                verdict = ("blocked_address", str(exc))
            except OSError as exc:
                verdict = ("connection_error", f"cannot resolve {url.host}: {exc}")
            self._refusals[key] = verdict
        return self._refusals[key]

    def _robots_for(self, url: httpx.URL) -> RobotFileParser | None:
        """The origin's robots.txt rules; None when the request cap left them unread."""
        origin = f"{url.scheme}://{url.netloc.decode()}"
        with self._lock:
            parser = self._robots.get(origin)
        if parser is None:
            answer = self.politeness.robots(origin, lambda: self._load_robots(origin))
            if answer is None:
                return None
            parser = self._parse_robots(origin, url.host, answer)
            with self._lock:
                self._robots[origin] = parser
        return parser

    def _load_robots(self, origin: str) -> Fetched | None:
        result = self.get(f"{origin}/robots.txt", accept="robots")
        return None if result.status == "request_cap" else result

    def _parse_robots(self, origin: str, host: str, result: Fetched) -> RobotFileParser:
        """RFC 9309: 4xx means no rules; 5xx or unreachable means disallow everything."""
        parser = RobotFileParser(f"{origin}/robots.txt")
        if result.status == "ok" and result.content is not None:
            parser.parse(result.content.decode("utf-8", "replace").splitlines())
            delay = parser.crawl_delay(self.source.user_agent)
            if delay:
                with self._lock:
                    self._intervals[host] = max(self._interval(host), float(delay))
        elif result.http_status is not None and 400 <= result.http_status < 500:
            parser.allow_all = True
        else:
            parser.disallow_all = True
        return parser

    def _interval(self, host: str) -> float:
        return self._intervals.get(host, 1.0 / self.source.requests_per_second)

    # -- sending ------------------------------------------------------------------------------------
    def _spend(self) -> bool:
        """Count one request against `max_requests_per_run`; False when the run has none left."""
        cap = self.source.max_requests_per_run
        return cap is None or self.politeness.spend(cap)

    def _capped(self, url: str) -> Fetched:
        cap = self.source.max_requests_per_run
        return Fetched(url, "request_cap", error=f"max_requests_per_run {cap} reached; requested next run")

    def _attempts(self, url: str, accept: Accept, headers: dict[str, str]) -> Fetched:
        host = httpx.URL(url).host
        for attempt in range(self.source.retries + 1):
            if not self._spend():
                return self._capped(url)
            with self.politeness.slot(host, self.source.max_concurrency, self._interval(host)):
                result = self._once(url, accept, headers)
            retryable = result.status in ("timeout", "connection_error") or result.http_status in RETRY_HTTP
            if not retryable or attempt == self.source.retries:
                break
            delay = result.retry_after if result.retry_after is not None else BACKOFF_S * 2**attempt
            if delay > MAX_WAIT_S:
                result.error = f"{result.error}; Retry-After {delay:.0f}s exceeds {MAX_WAIT_S:.0f}s"
                break
            time.sleep(delay)
        return result

    def _once(self, url: str, accept: Accept, headers: dict[str, str]) -> Fetched:
        deadline = time.monotonic() + self.source.timeout_s
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                return self._read(url, response, accept, deadline)
        except BlockedAddress as exc:
            return Fetched(url, "blocked_address", error=str(exc))
        except httpx.TimeoutException as exc:
            return Fetched(url, "timeout", error=f"{type(exc).__name__} after {self.source.timeout_s}s")
        except httpx.UnsupportedProtocol as exc:
            return Fetched(url, "invalid_url", error=str(exc))
        except httpx.TransportError as exc:
            return Fetched(url, "connection_error", error=f"{type(exc).__name__}: {exc}")

    def _read(self, url: str, response: httpx.Response, accept: Accept, deadline: float) -> Fetched:
        code, headers = response.status_code, response.headers
        meta = {
            "http_status": code,
            "content_type": headers.get("content-type"),
            "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified"),
        }
        if code == 304:
            return Fetched(url, "ok", not_modified=True, **meta)
        if code in REDIRECTS and headers.get("location"):
            return Fetched(url, "http_error", location=str(response.url.join(headers["location"])), **meta)
        if not 200 <= code < 300:
            return Fetched(
                url,
                "http_error",
                error=f"HTTP {code}",
                retry_after=retry_after_s(headers.get("retry-after")),
                **meta,
            )
        if accept != "robots" and self.source.respect_noai:
            directive = noai_directive(headers.get_list("x-robots-tag"), self.ua_token)
            if directive:
                return Fetched(url, "robots_disallowed", error=f"X-Robots-Tag: {directive}", **meta)
        if accept == "image" and not declared_image(meta["content_type"]):
            return Fetched(
                url,
                "bad_content_type",
                error=f"Content-Type {meta['content_type']!r} is not an image",
                **meta,
            )
        cap = ROBOTS_MAX_BYTES if accept == "robots" else self.source.max_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            return Fetched(url, "too_large", error=f"Content-Length {length} > max_bytes {cap}", **meta)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > cap:
                return Fetched(url, "too_large", error=f"body exceeds max_bytes {cap}", **meta)
            if time.monotonic() > deadline:
                return Fetched(
                    url, "timeout", error=f"body incomplete after {self.source.timeout_s}s", **meta
                )
        markup = looks_like_markup(body[:64]) and not image_format(body[:SNIFF_BYTES])
        if accept == "image" and (not body or markup):
            why = "empty body" if not body else "body is markup (HTML/XML/JSON), not an image"
            return Fetched(url, "bad_content_type", error=why, **meta)
        return Fetched(url, "ok", content=bytes(body), charset=response.charset_encoding, **meta)
