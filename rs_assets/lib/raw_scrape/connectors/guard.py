"""SSRF guard: which addresses a connector may connect to, enforced where the socket is opened.

A URL check alone is not enough: a name can resolve to a public address when checked and to a private
one when connected (DNS rebinding), and a redirect can point anywhere. So the check runs twice: before
a request (to record `blocked_address` without sending anything) and inside the connection pool, which
connects to the very address it just checked.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(Exception):
    """The host resolves to an address the source may not reach; nothing was sent."""


def refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why `ip` is refused, or None. Link-local (cloud metadata 169.254.169.254), multicast, reserved
    and unspecified addresses are never legitimate targets, even with `allow_private_network`."""
    embedded = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if embedded is not None:
        ip = embedded
    for label, hit in (
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return label
    if allow_private:
        return None
    if ip.is_loopback:
        return "loopback"
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The first address of `host`; raises BlockedAddress if ANY address is refused (an attacker
    controlling DNS could otherwise mix one public and one private answer), OSError if unresolvable."""
    try:
        candidates = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        candidates = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in candidates:
        reason = refusal(ip, allow_private)
        if reason:
            raise BlockedAddress(f"{host} resolves to {reason} address {ip}")
    return str(candidates[0])


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        try:
            address = resolve(host, port, self.allow_private)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        # TLS still verifies and sends SNI for `host`: httpcore takes those from the request origin.
        return super().connect_tcp(address, port, *args, **kwargs)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport whose pool connects only to addresses the guard accepts.

    httpx 0.28 has no public hook for httpcore's `network_backend`, so the pool is rebuilt with the
    same settings (the rs_assets tests fail loudly if a future httpx renames `_pool`).
    """

    def __init__(self, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )
