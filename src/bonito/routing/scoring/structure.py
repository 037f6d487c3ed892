"""How a prompt is built, as sixteen numbers: its question and answer options, numbers, maths, code and reasoning cues.

Generic structure, not any benchmark's wording: a stem followed by option lines
(`A. …`, `2) …`), options that are numbers (a calculation to get right),
negated questions ("which is NOT"), equations and operators, code punctuation,
multi-step words ("each", "total", "remaining"), sentences and long words.
Grouped cross-validation (docs/routing.md) measured these on top of the
hashed n-grams: they carry over to subjects the fit never saw, where topic
words do not.
"""

from __future__ import annotations

import math
import re

_OPTION = re.compile(r"^\s*(?:\(?[A-Ha-h][.)]|[1-9][.)])\s+(.*)$", re.M)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = re.compile(r"\b(?:not|except|false|incorrect|least|never|cannot)\b", re.I)
_MATH = re.compile(r"[=+*/^<>√∫∑π≤≥%]|\\frac|\\sqrt|\bsqrt\b|\blog\b|\bsin\b|\bcos\b")
_CODE = re.compile(r"[{};]|\bdef\b|\breturn\b|\bint\b|\bprint\b|\bfunction\b|\bclass\b|\bimport\b|==|!=|\+\+")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_STEP = re.compile(r"\b(?:then|after|each|per|every|total|remaining|left|twice|half|times|more than|less than"
                   r"|percent|average|rate|ratio)\b", re.I)
_CAPITALS = re.compile(r"\b[A-Z]{2,}\b")
_WORD = re.compile(r"[A-Za-z]+")

N_STRUCTURE = 16


def _numeric(option: str) -> bool:
    """An answer option that is a number (a result to compute), e.g. `42`, `$3.50`, `-1.5 m`."""
    bare = option.strip().rstrip(".").replace(" ", "").lstrip("$-")
    return bool(_NUMBER.fullmatch(bare)) or (len(option) < 15 and bool(_NUMBER.search(option)))


def structure(text: str) -> tuple[float, ...]:
    """The sixteen structure numbers of `text`, each roughly in [0, 1]."""
    options = _OPTION.findall(text)
    first = _OPTION.search(text)
    stem = text[:first.start()] if first else text
    option_text = " ".join(options)
    words = _WORD.findall(text)
    return (
        math.log1p(len(stem)) / 8,
        math.log1p(len(option_text)) / 8,
        min(len(options), 10) / 10,
        sum(map(_numeric, options)) / (len(options) or 1),
        math.log1p(len(_NUMBER.findall(option_text))) / 4,
        math.log1p(len(_NUMBER.findall(stem))) / 4,
        math.log1p(len(set(_NUMBER.findall(text)))) / 4,
        math.log1p(len(_NEGATION.findall(stem))) / 2,
        math.log1p(len(_MATH.findall(text))) / 4,
        math.log1p(len(_CODE.findall(text))) / 4,
        math.log1p(len(_SENTENCE_END.findall(stem))) / 3,
        math.log1p(len(_STEP.findall(text))) / 3,
        math.log1p(len(_CAPITALS.findall(text))) / 3,
        max((len(o) for o in options), default=0) / 200,
        sum(len(w) > 8 for w in words) / (len(words) or 1),  # share of long words
        math.log1p(len(words)) / 6,
    )
