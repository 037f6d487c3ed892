"""Smart routing's scorers: how likely a prompt is to need the strongest target, as a number in [0, 1].

A scorer is one small protocol; the registry names the built-in ones, and a
route may instead name an HTTP endpoint of its own (`smart: {scorer: http://…}`,
see `bonito.routing.scoring.remote`). The built-in loads its weights on first
use, so nothing is read until a smart route scores a prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Protocol

from bonito.routing.scoring.lexical import LexicalScorer


class Scorer(Protocol):
    """Scores one prompt (the latest user message): 0 = a weak model will do, 1 = needs the strongest."""

    name: str

    def score(self, text: str) -> float: ...

    def threshold_for_share(self, share: float) -> float:
        """The threshold that sends about `share` of traffic to the strongest tier."""
        ...


# scorer name -> factory; `smart.scorer` in a route names one of these or an http(s) URL
SCORERS: dict[str, Callable[[], Scorer]] = {"builtin": LexicalScorer}


def scorer(name: str = "builtin") -> Scorer:
    """The registered scorer `name`, built once per process (its weights are read-only)."""
    return _built(name)


@cache
def _built(name: str) -> Scorer:
    return SCORERS[name]()
