"""The ground floor every other layer reads: the immutable `Snapshot` the gateway serves from, the
governance overlay beside it, the one route compiler, and the `SnapshotSource` protocol its three
sources implement (`bonito.yaml`, the database, the control-plane pull). Imports only config's
schema (see docs/layering.md)."""

from bonito.snapshot.compile import compile_route, key_scope
from bonito.snapshot.governance import KeyLimits, Overlay
from bonito.snapshot.model import (
    DEFAULT_ORG,
    Catalog,
    KeyEntry,
    ModelEntry,
    RouteEntry,
    Snapshot,
    TagPairs,
    empty_snapshot,
    hash_key,
)
from bonito.snapshot.price import Price
from bonito.snapshot.source import Serving, SnapshotSource

__all__ = ["DEFAULT_ORG", "Catalog", "KeyEntry", "KeyLimits", "ModelEntry", "Overlay", "Price", "RouteEntry",
           "Serving", "Snapshot", "SnapshotSource", "TagPairs", "compile_route", "empty_snapshot", "hash_key", "key_scope"]
