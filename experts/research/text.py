"""Sentence spans, content words, and the numbers and dates a statement asserts.

Shared by synthesis (which quotes sentences with their offsets) and the checks (which compare a
claim's words and numbers with its evidence). Plain regular expressions: the corpora are prose in
English, and a wrong split only moves a sentence boundary, never an offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-*•]|\d+\.)\s)")
_ABBREVIATION = re.compile(r"(?:^|[^\w.])(?:e\.g|i\.e|etc|vs|cf|Dr|Mr|Ms|No|approx|et al)\.$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*|\d+(?:\.\d+)*")
STOPWORDS = frozenset("""
a an the and or but if then else of to in on at by for with from as is are was were be been being it its this
that these those there here which who whom whose what when where why how do does did doing done can could
should would may might must will shall not no nor so than too very just also only such into over under about
after before between through during out up down off again further once all any both each few more most other
some same own i me my we our you your he him his she her they them their has have had having am
""".split())  # noqa: SIM905 (a word list reads better as text)
NEGATIONS = frozenset({"not", "no", "never", "none", "cannot", "without", "neither", "nor", "nothing", "n't",
                       "unable", "impossible", "lack", "lacks"})


def sentences(text: str, base: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence of `text`, offset by `base`, trimmed of surrounding white space."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group().strip() and _ABBREVIATION.search(text[max(0, m.start() - 12): m.start()]):
            continue
        yield from _trimmed(text, start, m.start(), base)
        start = m.end()
    yield from _trimmed(text, start, len(text), base)


def _trimmed(text: str, s: int, e: int, base: int) -> Iterator[tuple[int, int]]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if e > s:
        yield base + s, base + e


def _stem(word: str) -> str:
    """A light suffix strip, so `threads`/`threading` and `evaluated`/`evaluation` meet."""
    for suffix in ("ations", "ation", "ings", "ing", "ied", "ies", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, stemmed words that carry meaning (no stop words, no single letters)."""
    words = (w.lower().strip("'") for w in _WORD.findall(text.replace("n't", " n't")))
    return {_stem(w) for w in words if len(w) > 1 and w not in STOPWORDS and not w.replace(".", "").isdigit()}


_TERM = re.compile(r"[A-Za-z_][\w.-]*\(?\)?|\S*[_.]\S*")


def key_terms(text: str) -> set[str]:
    """Names a claim rests on: capitalised words past the first, identifiers with `_`, `.` or `()`, and
    one-letter prefixes (`sys.getsizeof`, `__future__`, `t-strings`); not ordinary compounds (`dollar-sign`)."""
    out = set()
    for i, m in enumerate(_TERM.finditer(text)):
        w = m.group().strip(".,;:()")
        if len(w) < 2 or w.lower() in STOPWORDS:
            continue
        if ((i > 0 and w[0].isupper()) or any(ch in w for ch in "_()") or ("." in w and not w.endswith("."))
                or re.fullmatch(r"[a-z]-\w+", w)):
            out.add(w.lower())
    return out


def missing_terms(claim: str, evidence: str) -> set[str]:
    low = evidence.lower()
    return {t for t in key_terms(claim) if t not in low}


def negated(text: str) -> bool:
    words = {w.lower() for w in re.findall(r"[A-Za-z']+", text)}
    return bool(words & NEGATIONS) or "n't" in text.lower()


_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s*%|\s*percent)?(?![\w])")
_DATE = re.compile(rf"\b(\d{{1,2}})[- ]({_MONTHS})[a-z]*[- ](\d{{4}})\b", re.IGNORECASE)


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"])} | {
    "twenty": "20", "thirty": "30", "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000"}
_NUMBER_WORD = re.compile(r"\b(?:(from|only|than|exactly|just|to|of)\s+)?(" + "|".join(_NUMBER_WORDS) + r")\b",
                          re.IGNORECASE)
_ONE_LIKE = re.compile(r"\b(single|once|sole|lone)\b", re.IGNORECASE)
_TWO_LIKE = re.compile(r"\b(twice|both|double|pair)\b", re.IGNORECASE)


def _word_numbers(text: str, evidence: bool) -> set[str]:
    """Numbers written as words. "one" counts in a claim only where it is a count ("from one", "only one"),
    not a pronoun; evidence also offers "single"/"once" as 1 and "twice"/"both" as 2."""
    found = set()
    for lead, word in _NUMBER_WORD.findall(text):
        if word.lower() != "one" or lead or evidence:
            found.add(_NUMBER_WORDS[word.lower()])
    if evidence:
        found |= {"1"} if _ONE_LIKE.search(text) else set()
        found |= {"2"} if _TWO_LIKE.search(text) else set()
    return found


def numbers(text: str, *, evidence: bool = False) -> set[str]:
    """Numbers, versions, percentages and years in a text, normalised (`3.10`, `40%`, `2019`, `three` → `3`)."""
    found: set[str] = _word_numbers(text, evidence)
    for day, month, year in _DATE.findall(text):
        found |= {str(int(day)), month.lower()[:3], year}
    for value, percent in _NUMBER.findall(text):
        value = value.replace(",", "")
        found.add(value + ("%" if percent else ""))
    return found


def missing_numbers(claim: str, evidence: str) -> set[str]:
    """The claim's numbers and dates that its evidence does not contain (percent signs aside)."""
    have = numbers(evidence, evidence=True)
    have |= {n.rstrip("%") for n in have}
    return {n for n in numbers(claim) if n not in have and n.rstrip("%") not in have}
