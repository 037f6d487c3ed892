"""Load `bonito.yaml`: YAML with line numbers, `${VAR}` substitution, schema validation.

Every problem becomes a `ConfigError` whose message names the file, the line
and the field — never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bonito.config.schema import BonitoConfig, reference_errors

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """A config file that cannot be used; `str()` is the message for the user."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: `api_version: 2024-10-21` stays a string."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> BonitoConfig:
    """Read, substitute and validate a config file; raises ConfigError naming field and line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror or exc}") from exc
    return parse_config(text, name=str(p), environ=os.environ if environ is None else environ)


def parse_config(text: str, *, name: str = "bonito.yaml", environ: Mapping[str, str]) -> BonitoConfig:
    """Validate config text (see `load_config`)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{name}{where}: invalid YAML: {problem}") from None
    if node is None:
        raise ConfigError(f"{name}: the file is empty (expected at least `version: 1`)")
    lines: dict[Loc, int] = {}
    data = _build(node, (), lines, name, environ)
    if not isinstance(data, dict):
        raise ConfigError(f"{name}:{node.start_mark.line + 1}: the top level must be a mapping")
    try:
        cfg = BonitoConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, name)) from None
    problems = reference_errors(cfg)
    if problems:
        raise ConfigError("\n".join(_at(name, lines, loc, msg) for loc, msg in problems))
    return cfg


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], name: str, env: Mapping[str, str]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = knode.value
            if key in out:
                raise ConfigError(f"{name}:{knode.start_mark.line + 1}: duplicate key '{key}'")
            out[key] = _build(vnode, (*loc, key), lines, name, env)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), lines, name, env) for i, item in enumerate(node.value)]
    value = _scalar(node)
    if isinstance(value, str) and "${" in value:
        value = _substitute(value, loc, lines[loc], name, env)
    return value


def _scalar(node: yaml.Node) -> Any:
    loader = _Loader("")
    return loader.construct_object(node, deep=True)


def _substitute(value: str, loc: Loc, line: int, name: str, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        var, default = m.group(1), m.group(2)
        if var in env:
            return env[var]
        if default is not None:
            return default
        raise ConfigError(
            f"{name}:{line}: {_dotted(loc)}: environment variable {var} is not set"
        )

    return _VAR.sub(repl, value)


def _describe(exc: ValidationError, lines: dict[Loc, int], name: str) -> str:
    out = []
    for err in exc.errors():
        loc = _without_union_tag(tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "field required"
        out.append(_at(name, lines, loc, msg))
    return "\n".join(dict.fromkeys(out))


def _without_union_tag(loc: Loc) -> Loc:
    # pydantic puts the provider type (the union's tag) after the provider id in error paths
    if len(loc) >= 3 and loc[0] == "providers" and loc[2] in {"openai", "azure", "bedrock", "vertex", "anthropic"}:
        return (*loc[:2], *loc[3:])
    return loc


def _at(name: str, lines: dict[Loc, int], loc: Loc, msg: str) -> str:
    probe = loc
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe, 1)
    return f"{name}:{line}: {_dotted(loc) or '(top level)'}: {msg}"


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
