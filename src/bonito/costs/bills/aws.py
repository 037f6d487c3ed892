"""AWS Cost Explorer (GetCostAndUsage through botocore): daily Bedrock spend per service and usage type.

Bedrock's own models bill under "Amazon Bedrock"; marketplace models (Claude, Llama, …) under services
named "… (Amazon Bedrock Edition)": every service whose name mentions Bedrock is kept. Pages are
followed with NextPageToken.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bonito.config.schema import BedrockProviderConfig
from bonito.costs.bills import BillImportError, BillLine

REFUSED = {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
           "ExpiredTokenException", "InvalidClientTokenId"}


def _client(cfg: BedrockProviderConfig, endpoint_url: str | None) -> Any:
    import botocore.session  # lazy: only bill imports need it here
    from botocore.config import Config

    session = botocore.session.get_session()
    if cfg.profile:
        session.set_config_variable("profile", cfg.profile)
    return session.create_client(
        "ce", region_name="us-east-1", endpoint_url=endpoint_url,
        aws_access_key_id=cfg.access_key_id, aws_secret_access_key=cfg.secret_access_key,
        aws_session_token=cfg.session_token,
        config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 2}))


def fetch_bedrock_costs(cfg: BedrockProviderConfig, start: date, end: date,
                        endpoint_url: str | None = None) -> list[BillLine]:
    """Daily unblended Bedrock cost in [start, end) (blocking: run it in a thread)."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(cfg, endpoint_url)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]}
    lines: list[BillLine] = []
    try:
        while True:
            page = client.get_cost_and_usage(**request)
            for period in page.get("ResultsByTime", []):
                day = date.fromisoformat(period["TimePeriod"]["Start"])
                for group in period.get("Groups", []):
                    service, usage_type = (group.get("Keys") or ["", ""])[:2]
                    if "bedrock" not in service.lower():
                        continue
                    metric = group["Metrics"]["UnblendedCost"]
                    lines.append(BillLine(day, service, usage_type, Decimal(metric["Amount"]), metric["Unit"]))
            token = page.get("NextPageToken")
            if not token:
                return lines
            request["NextPageToken"] = token
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in REFUSED:
            raise BillImportError(403, f"AWS refused the credentials for Cost Explorer ({code})") from None
        raise BillImportError(502, f"AWS Cost Explorer failed: {code or 'error'}") from None
    except BotoCoreError as exc:
        if type(exc).__name__ == "NoCredentialsError":
            raise BillImportError(403, "no AWS credentials for Cost Explorer") from None
        raise BillImportError(502, f"AWS Cost Explorer unreachable: {type(exc).__name__}") from None
    finally:
        client.close()
