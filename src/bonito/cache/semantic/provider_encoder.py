"""`embedding_model: <public model>`: prompts embedded by one of the org's own embedding models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bonito.providers.base import Call

if TYPE_CHECKING:
    from bonito.cache.semantic.index import Embedded
    from bonito.snapshot import ModelEntry

EMBED_TIMEOUT_S = 10.0


class ProviderEncoder:
    """Embeds through a model's provider; the vector is normalised so a dot product is the cosine."""

    def __init__(self, model: ModelEntry) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return self.model.name

    async def embed(self, text: str) -> Embedded:
        import numpy as np

        from bonito.cache.semantic.index import Embedded

        upstream = self.model.upstream_model
        answer = await self.model.provider.embed(Call("embeddings", {"model": upstream, "input": text}, upstream,
                                                      timeout_s=EMBED_TIMEOUT_S))
        vector = np.asarray(answer["data"][0]["embedding"], dtype=np.float32)
        return Embedded(vector / max(float(np.linalg.norm(vector)), 1e-12))
