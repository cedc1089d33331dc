"""Text helpers for search: accent- and case-folding shared by indexing and querying."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, strip accents, punctuation to spaces ("Decisión-IA" → "decision ia")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", without_marks.casefold()).split())


def search_terms(query: str, *, limit: int = 12) -> list[str]:
    """The folded words of a user query, at most `limit` of them."""
    return fold(query).split()[:limit]
