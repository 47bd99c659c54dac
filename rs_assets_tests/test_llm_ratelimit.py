"""The LLM rate limiter (shared by captions and the caption_scores judge): limits adopted from the server's
`x-ratelimit-*` headers up and down, a small probe before the first answer, smooth pacing over short
windows, explicit caps winning, concurrency alone when nothing is advertised.

Unit tests drive `RateLimiter` with an injected clock through a discrete simulation of calls in flight;
the end-to-end tests run `caption_partition` (openai backend) against the real HTTP stub and read the
server's own request timestamps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.ratelimit import RateLimiter, parse_duration
from rs_assets.lib.llm.runner import LocalLimits
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import StubServer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def advertised(rpm: float, tpm: float = 30_000_000) -> dict[str, str]:
    return {"x-ratelimit-limit-requests": f"{rpm:g}", "x-ratelimit-limit-tokens": f"{tpm:g}"}


def simulate(
    limiter: RateLimiter,
    clock: Clock,
    headers: dict[str, str],
    *,
    seconds: float,
    concurrency: int = 64,
    latency: float = 0.2,
    tokens: int = 1000,
) -> list[float]:
    """Send times of a client keeping `concurrency` calls of `latency` s in flight for `seconds`; every
    answer carries `headers`."""
    sent: list[float] = []
    answers: list[float] = []
    while clock.now < seconds:
        for done in [t for t in answers if t <= clock.now]:
            answers.remove(done)
            limiter.observe(headers)
        wait = limiter.try_acquire(tokens) if len(answers) < concurrency else math.inf
        if wait == 0:
            sent.append(clock.now)
            answers.append(clock.now + latency)
            continue
        clock.now = min(clock.now + wait, min(answers, default=math.inf))
    return sent


def busiest(times: list[float], window: float) -> int:
    """Most requests in any window of `window` seconds."""
    times = sorted(times)
    start, most = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_an_advertised_120_rpm_is_never_exceeded_over_10_s_windows_including_the_start() -> None:
    clock = Clock()
    sent = simulate(RateLimiter(clock=clock), clock, advertised(120), seconds=120)
    assert sent[:2] == [0.0, 0.0] and sent[2] == pytest.approx(1.2)  # a probe of two (counted), then paced
    assert busiest(sent, 10) <= 1.5 * 2 * 10
    assert busiest(sent[-60:], 10) <= 21  # steady state: the per-second share plus half a second
    assert 235 <= len(sent) <= 245  # ...and the limit is used, not undershot


def test_limits_are_adopted_up_from_the_old_defaults_and_down_again() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    sent = simulate(limiter, clock, advertised(10_000), seconds=10)
    assert limiter.in_force() == {"rpm_limit": 10_000, "tpm_limit": 30_000_000}
    assert len(sent) >= 0.95 * 10_000 / 6  # 10 s of a 10,000 RPM tier: 20x the old 500 RPM default
    assert busiest(sent, 10) <= 1.5 * 10_000 / 6
    after = simulate(limiter, clock, advertised(120), seconds=40)[len(sent) :]
    assert limiter.in_force()["rpm_limit"] == 120
    assert busiest([t for t in after if t > 10.5], 10) <= 30  # once the lower limit is known


def test_explicit_caps_win_over_higher_advertised_limits_and_yield_to_lower_ones() -> None:
    clock = Clock()
    capped = RateLimiter(rpm=300, tpm=1_000_000, clock=clock)
    sent = simulate(capped, clock, advertised(10_000), seconds=20)
    assert capped.in_force() == {"rpm_limit": 300, "tpm_limit": 1_000_000}
    assert 95 <= len(sent) <= 105 and busiest(sent, 10) <= 1.5 * 5 * 10
    clock = Clock()
    lower = RateLimiter(rpm=300, clock=clock)
    simulate(lower, clock, advertised(60), seconds=2)
    assert lower.in_force()["rpm_limit"] == 60


def test_tokens_per_minute_pace_large_requests_at_the_average_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    # 60,000 TPM = 1,000 tokens/s; each call takes 5,000 (more than the half-second bucket holds)
    sent = simulate(limiter, clock, advertised(10_000, tpm=60_000), seconds=60, tokens=5_000)
    assert 11 <= len(sent) <= 14  # ~12 calls a minute, plus the probe
    assert busiest(sent, 10) <= 1.5 * 10 / 5 + 2


def test_without_advertised_limits_only_concurrency_paces() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    sent = simulate(limiter, clock, {}, seconds=10, concurrency=8, latency=0.2)
    assert limiter.in_force() == {}
    assert 395 <= len(sent) <= 402  # 8 in flight / 0.2 s = 40 calls/s from the first answer on


def test_probe_slots_free_on_failure_and_remaining_zero_pauses_until_reset() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert [limiter.try_acquire(10) for _ in range(3)] == [0, 0, math.inf]
    limiter.release()  # a probe failed without an answer: the next request may go
    assert limiter.try_acquire(10) == 0 and limiter.try_acquire(10) == math.inf
    limiter.pause(2.0)  # a 429 with Retry-After during the probe holds the probe too
    limiter.release()
    assert limiter.try_acquire(10) == pytest.approx(2.0)
    clock.now = 2.0
    limiter.observe(
        {**advertised(600), "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}
    )
    assert limiter.try_acquire(10) == pytest.approx(1.5)
    clock.now = 3.5
    assert limiter.try_acquire(10) == 0


def test_remaining_headers_tighten_the_buckets() -> None:
    assert parse_duration("6m0s") == 360 and parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("1h2m3.5s") == pytest.approx(3723.5) and parse_duration(None) is None
    clock = Clock()
    limiter = RateLimiter(rpm=600, tpm=100_000, clock=clock)
    limiter.observe({"x-ratelimit-remaining-requests": "1", "x-ratelimit-remaining-tokens": "500"})
    assert limiter.try_acquire(400) == 0  # one request and 400 tokens were left
    # the next waits for the refill: 300 more tokens at 1,667/s (longer than 0.1 s for a request)
    assert limiter.try_acquire(400) == pytest.approx(0.18)


# End to end: caption_partition (openai backend, gaia on short texts: one call per image) against the stub.


def run_captions(
    monkeypatch: pytest.MonkeyPatch, lake: Lake, server: StubServer, images: int, **changes: Any
) -> tuple[dict[str, Any], float]:
    monkeypatch.setenv("RS_ASSETS_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ratelimit-test")
    settings = replace(LLMSettings.from_env(), timeout_s=10.0, **changes)
    records = caption_records(lake, images)
    started = time.monotonic()
    result = caption_partition(records, ["gaia"], lake, settings)
    assert set(result.table["status"].to_pylist()) == {"ok"}
    return result.stats, time.monotonic() - started


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[StubServer] = []

    def start(**kwargs: Any) -> StubServer:
        servers.append(StubServer(**kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_captions_stay_within_an_advertised_limit_over_short_windows(
    monkeypatch: pytest.MonkeyPatch, lake: Lake, serve: Any
) -> None:
    # 600 RPM is 5x 120 RPM, so the 10 s window scales to 2 s: at most 1.5 x 10/s x 2 s = 30 requests
    server = serve(latency=0.02, rpm=600)
    stats, wall = run_captions(monkeypatch, lake, server, 40)
    times = [r.at for r in server.calls()]
    assert len(times) == 40 and stats["retries"] == 0  # no 429 from the server's own count
    assert busiest(times, 2.0) <= 30
    assert stats["rpm_limit"] == 600 and wall >= 3.0  # paced at ~10/s, not bursted (speed: make bench)


def test_captions_rise_to_a_high_advertised_limit_and_explicit_caps_win(
    monkeypatch: pytest.MonkeyPatch, lake: Lake, serve: Any
) -> None:
    fast = serve(latency=0.2, rpm=10_000, tpm=30_000_000)
    stats, _ = run_captions(monkeypatch, lake, fast, 60)
    assert stats["rpm_limit"] == 10_000 and stats["tpm_limit"] == 30_000_000  # above the old 500 / 200k
    assert fast.state.peak_in_flight > 16  # the old default concurrency

    capped = serve(latency=0.01, rpm=10_000, tpm=30_000_000)
    stats, wall = run_captions(monkeypatch, Lake(f"{lake.root}-capped"), capped, 30, rpm=1200.0)
    times = [r.at for r in capped.calls()]
    assert stats["rpm_limit"] == 1200 and wall >= 1.0  # 30 calls at 20/s, not the server's 167/s
    assert (times[-1] - times[10]) / 19 >= 0.045  # after the burst: one call per 50 ms


def test_captions_without_advertised_limits_run_at_the_concurrency(
    monkeypatch: pytest.MonkeyPatch, lake: Lake, serve: Any
) -> None:
    local = serve(latency=0.1)  # vLLM / Ollama: no x-ratelimit headers at all
    stats, _ = run_captions(monkeypatch, lake, local, 40, concurrency=5)
    assert "rpm_limit" not in stats and "tpm_limit" not in stats
    assert local.state.peak_in_flight == 5


def test_each_model_is_paced_by_its_own_advertised_limits() -> None:
    """Providers advertise limits per model: the text model's 120 RPM (or its 429 pause) must not slow
    the vision model's 10,000 RPM calls, and the run reports both."""
    limits = LocalLimits(LLMSettings())
    limits.observe("gpt-4o", advertised(10_000))
    limits.observe("gpt-4o-mini", advertised(120))
    state = limits.state()
    assert state["rpm_limit"] == 120  # the tightest, for the metadata's one number
    assert state["rpm_limit/gpt-4o"] == 10_000 and state["rpm_limit/gpt-4o-mini"] == 120
    assert limits.limiter("gpt-4o").limit("requests") == 10_000
    limits.pause("gpt-4o-mini", 30.0)
    assert limits.limiter("gpt-4o-mini").try_acquire(100) > 29
    assert limits.limiter("gpt-4o").try_acquire(100) < 1.0  # not paused by the other model's 429
