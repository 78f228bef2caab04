"""The subject teacher signs the class sheet of a term (Điều 18.3), the homeroom teacher the class's
term record (Điều 18.4): prepared by the service, signed on the teacher's side, checked here."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.base import vietnamese
from ledger.base.clock import VN_TZ
from ledger.base.errors import Conflict, Refused
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.calendar.checks import entry_still_open, period_open
from ledger.school.calendar.model import Window
from ledger.school.class_sheets.queries import part_digest, sheet_document
from ledger.school.class_sheets.tables import CLASS_TERM_SIGNED, RULE, SHEET_SIGNED, TERM_RULE
from ledger.school.class_sheets.terms import incomplete, term_document
from ledger.school.rules import identity
from ledger.school.rules.roles import Role
from ledger.school.signatures.certificates import registered_certificate
from ledger.school.signatures.commands import (
    check_in_place,
    checked_signing_time,
    parse_submitted,
    signing_actor,
    substituted,
)
from ledger.school.signatures.substitutes import Substitution
from ledger.school.years.queries import holds
from ledger.school.years.tables import classes, subjects
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify


def _refuse(code: str, vi: str, en: str, field: str = "document") -> Refused:
    return Refused(code, vi, en, field=field, rule=RULE)


async def _missing(conn: AsyncConnection, school: str, year: str, class_id: str, part: Any) -> list[str]:
    """The pupils of the sheet without every assessment of the term: each regular one the subject's
    periods call for, the mid-term and the end-of-term (TT22 Đ.6, Đ.7)."""
    [row] = await read(conn, classes, school, year=year, class_id=class_id)
    [subject] = await read(conn, subjects, school, year=year, code=part.get("Mon"), grade=row["grade"])
    due = int(subject["regular_count"]) + 2
    return [
        pupil.get("HoTen") or pupil.get("SoDinhDanh", "")
        for pupil in part.iterfind(hocba_xml.tag("HocSinh"))
        if len(pupil.findall(hocba_xml.tag("Diem"))) < due
    ]


def _incomplete(names: list[str]) -> Refused:
    shown = ", ".join(names[:5]) + (f" và {len(names) - 5} học sinh khác" if len(names) > 5 else "")
    return _refuse(
        "sheet.incomplete",
        f"Bảng điểm còn thiếu điểm của {len(names)} học sinh ({shown}): chỉ ký khi đã nhập đủ các lần đánh "
        "giá của học kì.",
        f"The sheet lacks assessments of {len(names)} students: it is signed once every one is entered.",
        field="sheet",
    )


@dataclass(frozen=True)
class _Kind:
    """A class document and who signs it: the class sheet, or the class's term record."""

    role: Role
    event: str
    rule: str
    field: str
    noun: str  # as a refusal names it: "Bảng điểm này"
    noun_en: str
    signer: str  # "giáo viên bộ môn"


SHEET = _Kind(
    Role.SUBJECT_TEACHER, SHEET_SIGNED, RULE, "sheet", "Bảng điểm này", "This class sheet", "giáo viên bộ môn"
)
TERM = _Kind(
    Role.HOMEROOM_TEACHER,
    CLASS_TERM_SIGNED,
    TERM_RULE,
    "term",
    "Kết quả học kì này của lớp",
    "This term record",
    "giáo viên chủ nhiệm",
)


def _placeholder(root: Any, wrapper: str, kind: _Kind, in_place: dict[str, str] | None = None) -> bytes:
    """The document with room for the signer's signature, unless it is already signed and unchanged;
    `in_place` names who signs in a departed teacher's place, under which decision (Điều 18.5, 18.7)."""
    if hocba_xml.wrappers(root):
        raise Conflict(
            "signature.done",
            f"{kind.noun} đã được ký và chưa thay đổi.",
            f"{kind.noun_en} is already signed and has not changed since.",
            field=kind.field,
        )
    role = kind.role.value
    hocba_xml.add_placeholder(root, wrapper, role, hocba_xml.references_for(root, role), in_place)
    return hocba_xml.to_bytes(root)


def _what(class_id: str, part: Any) -> tuple[str, str]:
    """What a refusal says is being signed: the subject's sheet, or the class's term record."""
    name = part.get("TenMon") or part.get("Mon")
    if name:
        return f"bảng điểm môn {name} lớp {class_id}", f"the {name} sheet of {class_id}"
    return f"kết quả học kì của lớp {class_id}", f"the term record of {class_id}"


