"""Signing in a departed teacher's place (Điều 18.5, 18.7): when the subject teacher or the homeroom
teacher who should sign a part has left (their assignment ended), the teacher holding that class (and
subject) at the end of the year, or the principal, signs it in their place, citing the decision. Who
may, and for whom, is judged from the assignments on the signing day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base.errors import Refused, ValidationError
from ledger.log.projection import read
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.years.tables import assignments, staff

RULE = "Điều 18.5, 18.7"
PARTS = {"SUBJECT_TEACHER": "bộ môn", "HOMEROOM_TEACHER": "chủ nhiệm"}


@dataclass(frozen=True)
class Substitution:
    """A request to sign in `on_behalf_of`'s place (their staff id), citing `decision`."""

    on_behalf_of: str
    decision: str

    @staticmethod
    def of(on_behalf_of: Any, decision: Any) -> Substitution | None:
        """From a request's fields: none when neither is given; both are needed together."""
        if on_behalf_of in (None, "") and decision in (None, ""):
            return None
        person = identity.text(on_behalf_of, "on_behalf_of", limit=100)
        cited = identity.text(decision, "decision", limit=300)
        return Substitution(str(person), str(cited))


def _refused(code: str, vi: str, en: str) -> Refused:
    return Refused(code, vi, en, field="on_behalf_of", rule=RULE)


def _current(row: dict[str, Any], day: date) -> bool:
    """In force that day; a grant waiting for the principal's approval holds nothing."""
    return bool(not row["pending"] and row["valid_from"] <= day and (row["valid_to"] is None or day <= row["valid_to"]))


async def _rows(conn: AsyncConnection, school: str, **filters: Any) -> list[dict[str, Any]]:
    return [r for r in await read(conn, assignments, school, **{k: v for k, v in filters.items() if v is not None})]


async def _name(conn: AsyncConnection, school: str, staff_id: str) -> str:
    rows = await read(conn, staff, school, staff_id=staff_id)
    return str(rows[0]["full_name"]) if rows and rows[0]["full_name"] else staff_id


async def check_substitution(
    conn: AsyncConnection,
    school: str,
    substitution: Substitution,
    *,
    signer: str,
    role: str,
    year: str,
    class_id: str,
    subject: str | None,
    day: date,
) -> dict[str, str]:
    """The KyThay a signature in `substitution.on_behalf_of`'s place carries (Điều 18.5, 18.7), once
    it is checked that: the part is a subject teacher's or the homeroom teacher's; the person replaced
    held it (for this class, and subject) this year and no longer does on `day`; and `signer` is the
    principal, or holds that part themselves on `day`."""
    departed = substitution.on_behalf_of
    if role not in PARTS:
        raise _refused(
            "signature.substitute_role",
            "Chỉ phần của giáo viên bộ môn hoặc giáo viên chủ nhiệm mới được ký thay (Điều 18.5, 18.7).",
            "Only a subject teacher's or the homeroom teacher's part may be signed in another's place.",
        )
    part = f"{PARTS[role]} {subject + ' ' if subject else ''}lớp {class_id}"
    if departed == signer:
        raise _refused(
            "signature.substitute_self", "Không thể ký thay chính mình.", "One cannot sign in one's own place."
        )
    subject = subject if role == "SUBJECT_TEACHER" else None
    scope = {"role": role, "year": year, "class_id": class_id, "subject": subject}
    held = await _rows(conn, school, staff_id=departed, **scope)
    if not held:
        raise _refused(
            "signature.substitute_not_held",
            f"{departed} không được phân công {part} năm học {year}, nên không có phần nào để ký thay.",
            f"{departed} was never assigned {role} of class {class_id} ({subject or '-'}) in {year}: nothing to sign "
            "in their place.",
        )
    if any(_current(r, day) for r in held):
        raise _refused(
            "signature.substitute_still_assigned",
            f"{departed} vẫn đang được phân công {part} vào ngày {day:%d/%m/%Y}; người được phân công tự ký, "
            "chỉ ký thay khi giáo viên đã nghỉ việc hoặc chuyển công tác.",
            f"{departed} still holds {role} of class {class_id} on {day.isoformat()}: they sign themselves; a "
            "substitute signs only for a teacher who has left.",
        )
    principal = any(_current(r, day) for r in await _rows(conn, school, staff_id=signer, role=Role.PRINCIPAL.value))
    in_charge = any(_current(r, day) for r in await _rows(conn, school, staff_id=signer, **scope))
    if not (principal or in_charge):
        raise _refused(
            "signature.substitute_not_entitled",
            f"{signer} không phải hiệu trưởng, cũng không phụ trách {part} vào ngày {day:%d/%m/%Y}, nên không "
            "được ký thay.",
            f"{signer} is neither the principal nor in charge of {role} of class {class_id} on {day.isoformat()}: "
            "they may not sign in another's place.",
        )
    return {
        "NguoiKy": signer,
        "NguoiKyHoTen": await _name(conn, school, signer),
        "ThayMat": departed,
        "ThayMatHoTen": await _name(conn, school, departed),
        "QuyetDinh": substitution.decision,
    }


def missing_signer() -> ValidationError:
    return ValidationError(
        "signature.substitute_signer",
        "cần biết ai ký thay",
        "who signs in the other's place must be known",
        field="on_behalf_of",
        rule=RULE,
    )
