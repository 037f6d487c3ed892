"""Documents the CLI reads: YAML or JSON from a file or stdin, `${VAR}` expanded as in bonito.yaml."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from bonito.cli.output import CliError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_document(path: str, *, expand: bool = True) -> Any:
    """A YAML (or JSON, which YAML reads) document; a missing ${VAR} is an error naming it."""
    import yaml

    try:
        doc = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: not valid YAML or JSON: {exc}") from None
    return _expand(doc, path) if expand else doc


def read_mapping(path: str) -> dict[str, Any]:
    doc = read_document(path)
    if not isinstance(doc, dict):
        raise CliError(f"{path}: expected a mapping of fields, got {type(doc).__name__}")
    return doc


def _expand(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path) for v in value]
    if isinstance(value, str) and "${" in value:
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise CliError(f"{path}: environment variable {name} is not set")

        return _VAR.sub(repl, value)
    return value


def parse_assignments(pairs: list[str], option: str) -> dict[str, str]:
    """FIELD=VALUE pairs, as --set takes them."""
    out: dict[str, str] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            raise CliError(f"{option}: {pair!r} is not FIELD=VALUE", code=2)
        out[field.strip()] = value
    return out
