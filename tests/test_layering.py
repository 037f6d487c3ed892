"""Bonito's floors (docs/layering.md): every import runs down or along a floor, never up.

Walks every module's imports with `ast` (those under `if TYPE_CHECKING:` and inside functions
included: a lazy import is still an arrow) and fails naming each upward one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Longest prefix wins. The provider protocol (`providers/base.py`: the types a provider instance in
# the snapshot answers to) imports nothing of Bonito's and is part of the ground.
FLOORS: dict[str, int] = {
    "bonito.config": 0, "bonito.snapshot": 0, "bonito.secrets": 0, "bonito.providers.base": 0,
    "bonito.providers": 1, "bonito.reliability": 1, "bonito.routing": 1, "bonito.limits": 1,
    "bonito.cache": 1, "bonito.usage": 1, "bonito.observability": 1, "bonito.store": 1,
    "bonito.alerts": 1, "bonito.costs": 1,
    "bonito.gateway": 2,
    "bonito.control": 3, "bonito.agent": 3, "bonito.cli": 3, "bonito.web": 3, "bonito.platform": 3,
    "bonito.lifecycle": 3,
    "bonito.__main__": 3,
}
FLOOR_NAMES = ("ground", "features", "gateway", "top")
# Packages that never touch the database, whatever their floor.
NO_DATABASE = ("bonito.snapshot", "bonito.config", "bonito.routing", "bonito.limits", "bonito.providers",
               "bonito.reliability", "bonito.cache", "bonito.gateway")


def floor_of(module: str) -> int:
    """A module's floor; the package root (`__version__`) is ground. A new package needs a line above."""
    if module == "bonito":
        return 0
    best = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{module} is on no floor: add its package to FLOORS and docs/layering.md"
    return FLOORS[best]


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def _is_bonito(name: str) -> bool:
    return name == "bonito" or name.startswith("bonito.")


def _arrows(src: Path = SRC, *, outside: bool = False) -> list[tuple[str, int, str]]:
    """(module, line, imported module) for every import of Bonito's (and of others' with `outside`)."""
    out = []
    for path in sorted((src / "bonito").rglob("*.py")):
        module = _module_name(path, src)
        out += [(module, line, target) for line, target in _imports(path, module) if outside or _is_bonito(target)]
    return out


def upward(src: Path = SRC) -> list[str]:
    return [f"{m}:{line} imports {t} ({FLOOR_NAMES[floor_of(m)]} -> {FLOOR_NAMES[floor_of(t)]})"
            for m, line, t in _arrows(src) if floor_of(t) > floor_of(m)]


def test_the_walk_sees_the_imports() -> None:
    arrows = _arrows()
    assert ("bonito.gateway.app", "bonito.routing.router") in {(m, t) for m, _, t in arrows}
    assert len(arrows) > 500


def test_no_import_runs_up_a_floor() -> None:
    assert upward() == []


def test_the_ground_floor_imports_only_the_ground() -> None:
    ground = {t for m, _, t in _arrows() if floor_of(m) == 0}
    assert all(floor_of(t) == 0 for t in ground)
    # the snapshot's own imports: config's schema, itself, and the provider protocol's name
    snapshot = {t for m, _, t in _arrows() if m.startswith("bonito.snapshot")}
    assert {t.split(".")[1] for t in snapshot} <= {"config", "snapshot", "providers"}


@pytest.mark.parametrize("package", NO_DATABASE)
def test_package_never_touches_the_database(package: str) -> None:
    reads = [f"{m}:{line} imports {t}" for m, line, t in _arrows(outside=True)
             if (m == package or m.startswith(package + "."))
             and (t.startswith("bonito.store") or t.split(".")[0] in ("sqlalchemy", "asyncpg", "aiosqlite"))]
    assert reads == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: routing raising the gateway's errors, even lazily, is an upward arrow."""
    routing = tmp_path / "bonito" / "routing"
    routing.mkdir(parents=True)
    (tmp_path / "bonito" / "__init__.py").write_text("")
    (routing / "__init__.py").write_text("")
    (routing / "request.py").write_text("def f():\n    from ..gateway import errors\n    return errors\n")
    (routing / "plan.py").write_text("from bonito.snapshot import Snapshot\n")
    assert upward(tmp_path) == ["bonito.routing.request:2 imports bonito.gateway (features -> gateway)"]
