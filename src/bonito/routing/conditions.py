"""Conditional routing: does a rule's condition hold for a request?

A condition tests one field (`field`, `op`, `value`) or combines others with
`all` (AND) / `any` (OR). Fields are paths into the request body
(`max_tokens`, `response_format.type`, `user`), `metadata.<key>` (the body's
`metadata` object over the `x-bonito-metadata` header), or derived values:
`prompt_tokens` (estimated) and `message_count`. A missing field matches only
`ne`, `not_in` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bonito.config.schema import RouteRule, RuleCondition
from bonito.routing.request import RouteRequest

_MISSING = object()


def first_match(rules: tuple[RouteRule, ...], req: RouteRequest) -> tuple[int, RouteRule] | None:
    """The first rule whose condition holds, with its index; None when none does."""
    for i, rule in enumerate(rules):
        if holds(rule.when, req):
            return i, rule
    return None


def holds(cond: RuleCondition, req: RouteRequest) -> bool:
    if cond.all is not None:
        return all(holds(c, req) for c in cond.all)
    if cond.any is not None:
        return any(holds(c, req) for c in cond.any)
    assert cond.field is not None
    return _test(cond.op, field_value(cond.field, req), cond.value)


def field_value(path: str, req: RouteRequest) -> Any:
    """The value a condition's `field` names, or _MISSING."""
    if path == "prompt_tokens":
        return req.prompt_tokens
    if path == "message_count":
        messages = req.body.get("messages")
        return len(messages) if isinstance(messages, list) else 0
    head, _, rest = path.partition(".")
    value: Any = req.metadata if head == "metadata" else req.body.get(head, _MISSING)
    if head == "metadata" and not rest:
        return value
    for part in rest.split(".") if rest else ():
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        return (actual is not _MISSING and actual is not None) == (expected is not False)
    if actual is _MISSING:
        return op in ("ne", "not_in")
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        if isinstance(actual, str):
            return str(expected) in actual
        return isinstance(actual, list | dict) and expected in actual
    if op == "matches":
        return isinstance(actual, str) and re.search(str(expected), actual) is not None
    a, e = _number(actual), _number(expected)
    if a is None or e is None:
        return False
    return {"gt": a > e, "gte": a >= e, "lt": a < e, "lte": a <= e}.get(op, False)


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)
