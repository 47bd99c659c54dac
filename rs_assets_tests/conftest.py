"""Shared fixtures. The test sources file is fixed before rs_assets.defs is imported (definitions read
it at load, like a code location does)."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported inside the fixtures: the environment above is set before any rs_assets code
    from rs_assets_tests.cdp import Chromium
    from rs_assets_tests.openai_stub_server import StubServer

TESTS = Path(__file__).parent
os.environ["RS_ASSETS_SOURCES"] = str(TESTS / "sources_test.yaml")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# Hugging Face libraries (the release loader tests) read these at import: never reach the Hub, cache
# in a throwaway folder
os.environ["HF_DATASETS_OFFLINE"] = os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="rs_assets_hf_"))
os.environ.pop("RS_ASSETS_LLM", None)
os.environ.pop("RS_ASSETS_LAKE", None)
os.environ.pop("RS_ASSETS_HOME", None)


@pytest.fixture
def lake(tmp_path: Path):
    """An empty local lake in the test's folder."""
    from rs_assets.lib.lake import Lake

    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    """The OpenAI-compatible stub on loopback, with the openai backend pointed at it (`STUB_KEY`)."""
    from rs_assets_tests.openai_stub_server import STUB_KEY, StubServer

    server = StubServer().start()
    monkeypatch.setenv("RS_ASSETS_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", STUB_KEY)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    """Debian's headless Chromium over CDP (`.ci/run` installs it; outside CI its absence skips)."""
    from rs_assets_tests.cdp import Chromium, chromium_path

    if chromium_path() is None and not os.environ.get("CI"):
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    chrome = Chromium(tmp_path / "profile")
    try:
        yield chrome
    finally:
        chrome.close()


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
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """One partition and the publish job, run once per session for the release and lineage tests
    (mark their modules `xdist_group("published")` so one worker runs them all)."""
    import dagster as dg

    from rs_assets.lib.lake import Lake
    from rs_assets_tests.pipeline import run_partitions

    home = tmp_path_factory.mktemp("published")
    with dg.instance_for_test() as instance:
        with pytest.MonkeyPatch.context() as mp:  # only while the jobs run: nothing leaks to other tests
            mp.setenv("RS_ASSETS_HOME", str(home))
            results = run_partitions(instance, ["demo_synthetic|2020"])
        lake = Lake(str(home / "lake"))
        yield {
            "home": home,
            "lake": lake,
            "dir": Path(lake.root) / "release" / "latest",
            "catalog": home / "catalog.duckdb",
            "instance": instance,
            "results": results,
        }


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """One real local Ray instance (2 CPUs) for every `ray` executor test of the session (mark their
    modules `xdist_group("ray")` so one worker starts it once)."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


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