async def _entry_over(
    conn: AsyncConnection, school: str, year: str, class_id: str, part: Any, now: datetime
) -> tuple[Window | None, Refused | None]:
    """Điều 18.3, 18.4: a term's results are signed once they can no longer change by entry (the
    term's window closed, or entry locked on the principal's order): the window still open and the
    refusal, or (None, None)."""
    term = int(part.get("HocKy", "0"))
    window = await entry_still_open(conn, school, year, term, now, class_id=class_id, subject=part.get("Mon"))
    return window, None if window is None else period_open(window, term, _what(class_id, part))


async def prepare_sheet(
    conn: AsyncConnection, school: str, year: str, class_id: str, subject: str, term: Any, now: datetime
) -> bytes:
    """The class sheet with room for the subject teacher's signature, once it may be signed: every
    pupil's assessments entered, and entry over (Điều 18.3)."""
    root, _ = await sheet_document(conn, school, year, class_id, subject, term)
    part = root[0]
    if not hocba_xml.wrappers(root):
        missing = await _missing(conn, school, year, class_id, part)
        if missing:
            raise _incomplete(missing)
        _, refusal = await _entry_over(conn, school, year, class_id, part, now)
        if refusal is not None:
            raise refusal
    today = now.astimezone(VN_TZ).date().isoformat()
    wrapper = f"ck-{part.get('Lop', '').lower()}-{part.get('Mon', '').lower()}-{part.get('HocKy')}-{today}"
    return _placeholder(root, wrapper, SHEET)


async def prepare_term(
    conn: AsyncConnection,
    school: str,
    year: str,
    class_id: str,
    term: Any,
    now: datetime,
    *,
    substitution: Substitution | None = None,
    signer: str | None = None,
) -> bytes:
    """The class's term record with room for the homeroom teacher's signature (Điều 18.4), once it may
    be signed: complete, and the class's entry over. With `substitution`, `signer` signs it in the
    place of the homeroom teacher who left, citing the decision (Điều 18.5, 18.7)."""
    root, _ = await term_document(conn, school, year, class_id, term)
    part = root[0]
    if not hocba_xml.wrappers(root):
        refusal = await term_refusal(conn, school, year, class_id, part, now)
        if refusal is not None:
            raise refusal
    day = now.astimezone(VN_TZ).date()
    in_place = await substituted(
        conn, school, substitution, signer, TERM.role.value, part.get("Nam", year), part.get("Lop", class_id), None, day
    )
    wrapper = f"ck-{part.get('Lop', '').lower()}-hk{part.get('HocKy')}-{day.isoformat()}"
    return _placeholder(root, wrapper, TERM, in_place)


async def term_refusal(
    conn: AsyncConnection, school: str, year: str, class_id: str, part: Any, now: datetime
) -> Refused | None:
    """Why the class's term record `part` cannot be signed now (Điều 18.4): something missing, or
    entry of the class still open; None when it can."""
    return incomplete(part) or (await _entry_over(conn, school, year, class_id, part, now))[1]


async def _held_refusal(session: SchoolSession, year: str, class_id: str, part: Any) -> Refused | None:
    """On the append path: the entry rule at the session's moment, which changes when the window closes."""
    window, refusal = await _entry_over(session.conn, session.school, year, class_id, part, session.now())
    if window is not None:
        session.changes_at(window.closes)
    return refusal


Held = tuple[Any, dict[str, Any], Refused | None, dict[str, Any]]


