"""The offline backend: answers the same request objects with deterministic templates, at zero cost.

`RS_ASSETS_LLM=local` runs every strategy through the real pipeline (fingerprints, response store,
validation), so the demo shows GAIA and MpGI offline and the tests exercise the code that spends money.
"""

from __future__ import annotations

from collections.abc import Callable

from rs_assets.lib.llm.cost import text_tokens
from rs_assets.lib.llm.request import Completion, LLMRequest
from rs_assets.lib.llm.settings import LOCAL_MODEL

Answerer = Callable[[LLMRequest], str]


class OfflineBackend:
    batch = False
    paced = False

    def __init__(self, answer: Answerer, model: str = LOCAL_MODEL) -> None:
        self.answer = answer
        self.model = model

    async def complete(self, request: LLMRequest) -> Completion:
        content = self.answer(request)
        return Completion(
            content=content,
            refusal=None,
            finish_reason="stop",
            model=self.model,
            prompt_tokens=request.prompt_tokens_estimate(),
            completion_tokens=text_tokens(content),
        )

    async def aclose(self) -> None:
        return None
