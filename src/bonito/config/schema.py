"""The `bonito.yaml` version 1 schema (see CONTRACT.md for the reference)."""

from __future__ import annotations

import itertools
import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenAIProviderConfig(_Strict):
    type: Literal["openai"]
    base_url: str = "https://api.openai.com/v1"
    api_key: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=600.0, gt=0)


class AzureProviderConfig(_Strict):
    type: Literal["azure"]
    endpoint: str
    api_key: str | None = None
    api_version: str = "2024-10-21"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    authority_host: str | None = None  # Entra ID authority override (tests, sovereign clouds)
    use_v1_api: bool = False  # /openai/v1/... paths (model in body, no api-version)
    timeout_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _auth(self) -> AzureProviderConfig:
        entra = (self.tenant_id, self.client_id, self.client_secret)
        if not self.api_key and not all(entra):
            raise ValueError("set api_key, or all of tenant_id, client_id and client_secret")
        return self


class BedrockProviderConfig(_Strict):
    type: Literal["bedrock"]
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _key_pair(self) -> BedrockProviderConfig:
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise ValueError("set both access_key_id and secret_access_key, or neither (standard AWS chain)")
        return self


class VertexProviderConfig(_Strict):
    type: Literal["vertex"]
    project: str
    location: str = "us-central1"
    service_account_file: str | None = None
    service_account_json: str | None = None
    endpoint_url: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)


class AnthropicProviderConfig(_Strict):
    type: Literal["anthropic"]
    api_key: str | None = None
    base_url: str = "https://api.anthropic.com"
    anthropic_version: str = "2023-06-01"
    timeout_s: float = Field(default=600.0, gt=0)


ProviderConfig = Annotated[
    OpenAIProviderConfig
    | AzureProviderConfig
    | BedrockProviderConfig
    | VertexProviderConfig
    | AnthropicProviderConfig,
    Field(discriminator="type"),
]


class ModelConfig(_Strict):
    provider: str
    model: str
    input_cost_per_mtok: Decimal | None = Field(default=None, ge=0)
    output_cost_per_mtok: Decimal | None = Field(default=None, ge=0)
    cached_input_cost_per_mtok: Decimal | None = Field(default=None, ge=0)  # cache reads; default: input price
    cache_write_cost_per_mtok: Decimal | None = Field(default=None, ge=0)  # cache writes; default: input price


TagName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
TagValues = Annotated[dict[TagName, Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=20)]


class ThrottleConfig(_Strict):
    """Slow a key down as its budget nears: past `at_percent` of the budget, `requests_per_minute` applies."""

    at_percent: float = Field(default=90, gt=0, le=100)
    requests_per_minute: int = Field(gt=0)


