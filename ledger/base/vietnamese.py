"""Vietnamese as schools write it: a decimal comma (8,5), the day first (30/08/2026), the place-and-date
line of an administrative document, and names in the order of a class list.

Numbers and dates come from Babel's `vi_VN` locale. Names are compared by ICU's Vietnamese collation
(PyICU, the `icu` extra) where it is installed; without it, by the same rules restated below, so that
a machine without ICU still lists "Bảo" before "Bình" and "Đức" after "Dũng", never after "Yến".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from ledger.base.clock import VN_TZ

LOCALE = "vi_VN"


def number(value: Decimal | int | str) -> str:
    """A number as a Vietnamese reader writes it, with as many decimals as it was given: "8.5" → "8,5",
    "8.0" → "8,0", "10" → "10", 1234.5 → "1.234,5". Text that is not a number comes back as it is."""
    try:
        exact = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not exact.is_finite():
        return str(value)
    exponent = exact.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(exact, format=pattern, locale=LOCALE)


def day(value: date | datetime) -> str:
    """30/08/2026 (a moment is read in Vietnam's time first)."""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return format_date(value, "dd/MM/yyyy", locale=LOCALE)


def moment(value: datetime) -> str:
    """30/08/2026 08:30, in Vietnam's time."""
    return format_datetime(value, "dd/MM/yyyy HH:mm", tzinfo=VN_TZ, locale=LOCALE)


def date_line(value: date, place: str = "") -> str:
    """The place-and-date line of an administrative document: "Khánh Phú, ngày 05 tháng 02 năm 2026".
    A day below 10 and the months January and February take a leading zero (Nghị định 30/2020/NĐ-CP,
    Phụ lục I), so that no figure can be added in front of them by hand."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    line = f"ngày {value.day:02d} tháng {month} năm {value.year}"
    return f"{place}, {line}" if place else line


# Without ICU: the Vietnamese alphabet, its letters with a breve, circumflex or horn and đ as letters
# of their own, and the tones compared after the letters, in the order ICU's Vietnamese tailoring gives
# them: none, huyền, hỏi, ngã, sắc, nặng.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_MARKED = {"a\u0306": "ă", "a\u0302": "â", "e\u0302": "ê", "o\u0302": "ô", "o\u031b": "ơ", "u\u031b": "ư"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _fallback_key(text: str) -> tuple[Any, ...]:
    letters: list[tuple[int, str]] = []  # (place in the alphabet, or the character past it), per letter
    tones: list[int] = []
    cases: list[int] = []
    for char in unicodedata.normalize("NFD", text):
        if char in _TONES:
            if tones:
                tones[-1] = _TONES[char]
            continue
        if unicodedata.combining(char):  # a breve, circumflex or horn makes a letter of its own
            base = _ALPHABET[letters[-1][0]] if letters and letters[-1][0] < len(_ALPHABET) else ""
            letter = _MARKED.get(base + char)
            if letter is not None:
                letters[-1] = (_ALPHABET.index(letter), "")
            continue
        lower = char.lower()
        place = _ALPHABET.find(lower)
        letters.append((place, "") if place >= 0 else (len(_ALPHABET), lower))
        tones.append(0)
        cases.append(0 if char == lower else 1)
    return (letters, tones, cases)


@lru_cache(maxsize=1)
def _collator() -> Callable[[str], Any]:
    try:
        import icu  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return _fallback_key
    collator = icu.Collator.createInstance(icu.Locale("vi_VN"))
    key: Callable[[str], Any] = collator.getSortKey
    return key


def collation_key(text: str) -> Any:
    """A key that sorts Vietnamese text as a Vietnamese dictionary does."""
    return _collator()(unicodedata.normalize("NFC", text))


def name_order(full_name: str) -> tuple[Any, Any]:
    """A key that lists people as a class list does: by given name (the last word), then by the rest
    of the name from the family name on ("Nguyễn Thị Bảo" before "Lê Văn Bình")."""
    words = full_name.split()
    given = words[-1] if words else ""
    return collation_key(given), collation_key(" ".join(words[:-1]))


def uses_icu() -> bool:
    """Whether names are compared by ICU itself (PyICU installed) or by the restated rules."""
    return _collator() is not _fallback_key
