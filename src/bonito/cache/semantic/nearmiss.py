"""The second stage: is a close cached prompt the same question, or a near miss?

Embeddings put "rehab in Gulf County" next to "rehab in Collier County", "what
can I do" next to "what can I no longer do", and "where can I replace it" next
to "how do I replace it". Each of these asks for another answer, and each
shows in the words the two prompts do not share. This check refuses a pair
whose numbers differ, whose negation differs, whose question asks for a
different kind of answer (a place, a time, a person, a reason, an amount, a
yes or no), or where one names something (a capitalised word, a code-like
token such as C++) that the other never mentions. The rules are generic
English, not fitted to any data set's words; their effect on precision and
recall is measured by `bench/cache_semantic.py` and reported in docs/cache.md.
"""

from __future__ import annotations

import re

COSINE_FLOOR = 0.80  # below it a cached prompt is not even a candidate
CANDIDATES = 3  # near-misses rank high: the nearest few are checked, the closest accepted one serves

# function words: they change no question's subject
STOPWORDS = frozenset("""
a an the and or but if then so than as of at by for from in into on onto to with about above after before below
between over under up down out off through during is are was were be been being am do does did doing have has
had having will would shall should can could may might must i me my mine we us our you your he him his she her
it its they them their this that these those what which who whom whose when where why how there here all any
both each few more most other some such only own same too very just also get got make made one way ways thing
things really much many lot lots please like want need know tell anyone someone something best good better
""".split())
NEGATIONS = frozenset({"not", "no", "never", "nor", "none", "nobody", "nothing", "neither", "without", "cannot",
                       "longer", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "wont",
                       "shouldnt", "couldnt", "wouldnt", "hasnt", "havent", "hadnt"})
_AUXILIARIES = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would",
                          "will", "shall", "may", "might", "must", "am", "have", "has", "had"})
_AMOUNT = frozenset({"much", "many", "long", "old", "far", "often", "big", "tall"})
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:'[a-z]+)?[+#]*|\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|%)?")


def refusal(query: str, cached: str) -> str | None:
    """Why `cached`'s answer does not answer `query` (a short reason), or None when nothing tells them apart."""
    qw, cw = WORD.findall(query), WORD.findall(cached)
    if numbers(qw) != numbers(cw):
        return "numbers differ"
    if negations(qw) != negations(cw):
        return "negation differs"
    if asks_for(qw) != asks_for(cw):
        return "asks for another kind of answer"
    if unshared_names(qw, cw) or unshared_names(cw, qw):
        return "names something the other does not"
    return None


def numbers(words: list[str]) -> set[str]:
    return {w.replace(",", "") for w in words if w[0].isdigit()}


def negations(words: list[str]) -> set[str]:
    return {w.lower().replace("'", "") for w in words
            if w.lower().replace("'", "") in NEGATIONS or w.lower().endswith("n't")}


def asks_for(words: list[str]) -> str:
    low = [w.lower() for w in words]
    for i, w in enumerate(low):
        if w == "where":
            return "place"
        if w == "when":
            return "time"
        if w in ("who", "whom", "whose"):
            return "person"
        if w == "why":
            return "reason"
        if w == "how" and i + 1 < len(low) and low[i + 1] in _AMOUNT:
            return "amount"
        if w in ("how", "what", "which"):
            return "open"
    return "yes/no" if low and low[0] in _AUXILIARIES else "other"


def unshared_names(words: list[str], other: list[str]) -> set[str]:
    """Name-like words of `words` (capitalised past the first word, or code-like) absent from `other`."""
    seen = {w.lower() for w in other}
    names = {w.lower() for i, w in enumerate(words)
             if (i > 0 and w[0].isupper() and w.lower() not in STOPWORDS) or w[-1] in "+#"}
    return {n for n in names if n not in seen}
