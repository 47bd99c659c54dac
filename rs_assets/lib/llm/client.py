"""The OpenAI-compatible backend (OpenAI, vLLM, Ollama, LM Studio): AsyncOpenAI with the SDK's own retries
off (max_retries=0), so backoff, Retry-After and rate-limit headers are handled by the Runner, testably.

`OPENAI_API_KEY` / `OPENAI_BASE_URL` are read by the SDK itself; the key never enters our objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import openai
import pydantic

from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.request import Completion, ImageRef, LLMRequest, PermanentError, TransientError
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.retry_after import retry_after_headers

RETRYABLE_STATUS = (408, 409, 429)


def completion_from_body(body: Mapping[str, Any]) -> Completion:
    """A chat.completion JSON body (live answer or Batch API output line) as a Completion."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = body.get("usage") or {}
    return Completion(
        content=message.get("content"),
        refusal=message.get("refusal"),
        finish_reason=choice.get("finish_reason"),
        model=body.get("model") or "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        cached_tokens=int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def rate_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}


async def image_url(lake: Lake, image: ImageRef) -> str:
    """Base64 data URL of lake bytes, built only when a request is really sent (never for cache hits)."""
    try:
        content = await asyncio.to_thread(lake.read_bytes, image.key)
    except (OSError, KeyError) as exc:
        raise PermanentError(f"image {image.key} unreadable: {type(exc).__name__}") from exc
    return image.data_url(content)


def client_from_env(settings: LLMSettings) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(max_retries=0, timeout=settings.timeout_s)


class OpenAIBackend:
    batch = False
    paced = True

    def __init__(self, client: openai.AsyncOpenAI, lake: Lake, redact: Callable[[str], str]) -> None:
        self.client = client
        self.lake = lake
        self.redact = redact

    async def aclose(self) -> None:
        await self.client.close()

    async def complete(self, request: LLMRequest) -> Completion:
        url = await image_url(self.lake, request.image) if request.image else None
        try:
            raw = await self.client.chat.completions.with_raw_response.create(**request.body(url))
        except openai.APITimeoutError as exc:
            raise TransientError("timeout") from exc
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection error: {self.redact(str(exc))}") from exc
        except openai.APIStatusError as exc:
            message = self.redact(f"HTTP {exc.status_code}: {exc.message}")[:500]
            if exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500:
                raise TransientError(message, retry_after_headers(exc.response.headers)) from exc
            raise PermanentError(message) from exc
        except openai.APIResponseValidationError as exc:
            raise PermanentError(f"unreadable response: {self.redact(exc.message)[:300]}") from exc
        completion = completion_from_body(self._body(raw))
        completion.headers = rate_headers(raw.headers)
        return completion

    def _body(self, raw: Any) -> dict[str, Any]:
        """The JSON of a 2xx answer. A proxy's HTML page or a broken body is a PermanentError (the row
        fails, the next run retries it): for a non-JSON 200 the SDK hands back the text, not a model."""
        where = f"unreadable response (Content-Type {raw.headers.get('content-type')})"
        try:
            parsed = raw.parse()
        except ValueError as exc:  # json.JSONDecodeError under a JSON content type
            raise PermanentError(self.redact(f"{where}: not JSON ({exc})")[:300]) from exc
        if not isinstance(parsed, pydantic.BaseModel):
            head = self.redact(str(parsed))[:120]  # redact before cutting: half a key is still a leak
            raise PermanentError(f"{where}: a {type(parsed).__name__}, not a chat completion: {head!r}")
        return parsed.model_dump()
