"""The agent's own Prometheus families, beside those `bonito serve` has (the same `Telemetry`):
how much usage waits for the control plane, since when nothing has, the config served, and the
heartbeats. Read from the agent's state at each scrape, so nothing on the request path pays."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bonito.agent.heartbeat import Heartbeat
from bonito.agent.reporter import AgentReporter


@dataclass
class ConfigState:
    """The config served: its version and when it was taken into service (monotonic seconds)."""

    version: Callable[[], str | None]
    applied_at: Callable[[], float | None]


class AgentCollector(Collector):
    def __init__(self, reporter: AgentReporter, heartbeat: Heartbeat, config: ConfigState) -> None:
        self._reporter = reporter
        self._heartbeat = heartbeat
        self._config = config
        self._started = time.time()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        r, hb, now = self._reporter, self._heartbeat, time.time()
        yield _gauge("bonito_agent_spool_records", "Usage records not yet stored by the control plane "
                     "(in memory and in the spool on disk)", r.depth)
        yield _gauge("bonito_agent_spool_bytes", "Bytes of usage records in the spool on disk", r.spool.size)
        yield _gauge("bonito_agent_spool_full", "1 while the spool is full and new usage records are dropped",
                     1 if r.spool.full else 0)
        yield CounterMetricFamily("bonito_agent_usage_delivered_records", "Usage records the control plane "
                                  "has stored since the agent started", value=r.delivered)
        yield _gauge("bonito_agent_last_push_age_seconds", "Seconds since every usage record was last "
                     "delivered (since start while none has been)", now - (r.drained_at or self._started))
        version, applied = self._config.version(), self._config.applied_at()
        info = GaugeMetricFamily("bonito_agent_config_info", "1, labelled with the version of the config "
                                 "served", labels=["version"])
        if version is not None:
            info.add_metric([version], 1)
        yield info
        yield _gauge("bonito_agent_config_age_seconds", "Seconds since the config served was taken into "
                     "service (pulled, or loaded from the state dir at start)",
                     time.monotonic() - applied if applied is not None else float("nan"))
        yield CounterMetricFamily("bonito_agent_heartbeat_failures", "Heartbeats the control plane did not "
                                  "take", value=hb.failures)
        yield _gauge("bonito_agent_last_heartbeat_age_seconds", "Seconds since the control plane last took a "
                     "heartbeat (since start while none has been)", now - (hb.delivered_at or self._started))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
