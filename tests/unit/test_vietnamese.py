"""Numbers, dates and the order of names as Vietnamese schools write them (ledger.base.vietnamese)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.base import vietnamese
from ledger.base.vietnamese import _fallback_key, collation_key, date_line, day, moment, name_order, number


@pytest.mark.parametrize(
    ("value", "written"),
    [("8.5", "8,5"), ("8.0", "8,0"), ("10", "10"), ("7.25", "7,25"), ("1234.5", "1.234,5"), (9, "9"), ("Đ", "Đ")],
)
def test_numbers_take_a_decimal_comma_and_keep_their_decimals(value: str | int, written: str) -> None:
    assert number(value) == written


def test_dates_are_written_day_first_in_vietnams_time() -> None:
    assert day(date(2026, 8, 30)) == "30/08/2026"
    late_evening_utc = datetime(2026, 5, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 June in Vietnam
    assert day(late_evening_utc) == "01/06/2026"
    assert moment(late_evening_utc) == "01/06/2026 00:30"


@pytest.mark.parametrize(
    ("when", "line"),
    [
        (date(2026, 2, 5), "ngày 05 tháng 02 năm 2026"),
        (date(2026, 1, 15), "ngày 15 tháng 01 năm 2026"),
        (date(2026, 5, 31), "ngày 31 tháng 5 năm 2026"),
        (date(2025, 12, 9), "ngày 09 tháng 12 năm 2025"),
    ],
)
def test_the_date_line_follows_the_administrative_rule(when: date, line: str) -> None:
    """Nghị định 30/2020/NĐ-CP, Phụ lục I: a day below 10 and months 1 and 2 take a leading zero."""
    assert date_line(when) == line
    assert date_line(when, "Khánh Phú") == f"Khánh Phú, {line}"


def test_a_class_list_is_ordered_by_given_name_in_the_vietnamese_alphabet() -> None:
    names = ["Hoàng Yến", "Lê Văn Bình", "Trần Đức", "Nguyễn Thị Bảo", "Phạm Dũng", "Vũ Thị Ánh", "Đỗ An", "Lê An"]
    assert sorted(names, key=name_order) == [
        "Đỗ An",  # the same given name, then the rest of the name: Đ comes after D, before L
        "Lê An",
        "Vũ Thị Ánh",
        "Nguyễn Thị Bảo",
        "Lê Văn Bình",
        "Phạm Dũng",
        "Trần Đức",
        "Hoàng Yến",
    ]


def test_the_installed_collation_is_icus() -> None:
    """The test command installs PyICU: names are compared by ICU itself there."""
    assert vietnamese.uses_icu()


_SYLLABLE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐĂÂÊÔƠƯ",
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SYLLABLE, min_size=2, max_size=8))
def test_without_icu_names_sort_as_icu_sorts_them(words: list[str]) -> None:
    """The rules used where ICU is not installed give ICU's order for Vietnamese letters and tones."""
    assert sorted(words, key=_fallback_key) == sorted(words, key=collation_key)
