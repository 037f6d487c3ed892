"""Every router the control plane serves, by import path ("module:attribute").

Adding an area is one line here (e.g. limits and budgets add theirs).
"""

from __future__ import annotations

ROUTERS: list[str] = [
    "bonito.control.api.auth:router",
    "bonito.control.api.org:router",
    "bonito.control.api.providers:router",
    "bonito.control.api.models:router",
    "bonito.control.api.keys:router",
    "bonito.control.api.gateway_config:router",
    "bonito.control.api.usage:router",
    "bonito.control.api.routing:router",
    "bonito.control.api.audit:router",
    "bonito.control.api.admin:router",
    "bonito.control.governance.api:router",
    "bonito.control.api.costs:router",
    "bonito.control.api.agent:router",
    "bonito.control.playground.api:router",
    "bonito.control.onboarding.api:router",
    "bonito.control.analytics.api:router",
    "bonito.control.provider_status.api:router",
]
