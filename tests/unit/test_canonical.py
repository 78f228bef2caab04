"""RFC 8785 canonical JSON, the bytes every event hash covers."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.format.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)), max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_matches_an_independent_rfc8785_implementation(value: object) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3: the emoji (a surrogate pair, 0xD83D...) sorts before U+FB33, although its
    # code point is larger; Python's own key order would put it last.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [k for k in json.loads(canonical_bytes(value))]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_vietnamese_text_is_kept_as_utf8_not_escaped() -> None:
    assert canonical_bytes({"tên": "Trường THCS Khánh Phú"}) == '{"tên":"Trường THCS Khánh Phú"}'.encode()


def test_control_characters_are_escaped_as_rfc8785_requires() -> None:
    assert canonical_bytes('a\u0001\n"\\') == b'"a\\u0001\\n\\"\\\\"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"score": 8.5}, "non-integer number"),
        ({"n": 2**53}, "outside"),
        ({1: "x"}, "not a string"),
        ({"b": b"raw"}, "not a JSON value"),
        ("\ud800", "lone surrogate"),
    ],
)
def test_values_outside_the_profile_are_refused_with_the_path(value: object, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        canonical_bytes(value)
