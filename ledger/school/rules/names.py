"""Names as people type them: a subject, a class or a term given by its Vietnamese name or by its code
("Toán", "toán", "TOAN"; "Ngữ văn"; "lớp 6a1"; "HK I", "Học kì 1", "II"). One resolver for the command
line, the API and the pages; it knows no database, the caller hands it the catalogue it reads."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ledger.base.errors import ValidationError

_TERM_WORDS = re.compile(r"^(?:hoc_?k[iy]|hk|ky|ki|term|semester)?_?(i{1,2}|[12])$")
_CLASS_PREFIX = re.compile(r"^(?:lớp|lop|class)\s*:?\s*", re.IGNORECASE)


def name_key(text: str) -> str:
    """'Họ và tên' → 'ho_va_ten': NFC or NFD alike, no diacritics, lowercase, words joined by '_'."""
    folded = unicodedata.normalize("NFD", text.strip()).replace("đ", "d").replace("Đ", "D")
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def term_number(value: Any, field: str = "term") -> int:
    """1 or 2 from "1", "I", "HK1", "HK I", "Học kì 1", "Học kỳ II", "kỳ 2"…"""
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2):
        return value
    match = _TERM_WORDS.fullmatch(name_key(value)) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            "term.invalid",
            "học kì là 1 hoặc 2 (ví dụ: 1, I, HK I, Học kì 1)",
            "the term is 1 or 2 (e.g. 1, I, HK I, Học kì 1)",
            field=field,
        )
    word = match.group(1)
    return {"i": 1, "ii": 2}.get(word) or int(word)


def class_text(value: Any) -> Any:
    """'lớp 6a1' → '6a1' (the class id's own check follows)."""
    return _CLASS_PREFIX.sub("", value.strip()) if isinstance(value, str) else value


def subject_code(value: Any, catalogue: Mapping[str, str], *, field: str = "subject", year: str = "") -> str:
    """The catalogue code of a subject named by its code or its name, without regard to case, spaces
    or diacritics (`catalogue`: code → name). An unknown subject is refused, naming the ones there are."""
    key = name_key(value) if isinstance(value, str) else ""
    for code, name in catalogue.items():
        if key and key in (name_key(code), name_key(name)):
            return code
    where_vi = f" năm học {year}" if year else ""
    where_en = f" of {year}" if year else ""
    there = ", ".join(f"{name} ({code})" for code, name in sorted(catalogue.items(), key=lambda item: item[1]))
    raise ValidationError(
        "subject.unknown",
        f"không có môn '{value}' trong danh mục{where_vi} (có: {there or 'chưa có môn nào'})",
        f"no subject '{value}' in the catalogue{where_en} (there are: {there or 'none yet'})",
        field=field,
    )
