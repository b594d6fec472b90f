"""Sentence splitting and word tokens shared by the text experts."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n{2,}")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d+(?:\.\d+)?|[\u4e00-\u9fff]")
STOPWORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "me", "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only",
    "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which", "while",
    "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "one", "two", "may", "might", "must",
    "shall", "s", "t", "can't", "won't", "isn't", "it's", "also", "however", "many", "much", "used", "use",
    "using", "new",
])


def sentences(text: str) -> list[str]:
    """Split prose into sentences; Markdown headings and bullets become their own units."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("#"):
            continue  # headings are titles, not content
        lines = [ln.strip().lstrip("-*• ").strip() for ln in block.splitlines()]
        joined = " ".join(ln for ln in lines if ln)
        out.extend(s.strip() for s in _SENTENCE_END.split(joined) if len(s.strip()) > 1)
    return out


def words(text: str) -> list[str]:
    """Lower-cased content words (stopwords dropped)."""
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if (w not in STOPWORDS and len(w) > 1)
            or "\u4e00" <= w <= "\u9fff"]
