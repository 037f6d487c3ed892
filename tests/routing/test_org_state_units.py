"""The Router keeps each org's state apart: A/B draws, in-flight counts, latency and breakers of two orgs'
routes and models with the same names never mix (the server-level tests are in test_org_isolation.py)."""

from __future__ import annotations

import random
from decimal import Decimal

from bonito.config.schema import OpenAIProviderConfig, RouteConfig
from bonito.providers.registry import build_provider
from bonito.routing.dry_run import dry_run
from bonito.routing.router import Router
from bonito.snapshot import Catalog, ModelEntry, RouteEntry, Snapshot, compile_route
from bonito.usage.pricing import Price

BODY = {"model": "r", "messages": [{"role": "user", "content": "hi"}]}


def org_route(org: str, strategy: str, **extra: object) -> tuple[RouteEntry, Catalog]:
    provider = build_provider("p", OpenAIProviderConfig(type="openai", base_url="http://127.0.0.1:9/v1"))
    models = {n: ModelEntry(n, "p", provider, n, Price(Decimal(1), Decimal(1)), org_id=org) for n in ("x", "y")}
    cfg = RouteConfig.model_validate({"strategy": strategy, "targets": [{"model": "x", "weight": 50},
                                                                        {"model": "y", "weight": 50}], **extra})
    route = compile_route("r", cfg, models, org_id=org)
    return route, Catalog(models, {"r": route})


def test_one_orgs_requests_never_take_the_other_orgs_next_ab_draw() -> None:
    router = Router(rng=random.Random(7))
    a, cat_a = org_route("org-a", "ab_test")
    b, cat_b = org_route("org-b", "ab_test")
    for _ in range(20):
        promised = router.plan_route(a, BODY, cat_a, commit=False).targets[0].name  # a's next draw
        router.plan_route(b, BODY, cat_b)  # b's traffic in between
        assert router.plan_route(a, BODY, cat_a).targets[0].name == promised


def test_in_flight_calls_and_latency_count_for_their_own_org_only() -> None:
    router = Router()
    a, cat_a = org_route("org-a", "least_busy")
    b, cat_b = org_route("org-b", "least_busy")
    router.hooks.started(a.targets[0])  # a's x is busy
    assert router.plan_route(a, BODY, cat_a).targets[0].name == "y"
    assert router.plan_route(b, BODY, cat_b).targets[0].name == "x"
    router.hooks.released(a.targets[0], 900.0)  # and slow
    assert router.observations.recent_latency(a.targets[0]) == 900.0
    assert router.observations.recent_latency(b.targets[0]) is None


async def test_a_breaker_opened_in_one_org_is_closed_in_the_other() -> None:
    router = Router()
    a, cat_a = org_route("org-a", "failover", circuit_breaker={"failure_threshold": 1})
    b, cat_b = org_route("org-b", "failover", circuit_breaker={"failure_threshold": 1})
    plan = router.plan_route(a, BODY, cat_a)
    assert await router.hooks.admit(plan, a.targets[0]) == "closed"
    assert not router.hooks.finished(plan, a.targets[0], "closed", "failure", 10.0, stream=False)
    assert await router.hooks.admit(plan, a.targets[0]) is None  # open: skipped
    plan_b = router.plan_route(b, BODY, cat_b)
    assert await router.hooks.admit(plan_b, b.targets[0]) == "closed"
    snap_targets = dry_run(router, _snap(cat_a, cat_b), b)["targets"]
    assert [t["breaker"] for t in snap_targets] == ["closed", "closed"]


def _snap(*cats: Catalog) -> Snapshot:
    return Snapshot(version=1, keys={}, models={}, routes={}, providers={},
                    by_org={c.routes["r"].org_id: c for c in cats})
