"""Politeness primitives: bounded parallel maps, per-host pacing shared by a run's fetchers, and robots'
`noai` directives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")
NOAI_DIRECTIVES = ("noai", "noimageai")


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`fn` over `items` on `workers` threads, results as they complete. At most 2x `workers` items
    are queued, so a million-row source never sits in memory."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="rs-fetch")
    pending: set[Future[R]] = set()
    try:
        for item in items:
            pending.add(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def noai_directive(values: Iterable[str], ua_token: str) -> str | None:
    """The `noai`/`noimageai` directive of X-Robots-Tag values that apply to us (global, or
    prefixed with our user-agent token), else None."""
    for value in values:
        agent, sep, rest = value.partition(":")
        scoped = sep and "," not in agent and " " not in agent.strip()
        if scoped and agent.strip().lower() not in (ua_token, "*"):
            continue
        tokens = {t.strip().lower() for t in (rest if scoped else value).split(",")}
        hit = next((d for d in NOAI_DIRECTIVES if d in tokens), None)
        if hit:
            return hit
    return None


class Host:
    """Per-host politeness: at most `concurrency` requests in flight, one start per `interval`."""

    def __init__(self, concurrency: int, interval: float) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.interval = interval
        self.lock = threading.Lock()
        self.next_start = 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self.slots:
            with self.lock:
                now = time.monotonic()
                start = max(now, self.next_start)
                self.next_start = start + self.interval
            time.sleep(max(0.0, start - now))
            yield


class Politeness(Protocol):
    """What every fetcher of one run shares, so N fetchers never send N times a host's allowance:
    per-host pacing and concurrency, robots.txt answers (loaded once), the `max_requests_per_run`
    budget. `Pacer` shares it in one process; the `ray` executor's actor (`raw_scrape/sharded.py`)
    across workers."""

    def slot(self, host: str, concurrency: int, interval: float) -> AbstractContextManager[None]: ...

    def spend(self, cap: int) -> bool: ...

    def robots(self, origin: str, load: Callable[[], R | None]) -> R | None: ...


class Pacer:
    """In-process `Politeness`: one `Host` per host name; a crawl delay only ever lengthens its interval."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, Host] = {}
        self._robots: dict[str, object] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._sent = 0

    def slot(self, host: str, concurrency: int, interval: float) -> AbstractContextManager[None]:
        with self._lock:
            state = self._hosts.setdefault(host, Host(concurrency, interval))
            state.interval = max(state.interval, interval)
        return state.slot()

    def spend(self, cap: int) -> bool:
        """Count one request against `cap`; False when none is left."""
        with self._lock:
            if self._sent >= cap:
                return False
            self._sent += 1
            return True

    def robots(self, origin: str, load: Callable[[], R | None]) -> R | None:
        """`load()`'s answer for `origin`, called once (concurrent callers wait); None is not kept."""
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._robots:
                answer = load()
                if answer is None:
                    return None
                self._robots[origin] = answer
            return self._robots[origin]  # type: ignore[return-value]
