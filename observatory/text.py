"""Free text from people: what is kept and what is dropped on the way in."""

from __future__ import annotations

import re
from typing import Any

# C0 control characters except tab, line feed and carriage return: PostgreSQL refuses NUL, XML
# (the Atom feeds) and spreadsheets cannot hold the others, and no one types them on purpose.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def strip_controls(value: str) -> str:
    """The text without NUL and the other C0 control characters (tab and newlines kept)."""
    return CONTROL_CHARACTERS.sub("", value)


def clean_text(value: Any) -> str:
    """Text as typed, without control characters or surrounding spaces ("" for None)."""
    if not value:
        return ""
    # Inlined (no str() or strip_controls call for text): imports clean ~30 fields per row.
    text = value if isinstance(value, str) else str(value)
    return CONTROL_CHARACTERS.sub("", text).strip()
