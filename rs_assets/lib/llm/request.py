"""What is asked (LLMRequest), what came back (Completion), and how it ended (Outcome).

A request names its image by lake key (content-addressed), never by base64, so its fingerprint is cheap,
stable and identical whether the bytes are sent inline or through a batch file.
"""

from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from rs_assets.lib.llm.cost import MESSAGE_OVERHEAD_TOKENS, image_tokens, text_tokens
from rs_assets.lib.records import stable_hash

IMAGE_MIME = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
}

# Outcome.status and captions.status vocabulary. Never reuse a code for another meaning.
STATUSES: dict[str, str] = {
    "ok": "a valid answer (fresh or from the response store)",
    "failed": "transport or API error after the retries (HTTP status, timeout, connection)",
    "refused": "the model refused (message.refusal)",
    "truncated": "finish_reason `length`: the answer hit max_tokens",
    "filtered": "finish_reason `content_filter`",
    "invalid": "the answer did not parse or validate (JSON, schema, caption count, prefix)",
    "budget_exhausted": "not sent: its reserved cost would exceed RS_ASSETS_LLM_BUDGET_USD",
    "dry_run": "not sent: dry run, tokens and cost are estimates",
    "pending": "submitted to the Batch API, no result yet",
    "no_metadata": "meta captions only: no template family applies (no date, place, sensor, labels...)",
}


class TransientError(Exception):
    """Worth retrying (429, 5xx, timeout, connection); `retry_after` is the server's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help (4xx other than 408/409/429, unreadable image)."""


@dataclass(frozen=True)
class ImageRef:
    key: str  # lake key of the bytes sent; content-addressed, so it stands for the image hash
    width: int
    height: int
    detail: str

    @property
    def mime(self) -> str:
        return IMAGE_MIME.get(self.key.rsplit(".", 1)[-1].lower(), "image/jpeg")

    def data_url(self, content: bytes) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(content).decode('ascii')}"


@dataclass(frozen=True)
class LLMRequest:
    """One chat completion. Static system prompt first, the image last (prompt caching, DESIGN 10)."""

    model: str
    system: str
    user: str
    prompt_id: str
    image: ImageRef | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int = 512
    temperature: float = 0.0
    expected_completion_tokens: int = 256
    # Structured inputs already rendered into `user`; offline answerers read them. Not fingerprinted.
    context: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def fingerprint(self) -> str:
        return stable_hash(
            "chat",
            self.model,
            self.system,
            self.user,
            self.prompt_id,
            asdict(self.image) if self.image else None,
            self.response_format,
            self.max_tokens,
            self.temperature,
            length=32,
        )

    def body(self, image_url: str | None) -> dict[str, Any]:
        """The chat-completions body; `image_url` is the resolved data URL of `image`."""
        content: list[dict[str, Any]] = [{"type": "text", "text": self.user}]
        if self.image is not None:
            image = {"url": image_url, "detail": self.image.detail}
            content.append({"type": "image_url", "image_url": image})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": self.system}, {"role": "user", "content": content}],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.response_format is not None:
            body["response_format"] = self.response_format
        return body

    def prompt_tokens_estimate(self) -> int:
        text = text_tokens(self.system) + text_tokens(self.user) + 2 * MESSAGE_OVERHEAD_TOKENS + 3
        if self.response_format is not None:
            text += text_tokens(str(self.response_format))
        if self.image is None:
            return text
        return text + image_tokens(self.image.width, self.image.height, self.image.detail, self.model)

    def admission_tokens(self) -> int:
        """What the provider counts against TPM before answering: prompt plus max_tokens, with 20% slack."""
        return math.ceil(self.prompt_tokens_estimate() * 1.2) + self.max_tokens


@dataclass
class Completion:
    """A provider answer as stored in the response store (no secrets, no image bytes)."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    model: str
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # rate-limit headers, not stored

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("headers")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "headers"})


@dataclass
class Outcome:
    """How one request ended; `value` is the parsed answer when `status == "ok"` (or a dry-run stand-in)."""

    request: LLMRequest
    status: str
    value: Any = None
    completion: Completion | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        """A value later stages can build on (real, or an estimate stand-in during a dry run)."""
        return self.status in ("ok", "dry_run")
