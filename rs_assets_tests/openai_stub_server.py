"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests and the bench (a double of an external API).

Implements POST /v1/chat/completions (plain and `json_schema` answers built deterministically from the
request; the instruction prompt is answered with its fenced reference conversation, as a faithful model
would), POST /v1/files (multipart), POST/GET /v1/batches, GET /v1/files/{id}/content. A scriptable
fault queue injects 429 + Retry-After, 5xx, slow answers, refusals, malformed JSON, `length`
truncation, echoes of the caller's API key and raw 200 bodies (a proxy's HTML page), and batches
can end `failed`, `expired` (half answered) or `cancelled`; every request is recorded (with its arrival
time) so tests can count calls, measure pacing and look for leaked secrets. With `rpm`/`tpm` set it
advertises them as OpenAI does (`x-ratelimit-limit/remaining/reset-*`) and answers 429 beyond them over
the trailing minute; unset, it sends no rate-limit headers at all, like vLLM or Ollama.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How providers and proxies echo a key back: whole, case-changed, truncated, or masked but the last 4.
ECHOES: dict[str, Callable[[str], str]] = {
    "whole": lambda k: k,
    "upper": str.upper,
    "swapcase": str.swapcase,
    "first 10": lambda k: k[:10],
    "last 12": lambda k: k[-12:],
    "middle 9": lambda k: k[8:17],
    "sk-...last4": lambda k: f"{k[:3]}...{k[-4:]}",
    "stars": lambda k: f"{k[:8]}{'*' * 20}{k[-4:]}",
    "ellipsis": lambda k: f"{k[:3]}\u2026{k[-4:].upper()}",
}


def key_leaks(text: str, key: str) -> list[str]:
    """Echo forms of `key` found in `text` (any case), plus any run of 8 of its characters."""
    low = text.lower()
    found = [name for name, echo in ECHOES.items() if echo(key).lower() in low]
    runs = {key.lower()[i : i + 8] for i in range(len(key) - 7)}
    return found + sorted(r for r in runs if r in low)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # arrival, after the body was read


@dataclass
class Fault:
    """What to do to the next chat completion instead of (or before) answering it."""

    status: int | None = None  # answer this HTTP status (429, 500...)
    retry_after: float | None = None  # seconds, sent as Retry-After
    headers: dict[str, str] = field(default_factory=dict)  # extra raw headers (e.g. a bad Retry-After)
    sleep: float = 0.0  # delay before answering (a timeout when above the client's)
    refusal: str | None = None
    malformed: bool = False  # structured answer that is not JSON
    finish_reason: str | None = None  # e.g. "length" or "content_filter"
    # Echo the caller's API key (as the function renders it: whole, truncated, masked...) in the error
    # message, the refusal, or else in every text of the answer, as careless providers and proxies do.
    echo: Callable[[str], str] | None = None
    body: bytes | None = None  # answer 200 with these raw bytes (a proxy's HTML page, broken JSON)
    content: str | None = None  # answer with this message content (a scripted model answer)
    content_type: str = "application/json"  # of `body`


def _text_of(messages: list[dict[str, Any]]) -> tuple[str, int]:
    text, images = [], 0
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        for part in parts:
            if part.get("type") == "image_url":
                images += 1
            else:
                text.append(part.get("text") or "")
    return "\n".join(text), images


def from_schema(schema: dict[str, Any], seed: str, name: str = "", index: int = 0) -> Any:
    """A value valid under `schema` (objects, arrays with min/maxItems, enums, `^prefix` patterns)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {k: from_schema(v, seed, k) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        count = schema.get("minItems", 1)
        return [from_schema(schema["items"], seed, name, i) for i in range(count)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return 1
    prefix = re.sub(r"\\(.)", r"\1", schema.get("pattern", "^")[1:])
    return f"{prefix} stub {name} {index} for request {seed}.".strip()


REFERENCE = re.compile(
    r"\u27eauntrusted reference (\w+)\u27eb\n(.*?)\n\u27ea/untrusted reference \1\u27eb", re.S
)


def instruction_answer(text: str) -> str:
    """The instruction prompt's answer: its reference turns (markers kept), no counts or absences."""
    found = REFERENCE.search(text)
    turns = json.loads(found.group(2)) if found else []
    return json.dumps({"turns": turns, "counts": [], "absent": []})


