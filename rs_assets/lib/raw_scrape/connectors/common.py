"""Small pure helpers every connector needs: dates, years, canonical URLs, secret redaction, coordinates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref_src)$", re.IGNORECASE)
_LATLON = (("lat", "lon"), ("latitude", "longitude"))
_YEAR = re.compile(r"^\d{4}$")
_USERINFO = re.compile(r"://[^/?#\s]*@")
_SECRET_PARAM = re.compile(
    r"(?<=[?&#;])((?:token|key|sig|signature|access_token|api_key|apikey|password|secret|client_secret"
    r"|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#;\s'\"]*",
    re.IGNORECASE,
)


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime, date, year, ISO 8601 or RFC 2822 value; else None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and 1000 <= value <= 9999:
        return datetime(int(value), 1, 1, tzinfo=UTC)
    text = str(value).strip()
    if _YEAR.match(text):
        return datetime(int(text), 1, 1, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def item_year(when: datetime | None, default_year: int) -> int:
    """A record's year: its acquisition/publication date, else the source default (never fetch time).
    Sources that yield dated records require `default_year`, so no record is lost for want of a year."""
    return when.year if when is not None else default_year


def canonical_url(url: str) -> str:
    """Stable identity of a URL: lower-case scheme/host, no fragment, default port or tracking params.
    A URL that does not parse (`http://[::1`, port 99999) is its own identity, stripped: identity must
    not raise, the fetcher records such a URL `invalid_url`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", query, ""))


def join_url(base: str, ref: str) -> str:
    """`ref` resolved against `base`, or `ref` itself when either does not parse (`http://[::1`): one
    bad link must not stop discovery, the fetcher records it `invalid_url`."""
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


def strip_userinfo(url: str) -> str:
    """`url` without its "user:pass@": what is requested, stored and used as a base for links."""
    return _USERINFO.sub("://", url, count=1)


def userinfo(url: str) -> tuple[str, str] | None:
    """The (user, password) a URL carries in its authority (percent-decoded), else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def redact_url(url: str) -> str:
    """`url` (or any text mentioning URLs) safe to store or log: userinfo ("user:pass@") removed and the
    values of credential-like query/fragment parameters (token, key, sig, X-Amz-Signature...) replaced
    by "REDACTED". Record identities (`RawItem.url`, `native_id`) keep query parameters verbatim, so
    such credentials belong in request headers or the environment, never in a source's URLs."""
    return _SECRET_PARAM.sub(r"\1REDACTED", _USERINFO.sub("://", url))


def to_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN -> None


def valid_latlon(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lat, lon) when both parse and lie on Earth, else None."""
    flat, flon = to_float(lat), to_float(lon)
    if flat is None or flon is None or not (-90 <= flat <= 90 and -180 <= flon <= 180):
        return None
    return flat, flon


def row_latlon(row: dict[str, Any]) -> tuple[float, float] | None:
    """The first valid (lat, lon) or (latitude, longitude) pair of a table row."""
    return next((ll for a, b in _LATLON if (ll := valid_latlon(row.get(a), row.get(b)))), None)
