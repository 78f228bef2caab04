"""Rendering the học bạ: page 1 identifies the student, then one page per school year with the subjects,
the learning and conduct results, the homeroom teacher's comment and the principal's approval."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import segno
import typst

from ledger.base import vietnamese
from signing.pdf.layout import FONTS_DIR, LAYOUT, TEMPLATE, PdfError

# Rendering


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _date_vi(value: Any) -> str:
    """'2026-05-31' → '31/05/2026'; anything else as given."""
    try:
        return vietnamese.day(date.fromisoformat(str(value)))
    except ValueError:
        return _text(value)


def _figure(value: Any) -> str:
    """A score or an average as the form prints it, with a decimal comma ('8.5' → '8,5'); a level,
    Đ or CĐ as given."""
    return vietnamese.number(_text(value))


_ADMIN_PREFIX = re.compile(r"^(huyện|quận|thị xã|thành phố|tỉnh|xã|phường|thị trấn)\s+", re.IGNORECASE)


def _place_date(school: Mapping[str, Any], principal: Mapping[str, Any]) -> str:
    """The place and date line above the principal's title, e.g. 'Yên Khánh, ngày 31 tháng 5 năm 2026'."""
    place = _ADMIN_PREFIX.sub("", _text(school.get("district")).strip()) or _text(school.get("province")).strip()
    try:
        return vietnamese.date_line(date.fromisoformat(_text(principal.get("date"))), place)
    except ValueError:
        day = "ngày ..... tháng ..... năm ........"
    return f"{place}, {day}" if place else day


def corrections_line(corrections: Mapping[str, Any] | None) -> str:
    """The form's corrections line under the subjects table."""
    corrections = corrections or {}
    total = corrections.get("total") or 0
    subjects = ", ".join(_text(s) for s in corrections.get("subjects") or []) if total else ""
    return f"Trong bảng này có sửa chữa ở: {total} chỗ, thuộc các môn: {subjects}"


def in_place_line(signed: Mapping[str, Any]) -> str:
    """A signature made in a departed teacher's place (Điều 18.5, 18.7), by name, as the form says it."""
    by, of, decision = (_text(signed.get(k)) for k in ("by", "for", "decision"))
    return f"Ký thay: {by} thay mặt {of}, theo {decision}"


def _year_view(year: Mapping[str, Any], school: Mapping[str, Any]) -> dict[str, Any]:
    def results(value: Mapping[str, Any] | None) -> list[str]:
        value = value or {}
        return [_text(value.get(k)) for k in ("1", "2", "year", "after_summer")]

    absences = year.get("absences") or {}
    principal = year.get("principal") or {}
    in_place = year.get("in_place") or []
    return {
        "year": _text(year.get("year")),
        "class": _text(year.get("class")),
        "grade": _text(year.get("grade")),
        "school_name": _text(year.get("school_name") or school.get("name")),
        "subjects": [
            [
                _text(s.get("name")),
                *(_figure(s.get(k)) for k in ("term1", "term2", "year", "reassessment")),
                _text(s.get("comment")),
            ]
            for s in year.get("subjects") or []
        ],
        "learning": results(year.get("learning")),
        "conduct": results(year.get("conduct")),
        "excused": _text(absences.get("excused")),
        "unexcused": _text(absences.get("unexcused")),
        "homeroom_comment": _text(year.get("homeroom_comment")),
        "homeroom_teacher": _text(year.get("homeroom_teacher")),
        "homeroom_in_place": [in_place_line(s) for s in in_place if s.get("role") == "HOMEROOM_TEACHER"],
        "subjects_in_place": [
            f"Môn {_text(s.get('subject'))}: {in_place_line(s)}" for s in in_place if s.get("role") == "SUBJECT_TEACHER"
        ],
        "promotion": _text(year.get("promotion")),
        "award": _text(year.get("award")),
        "corrections": corrections_line(year.get("corrections")),
        "place_date": _place_date(school, principal),
        "principal": _text(principal.get("name")),
    }


def qr_svg(text: str) -> str:
    """The QR code of `text` as SVG: error correction level M at least, with its quiet zone of four
    modules; the same text always gives the same drawing."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", xmldecl=False, border=4)
    return out.getvalue().decode()


def _verification(part: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The verification code, the portal's address and the QR code of its lookup (`url`), as the
    ledger gives them; None when the model has none (nothing is printed then)."""
    if not part:
        return None
    return {"code": _text(part.get("code")), "portal": _text(part.get("portal")), "qr": qr_svg(_text(part.get("url")))}


def _view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template prints, as strings (an absent value prints as an empty cell)."""
    school = doc.get("school") or {}
    student = doc.get("student") or {}
    years = doc.get("years") or []
    return {
        "hocba_id": _text(doc.get("hocba_id")),
        "verification": _verification(doc.get("verification")),
        "school": {k: _text(school.get(k)) for k in ("id", "name", "province", "district")},
        "student": {
            **{
                k: _text(student.get(k))
                for k in ("student_id", "full_name", "gender", "ethnicity", "birth_place", "address", "guardian")
            },
            "birth_date": _date_vi(student.get("birth_date")),
        },
        "years": [_year_view(y, school) for y in years],
        "layout": LAYOUT.to_json(),
    }


def render_hocba(doc: Mapping[str, Any]) -> bytes:
    """The học bạ as PDF: the identity page, then one page per school year. The same document gives
    the same bytes (no creation date is embedded). The document's "verification" part, when it has
    one ({"code", "portal", "url"}, made by the ledger, which alone knows the secret behind the
    code), prints at the foot of the identity page: the code, the portal's address and a QR code of
    `url`."""
    data = json.dumps(_view(doc), ensure_ascii=False, sort_keys=True)
    try:
        pdf = typst.compile(
            str(TEMPLATE),
            root=str(TEMPLATE.parent),
            font_paths=[str(FONTS_DIR)],
            ignore_system_fonts=True,
            sys_inputs={"data": data},
            format="pdf",
        )
    except RuntimeError as exc:
        if "hocba-overflow" in str(exc):
            raise PdfError(
                "a school year's page is too long for the form (too many subjects or long comments)"
            ) from exc
        raise PdfError(f"the học bạ template did not compile: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise PdfError("the học bạ template produced no PDF")
    return pdf
