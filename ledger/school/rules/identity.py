"""Identifiers and personal details as the sector database holds them, with their validation.

The personal identifier (số định danh cá nhân, the citizen ID number) has 12 digits: a 3-digit
province code of birth registration, a digit for century and sex, the last two digits of the year of
birth, and a 6-digit serial (Thông tư 07/2016/TT-BCA, Điều 7). The Ministry student code (mã học
sinh) has 10 digits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from ledger.base import vietnamese
from ledger.base.errors import ValidationError
from ledger.school.rules import names

PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)
GENDERS = ("Nam", "Nữ")
_CENTURY_BASE = {0: 1900, 2: 2000, 4: 2100, 6: 2200, 8: 2300}
_MOBILE = re.compile(r"^0[35789]\d{8}$")
_STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_CLASS_ID = re.compile(r"^[6-9][A-Za-z0-9]{1,7}$")
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _invalid(code: str, field: str, vi: str, en: str) -> ValidationError:
    return ValidationError(code, vi, en, field=field)


def nfc(value: str) -> str:
    """Vietnamese text in one Unicode form (NFC), trimmed, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def text(value: Any, field: str, *, required: bool = True, limit: int = 200) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid("text.required", field, "không được để trống", "is required")
        return None
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        raise _invalid(
            "text.invalid",
            field,
            f"phải là văn bản tối đa {limit} ký tự, không có ký tự điều khiển",
            f"must be text of at most {limit} characters, without control characters",
        )
    return nfc(value)


def personal_id(value: Any, field: str = "student", *, birth: date | None = None, gender: str | None = None) -> str:
    """Validate a 12-digit personal identifier; with a date of birth and a gender, check that they
    agree with its century/sex digit and year digits."""
    raw = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{12}", raw):
        raise _invalid(
            "personal_id.format",
            field,
            "số định danh cá nhân phải gồm đúng 12 chữ số",
            "the personal identifier has exactly 12 digits",
        )
    if raw[:3] not in PROVINCE_CODES:
        raise _invalid(
            "personal_id.province",
            field,
            f"mã tỉnh {raw[:3]} ở 3 chữ số đầu không tồn tại",
            f"the province code {raw[:3]} in the first three digits does not exist",
        )
    century_digit = int(raw[3])
    base = _CENTURY_BASE[century_digit - century_digit % 2]
    if birth is not None and base + int(raw[4:6]) != birth.year:
        raise _invalid(
            "personal_id.birth_year",
            field,
            f"số định danh ghi năm sinh {base + int(raw[4:6])}, không khớp ngày sinh {vietnamese.day(birth)}",
            f"the identifier encodes birth year {base + int(raw[4:6])}, which does not match {birth.isoformat()}",
        )
    if gender is not None and GENDERS[century_digit % 2] != gender:
        raise _invalid(
            "personal_id.gender",
            field,
            f"chữ số thứ tư của số định danh chỉ giới tính {GENDERS[century_digit % 2]}, không phải {gender}",
            f"the fourth digit encodes sex {GENDERS[century_digit % 2]}, not {gender}",
        )
    return raw


def ministry_code(value: Any, field: str = "ministry_code") -> str:
    raw = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{10}", raw):
        raise _invalid(
            "ministry_code.format",
            field,
            "mã học sinh của Bộ phải gồm đúng 10 chữ số",
            "the Ministry student code has exactly 10 digits",
        )
    return raw


def gender(value: Any, field: str = "gender") -> str:
    if isinstance(value, str):
        normal = nfc(value).casefold()
        for choice in GENDERS:
            if normal == choice.casefold():
                return choice
    raise _invalid("gender.invalid", field, "giới tính là Nam hoặc Nữ", "gender is Nam or Nữ")


def parse_date(value: Any, field: str) -> date:
    """ISO dates (2012-09-05) and Vietnamese dd/mm/yyyy (05/09/2012)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        raw = value.strip()
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
        try:
            if match:
                return date(int(match[3]), int(match[2]), int(match[1]))
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise _invalid(
        "date.invalid", field, "ngày phải có dạng dd/mm/yyyy hoặc yyyy-mm-dd", "a date is dd/mm/yyyy or yyyy-mm-dd"
    )


_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def email(value: Any, field: str = "email") -> str:
    """An e-mail address to send a family's notices to, as one address (no display name), its
    domain in lower case."""
    raw = value.strip() if isinstance(value, str) else ""
    if len(raw) > 254 or not _EMAIL.match(raw):
        raise _invalid(
            "email.invalid",
            field,
            "địa chỉ thư điện tử không hợp lệ (ví dụ: ten@example.vn)",
            "not an e-mail address (e.g. name@example.vn)",
        )
    local, domain = raw.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def phone(value: Any, field: str = "phone") -> str:
    """A Vietnamese mobile number, normalised to 0xxxxxxxxx (+84 and spaces accepted)."""
    raw = re.sub(r"[\s.-]", "", str(value)) if isinstance(value, (str, int)) else ""
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) == 11:
        raw = "0" + raw[2:]
    if not _MOBILE.match(raw):
        raise _invalid(
            "phone.invalid",
            field,
            "số điện thoại di động phải có 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09",
            "a mobile number has 10 digits starting 03, 05, 07, 08 or 09",
        )
    return raw


def sha256_hex(value: Any, field: str) -> str:
    """A SHA-256 digest written as 64 lowercase hex digits (an attachment's, a decision's)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value.strip().lower()):
        return value.strip().lower()
    raise _invalid("sha256.invalid", field, "mã băm SHA-256 gồm 64 chữ số hex", "a SHA-256 hash is 64 hex digits")


def staff_id(value: Any, field: str = "staff") -> str:
    if isinstance(value, str) and _STAFF_ID.match(value.strip().lower()):
        return value.strip().lower()
    raise _invalid(
        "staff.invalid",
        field,
        "mã cán bộ gồm chữ thường, số, '.', '_' hoặc '-'",
        "a staff id is lowercase letters, digits, '.', '_' or '-'",
    )


def class_id(value: Any, field: str = "class") -> str:
    value = names.class_text(value)
    if isinstance(value, str) and _CLASS_ID.match(value.strip()):
        return value.strip().upper()
    raise _invalid(
        "class.invalid",
        field,
        "mã lớp bắt đầu bằng khối 6–9, ví dụ 6A1",
        "a class id starts with its grade 6–9, e.g. 6A1",
    )


def school_year(value: Any, field: str = "year") -> str:
    match = _YEAR.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or int(match[2]) != int(match[1]) + 1 or not 1900 <= int(match[1]) < 3000:
        raise _invalid("year.invalid", field, "năm học có dạng 2025-2026", "a school year looks like 2025-2026")
    return f"{match[1]}-{match[2]}"


def term(value: Any, field: str = "term") -> int:
    """1 or 2, also as people write it: "I", "HK I", "Học kì 1" (ledger.school.rules.names)."""
    return names.term_number(value, field)