def answer(body: dict[str, Any], echo: str = "") -> dict[str, Any]:
    """The deterministic chat.completion for a request body (also used for batch lines); `echo` is
    written into every text it contains."""
    text, images = _text_of(body.get("messages", []))
    seed = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:10] + echo
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema" and fmt["json_schema"]["name"] == "instruction_conversation":
        content = instruction_answer(text)
    elif fmt.get("type") == "json_schema":
        content = json.dumps(from_schema(fmt["json_schema"]["schema"], seed))
    else:
        content = f"Stub description {seed}: {text.splitlines()[-1][:80] if text else ''}"
    return {
        "id": f"chatcmpl-{seed}",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": content, "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": len(text) // 4 + 85 * images,
            "completion_tokens": len(content) // 4,
            "total_tokens": len(text) // 4 + 85 * images + len(content) // 4,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


@dataclass
class StubState:
    latency: float = 0.0
    rpm: float | None = None  # advertised (and enforced) requests per minute; None: no headers
    tpm: float | None = None  # advertised tokens per minute (counted from the answers' usage)
    batch_polls: int = 0  # GETs a batch answers `in_progress` before it ends
    batch_end: str = "completed"  # or `failed` (no answers), `expired` (first half answered), `cancelled`
    faults: deque[Fault] = field(default_factory=deque)
    in_flight: int = 0  # chat completions being worked on (arrived, not yet answered)
    peak_in_flight: int = 0
    used: list[tuple[float, int]] = field(default_factory=list)  # (time, tokens) of answered chats
    requests: list[Recorded] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    server: StubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.state.lock:
            self.server.state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
        return body

    def do_GET(self) -> None:
        self._record()
        state = self.server.state
        if m := re.fullmatch(r"/v1/files/([\w-]+)/content", self.path):
            return self._send(200, state.files[m.group(1)])
        if (m := re.fullmatch(r"/v1/batches/([\w-]+)", self.path)) and m.group(1) in state.batches:
            with state.lock:
                state.polls[m.group(1)] = state.polls.get(m.group(1), 0) + 1
                batch = state.batches[m.group(1)]
                if batch["status"] == "in_progress" and state.polls[m.group(1)] > state.batch_polls:
                    _end_batch(batch, state.batch_end)
            return self._send(200, {k: v for k, v in batch.items() if not k.startswith("_")})
        self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/v1/chat/completions":
            return self._chat(json.loads(body))
        if self.path == "/v1/files":
            return self._upload(body)
        if self.path == "/v1/batches":
            return self._batch(json.loads(body))
        self._send(404, {"error": {"message": "not found"}})

    def _chat(self, body: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            fault = state.faults.popleft() if state.faults else Fault()
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        if fault.status is None and self._over_limit():
            fault = Fault(status=429, retry_after=1.0)
        time.sleep(state.latency + fault.sleep)
        with state.lock:  # before answering: the client cannot start its next call before this
            state.in_flight -= 1
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        echo = f" {fault.echo(key)}" if fault.echo else ""
        if fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            error = {"message": f"stub fault {fault.status}{echo}", "type": "stub"}
            return self._send(fault.status, {"error": error}, headers)
        if fault.body is not None:
            return self._send(200, fault.body, content_type=fault.content_type)
        result = answer(body, "" if fault.refusal else echo)
        message = result["choices"][0]["message"]
        if fault.refusal:
            message.update(content=None, refusal=fault.refusal + echo)
        if fault.content is not None:
            message["content"] = fault.content
        if fault.malformed:
            message["content"] = '{"captions": ["unterminated'
        if fault.finish_reason:
            result["choices"][0]["finish_reason"] = fault.finish_reason
        self._send(200, result, self._rate_headers(result["usage"]["total_tokens"]))

    def _rate_headers(self, tokens: int) -> dict[str, str]:
        """OpenAI's headers for the trailing minute (this answer's tokens included)."""
        state = self.server.state
        headers: dict[str, str] = {}
        with state.lock:
            state.used.append((time.monotonic(), tokens))
            recent = [(t, n) for t, n in state.used if t > time.monotonic() - 60]
        for kind, limit, used in (
            ("requests", state.rpm, len(recent)),
            ("tokens", state.tpm, sum(n for _, n in recent)),
        ):
            if limit is not None:
                headers[f"x-ratelimit-limit-{kind}"] = f"{limit:g}"
                headers[f"x-ratelimit-remaining-{kind}"] = f"{max(limit - used, 0):g}"
                headers[f"x-ratelimit-reset-{kind}"] = f"{max(used, 1) * 60 / limit:.3f}s"
        return headers

    def _over_limit(self) -> bool:
        state = self.server.state
        if state.rpm is None:
            return False
        with state.lock:
            sent = sum(1 for r in state.requests if r.path == self.path and r.at > time.monotonic() - 60)
        return sent > state.rpm

    def _upload(self, body: bytes) -> None:
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        parts = {
            p.get_param("name", header="content-disposition"): p
            for p in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts()
        }
        content = parts["file"].get_payload(decode=True)
        state = self.server.state
        with state.lock:
            file_id = f"file-{len(state.files) + 1}"
            state.files[file_id] = content
        self._send(
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": 0,
                "filename": parts["file"].get_filename() or "upload.jsonl",
                "purpose": parts["purpose"].get_payload(decode=True).decode(),
                "status": "processed",
            },
        )

    def _batch(self, body: dict[str, Any]) -> None:
        state = self.server.state
        lines = [json.loads(x) for x in state.files[body["input_file_id"]].decode().splitlines() if x.strip()]
        answers = [
            json.dumps(
                {
                    "id": f"req-{i}",
                    "custom_id": line["custom_id"],
                    "error": None,
                    "response": {"status_code": 200, "request_id": f"r{i}", "body": answer(line["body"])},
                }
            )
            for i, line in enumerate(lines)
        ]
        with state.lock:
            out_id, partial_id = f"file-{len(state.files) + 1}", f"file-{len(state.files) + 2}"
            batch_id = f"batch-{len(state.batches) + 1}"
            state.files[out_id] = "\n".join(answers).encode()
            state.files[partial_id] = "\n".join(answers[: len(answers) // 2]).encode()
            state.batches[batch_id] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body["endpoint"],
                "status": "in_progress",
                "input_file_id": body["input_file_id"],
                "completion_window": body["completion_window"],
                "created_at": 0,
                "output_file_id": None,
                "error_file_id": None,
                "_output": out_id,
                "_partial": partial_id,
                "request_counts": {"total": len(lines), "completed": len(lines), "failed": 0},
                "metadata": body.get("metadata"),
            }
        self._send(200, {k: v for k, v in state.batches[batch_id].items() if not k.startswith("_")})


def _end_batch(batch: dict[str, Any], status: str) -> None:
    """Move a batch to its terminal `status` with the files the real API leaves behind."""
    batch.update(status=status, completed_at=1 if status == "completed" else None)
    if status == "completed":
        batch["output_file_id"] = batch["_output"]
    elif status == "expired":  # requests finished within the window are answered, the rest are not
        batch.update(output_file_id=batch["_partial"], expired_at=1)
    elif status == "failed":
        error = {"code": "stub_failure", "message": "stub batch failed", "line": None, "param": None}
        batch.update(errors={"object": "list", "data": [error]}, failed_at=1)
    else:
        batch["cancelled_at"] = 1


STUB_KEY = "sk-test-SECRET-0123456789abcdef"  # the key the `stub` fixture configures


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen backlog: many clients connect at once

    def __init__(self, latency: float = 0.0, rpm: float | None = None, tpm: float | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = StubState(latency=latency, rpm=rpm, tpm=tpm)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> StubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def add_faults(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def calls(self, path: str = "/v1/chat/completions") -> list[Recorded]:
        with self.state.lock:
            return [r for r in self.state.requests if r.path == path]
