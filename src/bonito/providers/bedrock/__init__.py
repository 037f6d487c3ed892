"""AWS Bedrock: Converse / ConverseStream for chat, InvokeModel for Titan and Cohere embeddings.

Modules: `converse` (OpenAI request -> Converse), `converse_response` and
`converse_stream` (Converse -> OpenAI), `embed` (Titan / Cohere bodies),
`eventstream` (binary framing, CRC-checked), `errors`, `catalog`
(ListFoundationModels, STS), `signing` (SigV4 via botocore), `provider`.

Behaviour worth knowing:
- `tool_choice: "none"` drops the tools from the request; once the
  conversation already holds tool calls Converse cannot express it, so 400.
- `response_format` json_object / json_schema is served by a forced tool
  (`json_response`) whose input schema is the requested schema; the tool
  input comes back as the message content. Needs a model that supports a
  forced `toolChoice` (Claude, Nova, Mistral Large…); it cannot be combined
  with `tools`.
- Refused with a 400 naming the parameter: `seed`, `n > 1`, `logprobs`,
  `logit_bias`, non-zero penalties, `parallel_tool_calls: false`, audio,
  files, image URLs that are not data URLs, more than one prompt in
  /v1/completions, token-array embedding input.
- System/developer messages anywhere in the conversation are joined into
  Converse's top-level `system`. Reasoning text (Claude thinking, enabled
  with `additionalModelRequestFields`) is returned as `reasoning_content`;
  its signature is not, so thinking + multi-turn tool use is not supported.
- With `endpoint_url`, the runtime, ListFoundationModels and STS calls all go
  to that base (`/model/...`, `/foundation-models`, `/sts`).
"""

from bonito.providers.bedrock.provider import BedrockProvider

__all__ = ["BedrockProvider"]
