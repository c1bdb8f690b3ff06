"""The text rules on their own: what is stored for what is given, and what is refused."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.text import (
    ALBUM_NAME,
    DESCRIPTION,
    FILE_NAME,
    TITLE,
    TextRejected,
    TextRule,
    is_control,
)

RULES = {"fileName": FILE_NAME, "title": TITLE, "description": DESCRIPTION, "name": ALBUM_NAME}
CONTROLS = [chr(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))]


def test_the_limits_are_the_contracts() -> None:
    assert (FILE_NAME.min_length, FILE_NAME.max_length) == (1, 255)
    assert (TITLE.min_length, TITLE.max_length) == (0, 200)
    assert (DESCRIPTION.min_length, DESCRIPTION.max_length) == (0, 2000)
    assert (ALBUM_NAME.min_length, ALBUM_NAME.max_length) == (1, 100)
    assert DESCRIPTION.multiline
    assert not any(rule.multiline for rule in (FILE_NAME, TITLE, ALBUM_NAME))


def test_control_characters_are_exactly_c0_del_and_c1() -> None:
    assert [chr(code) for code in range(0x110000) if is_control(chr(code))] == CONTROLS
    assert all(unicodedata.category(character) == "Cc" for character in CONTROLS)


@pytest.mark.parametrize("character", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("name", list(RULES))
def test_every_control_character_is_refused_anywhere(name: str, character: str) -> None:
    rule = RULES[name]
    allowed = rule.multiline and character in "\n\t"
    for text in (f"a{character}b", f"{character}ab", f"ab{character}"):
        if allowed:
            assert rule.clean(text) == text.strip()
        else:
            with pytest.raises(TextRejected, match="control characters"):
                rule.clean(text)


def test_a_description_keeps_inner_newlines_and_tabs_and_loses_the_surrounding_ones() -> None:
    assert DESCRIPTION.clean("\n\t Line one\n\tLine two \n\n") == "Line one\n\tLine two"
    with pytest.raises(TextRejected):
        DESCRIPTION.clean("Windows line\r\nend")  # CR is a control character like any other


def test_text_is_stored_nfc() -> None:
    decomposed = "Cafe\u0301 \u212b"  # e + combining acute; the angstrom sign
    assert TITLE.clean(decomposed) == "Café Å"
    assert unicodedata.is_normalized("NFC", TITLE.clean(decomposed))


def test_surrounding_white_space_goes_inner_white_space_stays() -> None:
    assert TITLE.clean("\u00a0 two  words\u3000 ") == "two  words"


@pytest.mark.parametrize(("name", "limit"), [("fileName", 255), ("title", 200), ("name", 100)])
def test_lengths_count_characters_after_normalising_and_trimming(name: str, limit: int) -> None:
    rule = RULES[name]
    assert rule.clean(" " + "é" * limit + " ") == "é" * limit
    assert rule.clean("e\u0301" * limit) == "é" * limit  # 2 code points each, 1 once composed
    assert rule.clean("😀" * limit) == "😀" * limit
    with pytest.raises(TextRejected, match=f"at most {limit} characters"):
        rule.clean("x" * (limit + 1))


def test_description_takes_2000_characters() -> None:
    assert DESCRIPTION.clean("ab\n" * 666 + "ab") == "ab\n" * 666 + "ab"
    with pytest.raises(TextRejected, match="at most 2000"):
        DESCRIPTION.clean("x" * 2001)


@pytest.mark.parametrize("name", ["fileName", "name"])
@pytest.mark.parametrize("text", ["", "   ", "\u00a0\u2003"])
def test_names_cannot_be_empty(name: str, text: str) -> None:
    with pytest.raises(TextRejected, match="must not be empty"):
        RULES[name].clean(text)


def test_a_lone_surrogate_is_not_text() -> None:
    with pytest.raises(TextRejected, match="valid Unicode"):
        TITLE.clean("a\ud800b")


def test_markup_is_data() -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \'single\''
    assert TITLE.clean(payload) == payload
    assert FILE_NAME.clean("../../etc/passwd") == "../../etc/passwd"


def _matching(rule: TextRule) -> st.SearchStrategy[str]:
    # hypothesis' regex strategy: Python's `re` reads these JSON Schema patterns the same way.
    return st.from_regex(re.compile(rule.pattern), fullmatch=True).filter(
        lambda text: len(text) <= rule.max_length
    )


@pytest.mark.parametrize("name", list(RULES))
def test_whatever_the_documented_pattern_allows_is_accepted(name: str) -> None:
    rule = RULES[name]

    @given(_matching(rule))
    @settings(max_examples=300, deadline=None, database=None)
    def accepted(text: str) -> None:
        if len(unicodedata.normalize("NFC", text)) <= rule.max_length:
            assert rule.clean(text) == unicodedata.normalize("NFC", text).strip()

    accepted()
