"""Names as people type them: one resolver for subjects, classes and terms, by name or by code."""

from __future__ import annotations

import pytest

from ledger.base.errors import ValidationError
from ledger.school.rules import identity, names

CATALOGUE = {"TOAN": "Toán", "NGU_VAN": "Ngữ văn", "NGOAI_NGU_1": "Ngoại ngữ 1"}


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("TOAN", "TOAN"),
        ("toan", "TOAN"),
        ("Toán", "TOAN"),
        ("toán", "TOAN"),
        ("TOÁN", "TOAN"),
        ("Ngữ văn", "NGU_VAN"),
        ("ngữ  văn", "NGU_VAN"),
        ("ngu_van", "NGU_VAN"),
        ("Ngoại ngữ 1", "NGOAI_NGU_1"),
    ],
)
def test_a_subject_is_found_by_its_code_or_its_name(typed: str, code: str) -> None:
    assert names.subject_code(typed, CATALOGUE) == code


def test_an_nfd_name_is_the_same_name() -> None:
    import unicodedata

    assert names.subject_code(unicodedata.normalize("NFD", "Ngữ văn"), CATALOGUE) == "NGU_VAN"


def test_an_unknown_subject_names_the_ones_there_are() -> None:
    with pytest.raises(ValidationError) as caught:
        names.subject_code("Toan hoc", CATALOGUE, year="2025-2026")
    assert caught.value.code == "subject.unknown"
    assert (
        "Toán (TOAN)" in caught.value.vi and "Ngữ văn (NGU_VAN)" in caught.value.vi and "2025-2026" in caught.value.vi
    )


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        (1, 1),
        ("1", 1),
        ("I", 1),
        ("HK I", 1),
        ("HKI", 1),
        ("hk1", 1),
        ("Học kì 1", 1),
        ("Học kỳ I", 1),
        ("học kỳ II", 2),
        ("HK 2", 2),
        ("II", 2),
        (2, 2),
    ],
)
def test_a_term_is_read_as_people_write_it(typed: object, term: int) -> None:
    assert identity.term(typed) == term


@pytest.mark.parametrize("typed", ["3", "III", "HK3", "", True, None])
def test_no_third_term(typed: object) -> None:
    with pytest.raises(ValidationError):
        identity.term(typed)


def test_a_class_may_be_typed_in_lower_case_and_with_its_word() -> None:
    assert identity.class_id("6a1") == "6A1" and identity.class_id("Lớp 6A1") == "6A1"
