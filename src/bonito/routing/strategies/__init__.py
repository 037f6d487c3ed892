"""The registered routing strategies: one module each, one line here.

A strategy is a class taking `StrategyDeps` and implementing `Strategy.rank`;
the Router makes one instance of each, so any state they keep is the Router's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bonito.routing.strategies.balanced import Balanced
from bonito.routing.strategies.cost import CostOptimized
from bonito.routing.strategies.failover import Failover
from bonito.routing.strategies.latency import LatencyOptimized
from bonito.routing.strategies.least_busy import LeastBusy
from bonito.routing.strategies.round_robin import RoundRobin
from bonito.routing.strategies.smart import Smart
from bonito.routing.strategies.weighted import ABTest
from bonito.routing.strategy import Strategy, StrategyDeps

STRATEGIES: Mapping[str, Callable[[StrategyDeps], Strategy]] = MappingProxyType({
    "failover": Failover,
    "cost_optimized": CostOptimized,
    "latency_optimized": LatencyOptimized,
    "balanced": Balanced,
    "ab_test": ABTest,
    "round_robin": RoundRobin,
    "least_busy": LeastBusy,
    "smart": Smart,
})
