"""Google Vertex AI (Gemini) provider: `VertexProvider`.

Modules: `gemini` (pure OpenAI <-> generateContent translation), `streaming`
(SSE events -> chunks), `embed` (embeddings translation), `errors` (google.rpc
errors -> UpstreamError), `auth` (service-account tokens), `provider` (transport).
"""

from bonito.providers.vertex.provider import VertexProvider

__all__ = ["VertexProvider"]
