"""Batch API backend: half price, hours of latency. Requests are collected instead of sent (Deferred),
flushed as JSONL files within 50,000 requests and 200 MB, uploaded, run, polled, and joined back by
`custom_id` (= request fingerprint). Batch ids are stored in the lake (`llm_batches/<hash>.json`) so a
restarted run polls the batch it already paid for instead of submitting a new one; a batch that ended
without completing (failed, expired, cancelled) is forgotten, so the next run submits anew.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import openai

from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.client import completion_from_body, image_url
from rs_assets.lib.llm.request import Completion, LLMRequest, PermanentError
from rs_assets.lib.llm.runner import Deferred
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.records import stable_hash

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
TERMINAL = ("completed", "failed", "expired", "cancelled")
ENDPOINT = "/v1/chat/completions"


def chunk_lines(
    lines: list[tuple[str, bytes]], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES
) -> list[list[tuple[str, bytes]]]:
    """Split (custom_id, JSONL line) pairs into files within the request and byte limits, in order."""
    chunks: list[list[tuple[str, bytes]]] = []
    size = 0
    for item in lines:
        if not chunks or len(chunks[-1]) >= max_requests or size + len(item[1]) > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item[1])
    return chunks


def parse_output(data: bytes) -> dict[str, Completion | str]:
    """Batch output/error file lines -> custom_id: Completion, or an error message."""
    out: dict[str, Completion | str] = {}
    for line in data.decode("utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        response = item.get("response") or {}
        if response.get("status_code") == 200:
            out[item["custom_id"]] = completion_from_body(response["body"])
        else:
            error = item.get("error") or (response.get("body") or {}).get("error") or {}
            reason = error.get("message") or response.get("status_code")
            out[item["custom_id"]] = f"batch item failed: {reason}"
    return out


class BatchBackend:
    batch = True
    paced = False

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        lake: Lake,
        settings: LLMSettings,
        redact: Callable[[str], str],
        log: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.lake = lake
        self.settings = settings
        self.redact = redact
        self.log = log or logging.getLogger(__name__)
        self.pending: dict[str, LLMRequest] = {}
        self.results: dict[str, Completion | str] = {}

    async def aclose(self) -> None:
        await self.client.close()  # shared with the OpenAIBackend; closing twice is harmless

    async def complete(self, request: LLMRequest) -> Completion:
        got = self.results.get(request.fingerprint)
        if isinstance(got, Completion):
            return got
        if got is not None:
            raise PermanentError(got)
        self.pending[request.fingerprint] = request
        raise Deferred()

    async def _line(self, fp: str, request: LLMRequest) -> tuple[str, bytes]:
        url = await image_url(self.lake, request.image) if request.image else None
        line = {"custom_id": fp, "method": "POST", "url": ENDPOINT, "body": request.body(url)}
        return fp, json.dumps(line, separators=(",", ":")).encode() + b"\n"

    async def flush(self) -> int:
        """Submit (or resume) everything collected, wait for the batches, return how many got answers."""
        pending, self.pending = self.pending, {}
        if not pending:
            return 0
        before = len(self.results)
        lines = []
        for fp in sorted(pending):  # sorted: the same pending set gives the same files and state keys
            try:
                lines.append(await self._line(fp, pending[fp]))
            except PermanentError as exc:
                self.results[fp] = str(exc)
        await asyncio.gather(*(self._run_chunk(chunk) for chunk in chunk_lines(lines)))
        return len(self.results) - before

    async def _run_chunk(self, chunk: list[tuple[str, bytes]]) -> None:
        ids = [fp for fp, _ in chunk]
        state_key = f"llm_batches/{stable_hash('batch', ids, length=32)}.json"
        try:
            batch_id = await self._submit(chunk, state_key)
            self.results.update(await self._wait(batch_id, ids, state_key))
        except openai.APIError as exc:
            if isinstance(exc, openai.NotFoundError):  # the stored batch (or its files) is gone: start over
                await asyncio.to_thread(self.lake.delete, state_key)
            message = self.redact(f"batch API error: {exc.message}")[:500]
            self.log.warning("%s", message)
            self.results.update(dict.fromkeys(ids, message))

    async def _submit(self, chunk: list[tuple[str, bytes]], state_key: str) -> str:
        if self.lake.has(state_key):
            batch_id = json.loads(self.lake.read_bytes(state_key))["batch_id"]
            self.log.info("resuming batch %s (%d requests)", batch_id, len(chunk))
            return batch_id
        uploaded = await self.client.files.create(
            file=("requests.jsonl", b"".join(x for _, x in chunk)), purpose="batch"
        )
        batch = await self.client.batches.create(
            input_file_id=uploaded.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"producer": "rs_assets"},
        )
        self.lake.write_bytes(
            state_key,
            json.dumps({"batch_id": batch.id, "input_file_id": uploaded.id, "requests": len(chunk)}).encode(),
        )
        self.log.info("submitted batch %s (%d requests)", batch.id, len(chunk))
        return batch.id

    async def _wait(self, batch_id: str, ids: list[str], state_key: str) -> dict[str, Completion | str]:
        """Poll to a terminal status; requests a finished batch did not answer become errors.

        A batch that ended `failed`, `expired` or `cancelled` is forgotten (its state deleted): what it
        did answer is used, the rest fails for this run and is submitted in a new batch by the next run.
        """
        deadline = time.monotonic() + self.settings.batch_max_wait_s
        while True:
            batch = await self.client.batches.retrieve(batch_id)
            if batch.status in TERMINAL:
                break
            if time.monotonic() > deadline:
                self.log.warning("batch %s still %s; the next run resumes it", batch_id, batch.status)
                return {}
            await asyncio.sleep(self.settings.batch_poll_s)
        got: dict[str, Completion | str] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                got.update(parse_output((await self.client.files.content(file_id)).content))
        missing = f"batch {batch_id} ended {batch.status} without an answer"
        if batch.status != "completed":
            errors = [e.message for e in (batch.errors.data or []) if e.message] if batch.errors else []
            missing += f": {self.redact(errors[0])[:300]}" if errors else ""
            await asyncio.to_thread(self.lake.delete, state_key)
            self.log.warning(
                "batch %s ended %s; the next run submits its unanswered requests anew", batch_id, batch.status
            )
        return {fp: got.get(fp, missing) for fp in ids}
