"""Politeness primitives: bounded parallel maps, per-host pacing, and robots' `noai` directives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

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
