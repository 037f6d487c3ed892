"""What a model costs: USD per million tokens, exactly (Decimal). The prices themselves come from
`bonito.usage.pricing`'s catalog or a model's own override."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None  # None: the input rate
    cache_write_per_mtok: Decimal | None = None  # None: the input rate

    @property
    def cached_rate(self) -> Decimal:
        return self.input_per_mtok if self.cached_input_per_mtok is None else self.cached_input_per_mtok

    @property
    def write_rate(self) -> Decimal:
        return self.input_per_mtok if self.cache_write_per_mtok is None else self.cache_write_per_mtok

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0,
             cache_write_tokens: int = 0) -> Decimal:
        """(prompt − cached − cache_write) × input + cached × cached_input + cache_write × cache_write
        + completion × output, per million, exactly. `prompt_tokens` counts every input token."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        write = min(max(cache_write_tokens, 0), prompt_tokens - cached)
        fresh = prompt_tokens - cached - write
        return (fresh * self.input_per_mtok + cached * self.cached_rate + write * self.write_rate
                + completion_tokens * self.output_per_mtok) / _MILLION
