"""Where snapshots come from: one protocol, three sources — `bonito.yaml`
(`bonito.gateway.file_source`), the database (`bonito.control.snapshot`) and the control-plane
pull of the VPC agent (`bonito.agent.source`). Each compiles beside the serving snapshot and hands
the result to what it feeds; the gateway never asks where a snapshot came from."""

from __future__ import annotations

from typing import Protocol

from bonito.snapshot.governance import Overlay
from bonito.snapshot.model import Snapshot


class Serving(Protocol):
    """What a source feeds: the process serving the gateway (`bonito serve` or `bonito agent`)."""

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot being served (a source reuses its unchanged provider pools)."""
        ...

    def swap(self, snap: Snapshot) -> None:
        """Serve `snap` from the next request on (one reference assignment)."""
        ...

    def govern(self, overlay: Overlay) -> None:
        """Apply limits and budgets set through the API (sources that carry them)."""
        ...


class SnapshotSource(Protocol):
    async def refresh(self, serving: Serving) -> None:
        """Read the source now and serve what it holds; raises when it cannot be read."""
        ...

    async def watch(self, serving: Serving) -> None:
        """Run until cancelled: serve every change; a bad or unreadable source keeps the old one."""
        ...

    def request_reload(self) -> None:
        """Look at the source again at once (SIGHUP, a change made by this process)."""
        ...
