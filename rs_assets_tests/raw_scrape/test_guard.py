"""The SSRF guard as pure logic over many address spellings, plus real fetches over loopback (IPv4 and
IPv6) proving a refused target is never connected to."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from rs_assets.lib.raw_scrape.connectors.guard import BlockedAddress, refusal, resolve
from rs_assets.lib.raw_scrape.connectors.http import Fetcher
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes

# Every cloud metadata address, as an address and in the wrappers that reach it (IPv4-mapped, 6to4).
METADATA_ADDRESSES = [
    "169.254.169.254",  # AWS, GCP, Azure IMDS, OCI, DigitalOcean, Hetzner, OpenStack
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "fd20:ce::254",  # GCP metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",  # Azure WireServer (a public address)
    "192.0.0.192",  # Oracle Cloud Classic
    "169.254.170.2",  # AWS ECS task metadata
    "fd00:ec2::23",  # AWS EKS Pod Identity agent over IPv6
    "fe80::a9fe:a9fe",  # OpenStack metadata over IPv6
    "::ffff:169.254.169.254",
    "::ffff:100.100.100.200",
    "::ffff:168.63.129.16",
    "::ffff:192.0.0.192",
    "2002:6464:64c8::1",  # 6to4 around 100.100.100.200
]

# Host spellings a URL parser admits for metadata targets: hex, decimal, octal and short dotted IPv4
# (resolved by the C library, so refused AFTER resolution), bracketed IPv6, trailing dots, names.
METADATA_HOSTS = [
    "0xA9FEA9FE",
    "2852039166",
    "169.254.43518",
    "0x646464c8",
    "1684301000",
    "0xa83f8110",
    "2822734096",
    "0xc00000c0",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[fd00:ec2::254]",
    "[FD20:CE::254]",
    "169.254.169.254.",
    "100.100.100.200.",
]
# Dotted-quad octal: the URL parser refuses these (`invalid_url`); the guard refuses them too.
UNPARSED_HOSTS = ["0251.0376.0251.0376", "0144.0144.0144.0310"]
# Metadata hostnames (any case, trailing dot): refused by name, before any DNS query.
METADATA_NAMES = [
    "metadata",
    "METADATA.google.internal",
    "metadata.google.internal.",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
]


@pytest.fixture
def dns_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every host handed to the resolver. The real resolver answers numeric hosts (the C
    library parses them, no query) and `localhost` (hosts file); any other name fails here, so no DNS
    query can leave the machine even when the guard is wrong."""
    seen: list[str] = []
    real = socket.getaddrinfo

    def recording(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list:
        seen.append(host)
        if host != "localhost":
            flags |= socket.AI_NUMERICHOST
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return seen


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every outgoing TCP connection; anything but loopback fails the test before a packet leaves."""
    seen: list[tuple[Any, ...]] = []
    real = socket.create_connection

    def guarded(address: tuple[Any, ...], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        assert ipaddress.ip_address(address[0]).is_loopback, f"connected to {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return seen


def _source(base: str, allow_private: bool) -> Any:
    body = {
        "kind": "web",
        "feed_url": f"{base}/feed.xml",
        "default_year": 2020,
        "allow_private_network": allow_private,
        "requests_per_second": 500,
        "timeout_s": 2.0,
        "retries": 0,
    }
    return parse_sources({"sources": {"eo": body}})["eo"]


@pytest.mark.parametrize("address", METADATA_ADDRESSES)
@pytest.mark.parametrize("allow_private", [True, False])
def test_metadata_addresses_are_refused_whatever_the_flag(address: str, allow_private: bool) -> None:
    reason = refusal(ipaddress.ip_address(address), allow_private)
    assert reason is not None and "metadata" in reason, (address, reason)


@pytest.mark.parametrize("host", METADATA_HOSTS + METADATA_NAMES)
def test_metadata_host_spellings_are_refused_with_private_network_allowed(host: str, dns_calls: list) -> None:
    parsed = httpx.URL(f"http://{host}/latest/meta-data/").host  # the URL parser admits the spelling
    with pytest.raises(BlockedAddress, match="metadata"):
        resolve(parsed, 80, allow_private=True)
    if host in METADATA_NAMES:  # refused by name: no DNS query leaves for a metadata hostname
        assert dns_calls == []


@pytest.mark.parametrize("host", UNPARSED_HOSTS)
def test_spellings_the_url_parser_refuses_are_refused_by_the_guard_too(host: str, dns_calls: list) -> None:
    with pytest.raises(httpx.InvalidURL):
        httpx.URL(f"http://{host}/")
    with pytest.raises(BlockedAddress, match="metadata"):
        resolve(host, 80, allow_private=True)


def test_private_and_public_addresses_keep_their_verdicts(dns_calls: list[str]) -> None:
    admitted_with_flag = ["127.0.0.1", "::1", "::ffff:127.0.0.1", "10.1.2.3", "192.168.1.10", "fd12:3456::1"]
    for address in admitted_with_flag:
        ip = ipaddress.ip_address(address)
        assert refusal(ip, True) is None, address
        assert refusal(ip, False) in ("loopback", "private"), address
    assert refusal(ipaddress.ip_address("::1"), False) == "loopback"
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):  # public: admitted
        assert refusal(ipaddress.ip_address(address), False) is None
    for address in ("0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1", "169.254.1.1", "fe80::1"):
        assert refusal(ipaddress.ip_address(address), True) is not None, address  # never legitimate
    assert resolve("[::1]", 80, allow_private=True) == "::1"
    assert resolve("localhost", 80, allow_private=True) in ("127.0.0.1", "::1")


def test_redirects_to_metadata_are_refused_and_nothing_is_sent(
    connections: list[tuple[Any, ...]], dns_calls: list[str]
) -> None:
    site = Site()
    base = site.start()
    targets = [
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://168.63.129.16/machine?comp=goalstate",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0xA9FEA9FE/latest/meta-data/iam/",
        "http://[::ffff:169.254.169.254]/latest/",
    ]
    site.add("/robots.txt", b"", "text/plain")
    for i, target in enumerate(targets):
        site.add(f"/img/{i}.jpg", b"", "image/jpeg", status=302, Location=target)
    try:
        with Fetcher(_source(base, allow_private=True)) as fetcher:
            got = [fetcher.get(f"{base}/img/{i}.jpg") for i in range(len(targets))]
    finally:
        site.stop()
    assert [(r.status, "metadata" in (r.error or "")) for r in got] == [("blocked_address", True)] * 6
    assert {a[0] for a in connections} == {"127.0.0.1"}
    assert "metadata.google.internal" not in dns_calls
    assert sorted(site.paths()) == sorted(["/robots.txt", *(f"/img/{i}.jpg" for i in range(6))])


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def server_v6() -> Iterator[HTTPServer]:
    if not _ipv6_loopback():
        pytest.skip("this machine cannot bind the IPv6 loopback address ::1")
    server = HTTPServer(host="::1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def test_ipv6_loopback_is_admitted_only_when_private_network_is_allowed(
    server_v6: HTTPServer, connections: list[tuple[Any, ...]]
) -> None:
    server_v6.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    picture = image_bytes(seed=11)
    server_v6.expect_request("/img/a.jpg").respond_with_data(picture, content_type="image/jpeg")
    base = server_v6.url_for("/").rstrip("/")
    assert base.startswith("http://[::1]:")
    with Fetcher(_source(base, allow_private=False)) as fetcher:
        refused = fetcher.get(f"{base}/img/a.jpg")
    assert refused.status == "blocked_address" and "loopback" in (refused.error or "")
    assert server_v6.log == [] and connections == []
    with Fetcher(_source(base, allow_private=True)) as fetcher:
        fetched = fetcher.get(f"{base}/img/a.jpg")
    assert (fetched.status, fetched.content) == ("ok", picture), fetched.error
    assert [r.path for r, _ in server_v6.log] == ["/robots.txt", "/img/a.jpg"]
    assert {a[0] for a in connections} == {"::1"}
