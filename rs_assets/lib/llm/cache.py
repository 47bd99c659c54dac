"""The response store: `llm_cache/<fp[:2]>/<fp>.json` in the lake, so exactly-once works on a folder or S3.

Only validated answers are stored; a stored answer is never requested again (rerun = 0 calls) and each
is written as it arrives (a crash resumes at the row). A file that cannot be read back (truncated by a
full disk, edited by hand) is a miss with a warning naming it, and the next answer overwrites it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.request import Completion, LLMRequest

log = logging.getLogger(__name__)


class ResponseStore:
    def __init__(self, lake: Lake, prefix: str = "llm_cache") -> None:
        self.lake = lake
        self.prefix = prefix.strip("/")

    def key(self, fingerprint: str) -> str:
        return f"{self.prefix}/{fingerprint[:2]}/{fingerprint}.json"

    def _get(self, fingerprint: str) -> Completion | None:
        key = self.key(fingerprint)
        if not self.lake.has(key):
            return None
        try:
            return Completion.from_json(json.loads(self.lake.read_bytes(key))["completion"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # truncated or foreign content
            log.warning(
                "unreadable LLM cache file %s (%s: %s): a miss, rewritten by the next answer",
                self.lake.uri(key),
                type(exc).__name__,
                exc,
            )
            return None

    def _put(self, request: LLMRequest, completion: Completion) -> None:
        record = {
            "fingerprint": request.fingerprint,
            "prompt_id": request.prompt_id,
            "model": request.model,
            "stored_at": datetime.now(UTC).isoformat(),
            "completion": completion.to_json(),
        }
        self.lake.write_bytes(self.key(request.fingerprint), json.dumps(record, sort_keys=True).encode())

    async def get(self, fingerprint: str) -> Completion | None:
        return await asyncio.to_thread(self._get, fingerprint)

    async def put(self, request: LLMRequest, completion: Completion) -> None:
        await asyncio.to_thread(self._put, request, completion)
