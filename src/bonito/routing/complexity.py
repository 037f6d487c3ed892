"""How likely a prompt is to need a strong model: the smart strategy's score, in [0, 1].

The one entry point the gateway, the dry run and `bonito routing score` share,
so they agree on every prompt. It is the built-in scorer of
`bonito.routing.scoring` (hashed word n-grams and a linear head fitted on
labelled prompts); its weights load on the first call.
"""

from __future__ import annotations

from bonito.routing.scoring import scorer


def complexity(text: str) -> float:
    """0 = a weak model will do; 1 = needs the strong model (0.5 is the dev prompts' median)."""
    return scorer().score(text)
