"""Shared fixtures. The test sources file is fixed before rs_assets.defs is imported (definitions read
it at load, like a code location does)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
os.environ["RS_ASSETS_SOURCES"] = str(TESTS / "sources_test.yaml")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.pop("RS_ASSETS_LLM", None)
os.environ.pop("RS_ASSETS_LAKE", None)
os.environ.pop("RS_ASSETS_HOME", None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def rs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh RS_ASSETS_HOME with a local lake inside."""
    home = tmp_path / "home"
    monkeypatch.setenv("RS_ASSETS_HOME", str(home))
    monkeypatch.delenv("RS_ASSETS_LAKE", raising=False)
    return home


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (another library, s3fs, must reach it over HTTP)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3/s3fs pointed at moto with dummy credentials."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return moto_endpoint
