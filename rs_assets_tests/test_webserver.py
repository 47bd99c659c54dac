"""A headless dagster-webserver on a loopback port serves the code location over GraphQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rs_assets_tests.conftest import free_port

QUERY = "{ assetNodes { assetKey { path } isPartitioned } }"


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_webserver_graphql_lists_the_nine_assets(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "rs_assets.definitions",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_reset_signals,
    )
    try:
        deadline, nodes, last_error = time.monotonic() + 180, None, None
        while time.monotonic() < deadline and nodes is None:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": QUERY}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    payload = json.load(response)
                nodes = payload["data"]["assetNodes"] if payload.get("data") else None
            except Exception as exc:  # not up yet
                last_error = exc
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(1)
        assert nodes is not None, last_error
        keys = {"/".join(n["assetKey"]["path"]): n["isPartitioned"] for n in nodes}
        assert keys == {
            "raw_scrape": True,
            "filtered_pool": True,
            "image_clusters": False,
            "captions": True,
            "caption_scores": True,
            "instruction_sets": True,
            "benchmark_splits": True,
            "release": False,
            "warehouse": False,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
