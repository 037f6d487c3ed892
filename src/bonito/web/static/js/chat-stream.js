// One streamed chat completion through /v1, read as it arrives (SSE), timed from the browser.

import { errorFrom } from "./api.js";

/**
 * POST /v1/chat/completions with stream: true. `onText(piece)` is called for each content delta as it
 * arrives. Resolves {text, usage, modelUsed, attempts, requestId, ttftMs, latencyMs}; throws ApiError
 * (with .status) for a non-2xx answer.
 */
export async function streamChat(key, body, { onText, signal } = {}) {
  const started = performance.now();
  const resp = await fetch("/v1/chat/completions", {
    method: "POST",
    signal,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!resp.ok) throw await errorFrom(resp);
  const result = {
    text: "", usage: null, ttftMs: null, latencyMs: null,
    modelUsed: resp.headers.get("x-bonito-model-used") || body.model,
    attempts: resp.headers.get("x-bonito-attempts"),
    requestId: resp.headers.get("x-request-id"),
  };
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      handle(event, result, started, onText);
    }
  }
  if (buffer.trim()) handle(buffer, result, started, onText);
  result.latencyMs = performance.now() - started;
  return result;
}

function handle(event, result, started, onText) {
  const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
  if (!data || data === "[DONE]") return;
  let chunk;
  try { chunk = JSON.parse(data); } catch { return; }
  if (chunk.error) throw Object.assign(new Error(chunk.error.message || "The stream failed"), { status: 502 });
  if (chunk.usage) result.usage = chunk.usage;
  for (const choice of chunk.choices || []) {
    const piece = choice.delta && choice.delta.content;
    if (!piece) continue;
    if (result.ttftMs === null) result.ttftMs = performance.now() - started;
    result.text += piece;
    if (onText) onText(piece);
  }
}
