"""Control-plane answers: ListFoundationModels and STS GetCallerIdentity (pure parsing)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Literal

import orjson

from bonito.providers.base import ModelInfo

STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
STS_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


def models_from_listing(body: Any) -> list[ModelInfo]:
    """`GET /foundation-models` -> ModelInfo per model (kind from its output modalities)."""
    out: list[ModelInfo] = []
    summaries = body.get("modelSummaries") if isinstance(body, dict) else None
    for m in summaries or []:
        outputs = m.get("outputModalities") or []
        kind: Literal["chat", "embeddings", "other"] = (
            "embeddings" if "EMBEDDING" in outputs else "chat" if "TEXT" in outputs else "other")
        out.append(ModelInfo(
            id=str(m.get("modelId", "")), name=str(m.get("modelName") or m.get("modelId", "")), kind=kind,
            extra={"provider": m.get("providerName"), "streaming": m.get("responseStreamingSupported"),
                   "inference_types": m.get("inferenceTypesSupported") or [],
                   "lifecycle": (m.get("modelLifecycle") or {}).get("status")},
        ))
    return out


def _text(root: ET.Element, tag: str) -> str:
    # STS answers in a namespace that has changed over the years; match on the local name.
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == tag and el.text:
            return el.text.strip()
    return ""


def parse_caller_identity(body: bytes) -> dict[str, str]:
    """GetCallerIdentity's XML (or JSON) answer -> {"Arn", "Account", "UserId"}."""
    if body.lstrip().startswith(b"{"):
        parsed = orjson.loads(body)
        result = (parsed.get("GetCallerIdentityResponse") or {}).get("GetCallerIdentityResult") or parsed
        return {k: str(result.get(k, "")) for k in ("Arn", "Account", "UserId")}
    root = ET.fromstring(body)
    return {k: _text(root, k) for k in ("Arn", "Account", "UserId")}


def parse_sts_error(body: bytes) -> tuple[str, str]:
    """An STS `ErrorResponse` -> (code, message); ("", "") when it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "", body[:200].decode("utf-8", "replace")
    return _text(root, "Code"), _text(root, "Message")


_STS_MESSAGES = {
    "ExpiredToken": "the AWS credentials have expired (refresh the session token or the profile's credentials)",
    "ExpiredTokenException": "the AWS credentials have expired (refresh the session token or the profile's "
                             "credentials)",
    "InvalidClientTokenId": "AWS does not recognise the access key id (wrong, deleted or from another partition)",
    "UnrecognizedClientException": "AWS does not recognise the access key id (wrong, deleted or from another "
                                   "partition)",
    "SignatureDoesNotMatch": "the secret access key does not match the access key id",
    "InvalidSignatureException": "the secret access key does not match the access key id",
    "AccessDenied": "the credentials are valid but lack permission for this check",
}


def credential_problem(code: str, message: str) -> str:
    """A sentence for a user fixing their AWS credentials."""
    plain = _STS_MESSAGES.get(code)
    if plain:
        return f"{plain} ({code}: {message})" if message else f"{plain} ({code})"
    return f"AWS refused the credentials ({code or 'unknown error'}): {message}"
