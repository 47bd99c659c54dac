"""The spend cap: reserve a request's worst-case cost before sending, settle to the actual cost after.

Reservations are upper bounds (prompt estimate + 20% and the full max_tokens), so actual spend never
passes the cap. The first refused reservation closes the budget for the rest of the run: the stage stops
cleanly instead of squeezing in whichever small request still fits.
"""

from __future__ import annotations


class Budget:
    def __init__(self, limit_usd: float | None) -> None:
        self.limit = limit_usd
        self.spent = 0.0
        self.reserved: dict[str, float] = {}
        self.exhausted = False

    def reserve(self, key: str, amount: float) -> bool:
        """Idempotent per key (a batched request is reserved once, when it is first collected)."""
        if key in self.reserved:
            return True
        if self.exhausted:
            return False
        if self.limit is not None and self.spent + sum(self.reserved.values()) + amount > self.limit:
            self.exhausted = True
            return False
        self.reserved[key] = amount
        return True

    def settle(self, key: str, actual: float) -> None:
        self.reserved.pop(key, None)
        self.spent += actual
