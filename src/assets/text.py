"""The one set of rules for text users give (file names, titles, descriptions, album names).

NFC first, so that what is measured and stored is what every client compares; control characters
(C0, DEL, C1) are refused rather than dropped, so nothing the user sent changes silently except
the surrounding white space; lengths count code points of the stored value. Anything else, markup
included, is data: stored and answered verbatim, never interpreted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_MULTILINE_CONTROLS = frozenset("\n\t")


class TextRejected(ValueError):
    """The text breaks a rule; the message says which, for the field it was given as."""


@dataclass(frozen=True, slots=True)
class TextRule:
    """How long one kind of text may be, and whether newlines and tabs belong in it."""

    max_length: int
    min_length: int = 0
    multiline: bool = False

    def clean(self, value: str) -> str:
        """The text as stored: NFC, trimmed; raises `TextRejected` if it breaks the rule."""
        text = unicodedata.normalize("NFC", value)
        for character in text:
            if is_control(character) and not (self.multiline and character in _MULTILINE_CONTROLS):
                allowed = " (newline and tab are allowed)" if self.multiline else ""
                raise TextRejected(f"must not contain control characters{allowed}")
            if unicodedata.category(character) == "Cs":
                # A lone surrogate is no character at all, and cannot be stored as UTF-8.
                raise TextRejected("must be valid Unicode text")
        text = text.strip()
        if len(text) < self.min_length:
            raise TextRejected("must not be empty" if self.min_length == 1 else "is too short")
        if len(text) > self.max_length:
            raise TextRejected(f"must be at most {self.max_length} characters")
        return text

    @property
    def pattern(self) -> str:
        """The rule as a JSON Schema (ECMA-262) pattern, for the OpenAPI document.

        Every string it matches is accepted; the API also trims white space around it, and
        measures the length after NFC.
        """
        allowed = _TEXT if self.multiline else _LINE
        if self.min_length == 0:
            return f"^{allowed}*$"
        return f"^{allowed}*{_VISIBLE}{allowed}*$"


_LINE = r"[^\u0000-\u001f\u007f-\u009f]"
_TEXT = r"[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]"
"""A line's characters, and also newline and tab."""
_VISIBLE = r"[^\s\u0000-\u001f\u007f-\u009f]"
"""What trimming keeps: neither white space nor a control character."""


def is_control(character: str) -> bool:
    """C0 (U+0000..U+001F), DEL (U+007F) and C1 (U+0080..U+009F)."""
    code = ord(character)
    return code < 0x20 or 0x7F <= code <= 0x9F


FILE_NAME = TextRule(max_length=255, min_length=1)
"""What the user's file was called: shown, never used in a key, a header or a path."""
TITLE = TextRule(max_length=200)
DESCRIPTION = TextRule(max_length=2000, multiline=True)
ALBUM_NAME = TextRule(max_length=100, min_length=1)