async def _record(
    ledger: Ledger,
    school: str,
    actor: Actor,
    kind: _Kind,
    signed: bytes,
    keys: tuple[Sequence[x509.Certificate], Sequence[x509.CertificateRevocationList]],
    held: Callable[[SchoolSession], Awaitable[Held]],
    substitution: Substitution | None = None,
) -> Event:
    """Check the one new signature in the `signed` document against the document as the ledger holds
    it, and record it. `held` gives that document, the assignment its signer holds, why it cannot be
    signed yet (None: complete) and what names it in the event. Checked: not yet signed, complete (on
    the append path too: a document prepared elsewhere is refused the same way), the right references,
    the signature itself, its time, a registered certificate of the signer, who held the assignment
    on the day they signed, or, in a departed teacher's place, that the substitution stands that day and
    the signature states it in its signed properties (Điều 18.5, 18.7)."""
    submitted = parse_submitted(signed)
    role = kind.role.value

    async def decide(session: SchoolSession) -> list[NewEvent]:
        root, assignment, refusal, named = await held(session)
        if hocba_xml.wrappers(root):
            raise Conflict("signature.done", f"{kind.noun} đã được ký.", f"{kind.noun_en} is already signed.")
        if refusal is not None:
            raise refusal
        new = hocba_xml.wrappers(submitted)
        expected = hocba_xml.references_for(root, role)
        if len(new) != 1 or new[0].get("VaiTro") != role:
            raise Refused(
                "signature.count",
                f"Cần đúng một chữ ký của {kind.signer}.",
                f"Exactly one signature, by the {role.lower().replace('_', ' ')}, is expected.",
                field="document",
                rule=kind.rule,
            )
        if (new[0].get("ThamChieu") or "").split() != expected:
            raise Refused(
                "signature.references",
                f"Chữ ký phải tham chiếu đúng phần được ký ({' '.join(expected)}).",
                f"The signature must reference exactly {' '.join(expected)}.",
                field="document",
                rule=kind.rule,
            )
        wrapper = new[0]
        container = root.find(hocba_xml.tag("ChuKySo"))
        assert container is not None
        container.append(wrapper)
        report = await xml_verify.verify_signature(hocba_xml.to_bytes(root), 0, *keys)
        signed_at = checked_signing_time(session, report, kind.rule)
        certificate = await registered_certificate(session, wrapper, signed_at)
        day, user = signed_at.astimezone(VN_TZ).date(), str(actor.user)
        year, class_id, subject = assignment["year"], assignment["class_id"], assignment.get("subject")
        conn, here = session.conn, session.school
        in_place = await substituted(conn, here, substitution, user, role, year, class_id, subject, day)
        check_in_place(in_place, hocba_xml.substitution_of(wrapper), report.on_behalf_of)
        entitled = in_place is not None or await holds(session, user, kind.role, day, **assignment)
        if certificate["holder"] != user or not entitled:
            scope = " ".join(str(value) for value in assignment.values())
            raise Refused(
                "signature.not_assigned",
                f"{user} không phải {kind.signer} ({scope}) vào ngày {vietnamese.day(day)}, "
                "hoặc chứng thư số không phải của người này.",
                f"{user} was not the {role.lower().replace('_', ' ')} ({scope}) on {day.isoformat()}, "
                "or the certificate is not theirs.",
                field="actor",
                rule=kind.rule,
            )
        payload = {
            **named,
            "signer": user,
            "fingerprint": certificate["fingerprint"],
            "signing_time": report.signing_time,
            "digest": part_digest(root[0]),
            "wrapper_id": wrapper.get("Id"),
            "element": base64.b64encode(hocba_xml.canonical(wrapper)).decode(),
        }
        if in_place is not None:  # Điều 18.5, 18.7: whose part, under which decision
            payload |= {"on_behalf_of": in_place["ThayMat"], "decision": in_place["QuyetDinh"]}
        departed = in_place["ThayMat"] if in_place else None
        return [NewEvent(kind.event, payload, signing_actor(actor, role, departed))]

    [event] = await ledger.decide(school, decide)
    return event


async def submit_sheet(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    class_id: str,
    subject: str,
    term: Any,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
) -> Event:
    """Check the subject teacher's signature over the class sheet and record it."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)
    code = subject.strip().upper()

    async def held(session: SchoolSession) -> Held:
        root, _ = await sheet_document(session.conn, session.school, year, class_id, code, term_no)
        missing = await _missing(session.conn, session.school, year, class_id, root[0])
        named = {"year": year, "class": class_id, "subject": code, "term": term_no}
        assignment = {"year": year, "class_id": class_id, "subject": code, "term": term_no}
        refusal = _incomplete(missing) if missing else await _held_refusal(session, year, class_id, root[0])
        return root, assignment, refusal, named

    return await _record(ledger, school, actor, SHEET, signed, (trusted_roots, crls), held)


async def submit_term(
    ledger: Ledger,
    school: str,
    actor: Actor,
    year: str,
    class_id: str,
    term: Any,
    signed: bytes,
    trusted_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    substitution: Substitution | None = None,
) -> Event:
    """Check the homeroom teacher's signature over the class's term record and record it (Điều 18.4);
    with `substitution`, a signature in the place of the homeroom teacher who left (Điều 18.5, 18.7)."""
    year, class_id, term_no = identity.school_year(year), identity.class_id(class_id), identity.term(term)

    async def held(session: SchoolSession) -> Held:
        root, _ = await term_document(session.conn, session.school, year, class_id, term_no)
        named = {"year": year, "class": class_id, "term": term_no}
        refusal = incomplete(root[0]) or await _held_refusal(session, year, class_id, root[0])
        return root, {"year": year, "class_id": class_id}, refusal, named

    return await _record(ledger, school, actor, TERM, signed, (trusted_roots, crls), held, substitution)
