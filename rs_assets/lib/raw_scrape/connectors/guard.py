"""SSRF guard: which addresses a connector may connect to, enforced where the socket is opened.

A URL check alone is not enough: a name can resolve to a public address when checked and to a private
one when connected (DNS rebinding), and a redirect can point anywhere. So the check runs twice: before
a request (to record `blocked_address` without sending anything) and inside the connection pool, which
connects to the very address it just checked. Cloud metadata endpoints (the table below) are refused
by address and by name even where `allow_private_network` admits loopback and private hosts.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata and platform endpoints: (address or network, provider). Refused whatever
# `allow_private_network` says, by address after resolution (a DNS name pointing there is refused too).
METADATA_ENDPOINTS: tuple[tuple[str, str], ...] = (
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
    ("169.254.169.254", "AWS EC2 IMDS"),
    ("fd00:ec2::254", "AWS EC2 IMDS"),
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4.html
    ("169.254.170.2", "AWS ECS task metadata"),
    # https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html
    ("169.254.170.23", "AWS EKS Pod Identity"),
    ("fd00:ec2::23", "AWS EKS Pod Identity"),
    # https://cloud.google.com/compute/docs/metadata/querying-metadata
    ("169.254.169.254", "Google Compute Engine"),
    ("fd20:ce::254", "Google Compute Engine"),
    # https://learn.microsoft.com/en-us/azure/virtual-machines/instance-metadata-service
    ("169.254.169.254", "Azure IMDS"),
    # https://learn.microsoft.com/en-us/azure/virtual-network/what-is-ip-address-168-63-129-16
    ("168.63.129.16", "Azure WireServer"),
    # https://www.alibabacloud.com/help/en/ecs/user-guide/overview-of-ecs-instance-metadata
    ("100.100.100.200", "Alibaba Cloud ECS"),
    # https://docs.oracle.com/en-us/iaas/Content/Compute/Tasks/gettingmetadata.htm
    ("169.254.169.254", "Oracle Cloud Infrastructure"),
    # https://docs.oracle.com/en/cloud/iaas-classic/compute-iaas-cloud/stcsg/retrieving-instance-metadata.html
    ("192.0.0.192", "Oracle Cloud Classic"),
    # https://docs.digitalocean.com/reference/api/metadata/
    ("169.254.169.254", "DigitalOcean"),
    # https://docs.hetzner.cloud/reference/cloud#server-metadata
    ("169.254.169.254", "Hetzner Cloud"),
    # https://docs.openstack.org/nova/latest/user/metadata.html
    ("169.254.169.254", "OpenStack"),
    # https://specs.openstack.org/openstack/neutron-specs/specs/ussuri/metadata-add-ipv6-support.html
    ("fe80::a9fe:a9fe", "OpenStack"),
)

# Names that cloud resolvers answer with a metadata address: refused before any DNS query.
METADATA_HOSTNAMES: tuple[tuple[str, str], ...] = (
    # https://cloud.google.com/compute/docs/metadata/querying-metadata
    ("metadata.google.internal", "Google Compute Engine"),
    ("metadata.goog", "Google Compute Engine"),
    ("metadata", "Google Compute Engine"),
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
    ("instance-data", "AWS EC2 IMDS"),
    ("instance-data.ec2.internal", "AWS EC2 IMDS"),
)


def _providers(rows: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """address or name -> "provider / provider" (one address serves several clouds)."""
    grouped: dict[str, list[str]] = {}
    for key, provider in rows:
        grouped.setdefault(key, []).append(provider)
    return {key: " / ".join(providers) for key, providers in grouped.items()}


_METADATA_NETS = {ipaddress.ip_network(k): v for k, v in _providers(METADATA_ENDPOINTS).items()}
_METADATA_NAMES = _providers(METADATA_HOSTNAMES)


class BlockedAddress(Exception):
    """The host resolves to an address the source may not reach; nothing was sent."""


def metadata_provider(ip: IPAddress) -> str | None:
    """The cloud(s) whose metadata endpoint `ip` is, else None."""
    return next((who for net, who in _METADATA_NETS.items() if ip in net), None)


def refusal(ip: IPAddress, allow_private: bool) -> str | None:
    """Why `ip` is refused, or None. Cloud metadata endpoints, link-local, multicast, reserved and
    unspecified addresses are never legitimate targets, even with `allow_private_network`; IPv4
    wrapped in IPv6 (mapped, 6to4) is judged as the IPv4 address it reaches."""
    embedded = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if embedded is not None:
        ip = embedded
    provider = metadata_provider(ip)
    if provider:
        return f"cloud metadata endpoint ({provider})"
    if ip.is_loopback:  # before `reserved`: ::1 lies in the reserved ::/8
        return None if allow_private else "loopback"
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
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The first address of `host`; raises BlockedAddress for a metadata hostname (before any DNS
    query) or if ANY address is refused (an attacker controlling DNS could otherwise mix one public
    and one private answer), OSError if unresolvable. Hex, octal and decimal IPv4 spellings are
    resolved by the C library like any name, then judged by the address they reach."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _METADATA_NAMES:
        raise BlockedAddress(f"{host} is a cloud metadata hostname ({_METADATA_NAMES[name]})")
    try:
        candidates = [ipaddress.ip_address(name)]
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