class BudgetConfig(_Strict):
    usd: Decimal = Field(gt=0)
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    hard: bool = True  # hard cap refuses (429 budget_exceeded); soft only alerts
    throttle: ThrottleConfig | None = None  # only where configured
    tag: TagValues | None = None  # counts (and refuses) only requests carrying these tag values

    @field_validator("tag")
    @classmethod
    def _some_tag(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None and not v:
            raise ValueError("name at least one tag and its value, e.g. {team: data}")
        return v


class KeyConfig(_Strict):
    name: str
    key: str | None = None
    key_sha256: str | None = None
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    allowed_models: list[str] | None = None
    budget: BudgetConfig | None = None
    org: str = "default"
    tags: TagValues | None = None  # default tags of this key's requests
    cache: bool = True  # false: this key's requests are never answered from, nor stored in, the cache

    @model_validator(mode="after")
    def _one_secret(self) -> KeyConfig:
        if bool(self.key) == bool(self.key_sha256):
            raise ValueError("set exactly one of key or key_sha256")
        return self

    @field_validator("key_sha256")
    @classmethod
    def _hex(cls, v: str | None) -> str | None:
        if v is not None:
            v = v.lower()
            if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
                raise ValueError("must be 64 hexadecimal characters (a SHA-256 digest)")
        return v


class RetryConfig(_Strict):
    max_attempts: int = Field(default=3, ge=1, le=5)


class BreakerConfig(_Strict):
    failure_threshold: int = Field(default=5, ge=1, le=1_000_000)
    cooldown_s: float = Field(default=30.0, gt=0, le=86_400)
    # Optional second rule: open when this share of the calls in the last window_s failed
    # (once at least min_requests calls are in it). None: consecutive failures only.
    error_rate: float | None = Field(default=None, gt=0, le=1)
    window_s: float = Field(default=60.0, gt=0, le=86_400)
    min_requests: int = Field(default=20, ge=1, le=1_000_000)


class RouteTarget(_Strict):
    model: str = Field(min_length=1, max_length=200)
    weight: float | None = Field(default=None, ge=0, le=1_000_000)


ConditionOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists", "matches"]


class RuleCondition(_Strict):
    """A test on one request field (`field`, `op`, `value`), or all / any of several (AND / OR)."""

    field: str | None = None  # a body path (`max_tokens`, `response_format.type`), `metadata.<key>`,
    # or a derived value: `prompt_tokens` (estimate), `message_count`
    op: ConditionOp = "eq"
    value: Any = None
    all: list[RuleCondition] | None = None
    any: list[RuleCondition] | None = None

    @field_validator("value")
    @classmethod
    def _storable(cls, v: Any) -> Any:
        _check_json_number(v)
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> RuleCondition:
        kinds = [k for k in ("field", "all", "any") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("set exactly one of field, all or any")
        if self.op == "matches":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ValueError(f"value is not a valid regular expression: {exc}") from None
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs a list value")
        return self


def _check_json_number(v: Any) -> None:
    """Numbers any JSON store keeps as given: finite, integers within 64 bits."""
    if isinstance(v, bool):
        return
    if isinstance(v, int) and not -(2**63) <= v < 2**63:
        raise ValueError("integer out of range (64-bit)")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError("number must be finite")
    if isinstance(v, list | tuple):
        for item in v:
            _check_json_number(item)
    elif isinstance(v, dict):
        for item in v.values():
            _check_json_number(item)


class RouteRule(_Strict):
    """When `when` holds, the request goes to another route, or to these targets of this route's strategy."""

    name: str | None = None
    when: RuleCondition
    route: str | None = None
    targets: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_action(self) -> RouteRule:
        if (self.route is None) == (self.targets is None):
            raise ValueError("set exactly one of route or targets")
        return self


class SmartConfig(_Strict):
    """How a `smart` route splits traffic by prompt score (docs/routing.md)."""

    threshold: float = Field(default=0.5, ge=0, le=1)  # score at or above it goes to the strong target
    # replaces `threshold` when set: the share of traffic the strongest tier may take, calibrated on the scores
    strong_share: float | None = Field(default=None, ge=0, le=1)
    # replaces `threshold` when set, for three or more price tiers: ascending cuts between the tiers
    thresholds: list[float] | None = Field(default=None, min_length=1)
    # "builtin", or the URL of your own classifier (POST {"prompt"} -> {"score"}); the built-in on failure
    scorer: str = Field(default="builtin", pattern=r"^(builtin|https?://\S+)$")
    scorer_timeout_s: float = Field(default=0.2, gt=0, le=10)

    @model_validator(mode="after")
    def _one_cut(self) -> SmartConfig:
        if self.strong_share is not None and self.thresholds is not None:
            raise ValueError("set strong_share or thresholds, not both")
        if self.thresholds is not None:
            if any(not 0 <= t <= 1 for t in self.thresholds):
                raise ValueError("thresholds must lie in [0, 1]")
            if any(a >= b for a, b in itertools.pairwise(self.thresholds)):
                raise ValueError("thresholds must be strictly ascending")
        if self.strong_share is not None and self.scorer != "builtin":
            raise ValueError("strong_share is calibrated on the built-in scorer; with your own scorer set threshold")
        return self


class RouteConfig(_Strict):
    key: str | None = None
    strategy: Literal[
        "failover", "cost_optimized", "latency_optimized", "balanced",
        "ab_test", "round_robin", "least_busy", "smart",
    ] = "failover"
    targets: list[RouteTarget] = Field(min_length=1, max_length=50)
    retries: RetryConfig = Field(default_factory=RetryConfig)
    timeout_s: float = Field(default=30.0, gt=0, le=86_400)
    circuit_breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    attempt_timeout_s: float | None = Field(default=None, gt=0, le=86_400)  # each call; timeout_s is the total
    rules: list[RouteRule] = Field(default_factory=list)  # conditional routing; the first match wins
    smart: SmartConfig = Field(default_factory=SmartConfig)
    cache: bool = True  # false: this route's requests bypass the cache

    @field_validator("targets")
    @classmethod
    def _weights(cls, targets: list[RouteTarget], info: ValidationInfo) -> list[RouteTarget]:
        # a field validator (strategy is declared before targets), so the error names `targets`
        if info.data.get("strategy") == "ab_test":
            weights = [t.weight for t in targets]
            if any(w is None for w in weights):
                raise ValueError("ab_test needs a weight on every target")
            if abs(sum(w for w in weights if w is not None) - 100) > 1e-9:
                raise ValueError("ab_test weights must sum to 100")
        return targets


class LimitsConfig(_Strict):
    on_redis_error: Literal["open", "closed"] = "open"
    max_body_mb: float = Field(default=10, gt=0)
    default_requests_per_minute: int = Field(default=60, gt=0)
    redis_pool_size: int = Field(default=20, gt=0)


TierName = Literal["free", "pro", "enterprise"]


class TierConfig(_Strict):
    """A tier's limits: each key's default and the org-wide cap for keys without their own value."""

    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)


class OrgConfig(_Strict):
    """An org's own limits (they win over its tier's) and budget."""

    tier: TierName | None = None
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    budget: BudgetConfig | None = None
    cache: bool = True  # false: the org turns the response cache off for itself


class ExactCacheConfig(_Strict):
    ttl_s: float = Field(default=600, gt=0)
    max_entries: int = Field(default=10_000, gt=0)  # per org


class SemanticCacheConfig(_Strict):
    ttl_s: float = Field(default=600, gt=0)
    threshold: float | None = Field(default=None, ge=0, le=1)  # None: the product's tuned value
    embedding_model: str | None = None  # a public model name; None: the built-in encoder
    max_entries: int = Field(default=2_000, gt=0)  # per org and model


class CacheConfig(_Strict):
    """`cache:` in bonito.yaml, or BONITO_CACHE (JSON) in full mode: off unless one kind is set."""

    exact: ExactCacheConfig | None = None
    semantic: SemanticCacheConfig | None = None

    @property
    def on(self) -> bool:
        return self.exact is not None or self.semantic is not None


class SmtpConfig(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str = Field(default="bonito@localhost", alias="from")
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_s: float = Field(default=10.0, gt=0)


class EmailAlertsConfig(_Strict):
    to: list[str] = Field(default_factory=list)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)


class WebhookConfig(_Strict):
    url: str
    secret: str = Field(min_length=8)


class RateRuleConfig(_Strict):
    """Alert when the error rate (percent of requests) or the p95 latency passes a threshold."""

    threshold: float = Field(gt=0)
    window_minutes: int = Field(default=5, gt=0, le=1440)
    min_requests: int = Field(default=20, gt=0)


class AlertsConfig(_Strict):
    budget_thresholds: list[float] = Field(default_factory=lambda: [50.0, 80.0, 100.0])
    error_rate: RateRuleConfig | None = None  # threshold in percent of requests
    latency: RateRuleConfig | None = None  # threshold in ms (p95)
    email: EmailAlertsConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    evaluate_every_s: float = Field(default=30.0, gt=0)

    @field_validator("budget_thresholds")
    @classmethod
    def _percents(cls, v: list[float]) -> list[float]:
        if any(t <= 0 or t > 1000 for t in v):
            raise ValueError("each threshold is a percent of the budget, above 0")
        return sorted(set(v))


class BonitoConfig(_Strict):
    version: Literal[1]
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    keys: list[KeyConfig] = Field(default_factory=list)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    redis_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    default_tier: TierName = "enterprise"
    tiers: dict[str, TierConfig] = Field(default_factory=dict)  # overrides of free, pro, enterprise
    orgs: dict[str, OrgConfig] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    tags: list[TagName] = Field(default_factory=list, max_length=20)  # metadata keys kept on usage records
    cache: CacheConfig | None = None


def reference_errors(cfg: BonitoConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-references the schema alone cannot check: (field path, message) per problem."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for name, m in cfg.models.items():
        if m.provider not in cfg.providers:
            errors.append((("models", name, "provider"), f"unknown provider '{m.provider}'"))
    for i, k in enumerate(cfg.keys):
        for j, mname in enumerate(k.allowed_models or []):
            if mname not in cfg.models and mname not in cfg.routes:
                errors.append((("keys", i, "allowed_models", j), f"unknown model '{mname}'"))
    for rname, r in cfg.routes.items():
        if rname in cfg.models:
            errors.append((("routes", rname), f"route name '{rname}' is also a model name"))
        for j, t in enumerate(r.targets):
            if t.model not in cfg.models:
                errors.append((("routes", rname, "targets", j, "model"), f"unknown model '{t.model}'"))
        for j, rule in enumerate(r.rules):
            if rule.route is not None and (rule.route not in cfg.routes or rule.route == rname):
                errors.append((("routes", rname, "rules", j, "route"), f"unknown route '{rule.route}'"))
            for n, target in enumerate(rule.targets or []):
                if target not in cfg.models:
                    errors.append((("routes", rname, "rules", j, "targets", n), f"unknown model '{target}'"))
    return errors
