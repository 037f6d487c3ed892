"""How likely a prompt is to need a strong model: a score in [0, 1] from cheap text features.

A logistic model over a handful of surface features (length, numbers, the
shape of a multiple-choice question, code, word length…), fitted once on the
dev set in ../shared/data/routing (strong vs weak model correctness) and
shipped as fixed weights. It reads the text once, in microseconds, with no
model download; the score is centred so that 0.5 splits the dev prompts in half.
"""

from __future__ import annotations

import math
import re

_NUM = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[A-Za-z']+")
_CHOICES = re.compile(r"\n[A-D][.)] ")
_CODE = re.compile(r"(def |class |function|\{|\}|;\s*$|==|=>|\bcode\b|python|java|sql|algorithm|program)", re.M)
_REASONING = frozenset(
    "why explain prove derive calculate compute solve step analyze compare evaluate determine implies "
    "therefore assume suppose if not except".split())

# weights per feature, and the bias (already centred on the dev median)
_W_LOG_LENGTH = 0.3901
_W_NUMBERS = 0.0836
_W_CHOICES = -0.5284
_W_CODE = 0.3064
_W_WORD_LENGTH = -0.2642
_W_SCENARIOS = 1.1658
_W_QUESTION_MARKS = -0.2759
_W_NUMBERS_OPEN = 0.2138
_W_MONEY = -0.1211
_W_REASONING = 0.0196
_BIAS = -0.6574


def complexity(text: str) -> float:
    """0 = a weak model will do; 1 = needs the strong model."""
    words = _WORD.findall(text.lower())
    n_words = len(words) or 1
    numbers = math.log1p(len(_NUM.findall(text)))
    choices = 1.0 if _CHOICES.search(text) else 0.0
    z = (_BIAS
         + _W_LOG_LENGTH * math.log1p(len(text))
         + _W_NUMBERS * numbers
         + _W_CHOICES * choices
         + _W_CODE * (1.0 if _CODE.search(text) else 0.0)
         + _W_WORD_LENGTH * (sum(map(len, words)) / n_words)
         + _W_SCENARIOS * (1.0 if "Scenario 1" in text else 0.0)
         + _W_QUESTION_MARKS * text.count("?")
         + _W_NUMBERS_OPEN * numbers * (1.0 - choices)
         + _W_MONEY * (1.0 if "$" in text or "%" in text else 0.0)
         + _W_REASONING * sum(w in _REASONING for w in words) / n_words * 10)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
