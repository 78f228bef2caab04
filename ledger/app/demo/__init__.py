"""A realistic school year for THCS Khánh Phú, generated deterministically through the real commands
(so every rule applies): classes in grades 6–9, all subjects of the GDPT 2018 catalogue, staff and
assignments, a full year of assessments, conduct and absences, a few correction requests, then the
summer re-assessments and summer training; and, for the complete demo, demo certificates for every
signer, every signature in order, made the way a signer makes it (prepare on the service, sign on
the signer's side, submit), and the issuance of every học bạ. Used by the test suite (small) and by
`hocba demo`."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.app.runtime import checkpoint_policy_for, demo_time_stamper, verification_for
from ledger.app.service_keys import ServiceKeys
from ledger.base.clock import VN_TZ, ManualClock
from ledger.base.settings import Settings
from ledger.format.envelope import Actor, Event
from ledger.log.append import Ledger
from ledger.log.checkpointing import CheckpointPolicy
from ledger.log.projection import read
from ledger.school.assessments.commands import (
    SheetEntry,
    record_absences,
    record_conduct,
    record_homeroom_comments,
    record_reassessments,
    record_sheet,
    record_summer_conduct,
)
from ledger.school.assessments.tables import assessments
from ledger.school.calendar.commands import set_calendar
from ledger.school.calendar.model import default_calendar
from ledger.school.corrections.commands import decide_request, file_request
from ledger.school.corrections.model import assessment_target
from ledger.school.issuance.commands import issue_hocba, issue_hocbas
from ledger.school.readmodels import school_ledger
from ledger.school.rules.roles import Role
from ledger.school.rules.tt22 import Kind, Promotion, required_regular
from ledger.school.schools.commands import registration
from ledger.school.signatures.certificates import register_certificate
from ledger.school.signatures.commands import (
    prepare_signature,
    prepare_signatures,
    submit_pdf,
    submit_pdfs,
    submit_signature,
    submit_signatures,
)
from ledger.school.signatures.queries import Documents, current_signatures, load_documents, pdf_document, xml_document
from ledger.school.transcripts.verification import Verification
from ledger.school.transcripts.views import class_summary
from ledger.school.years.commands import (
    define_subjects,
    enrol,
    make_assignments,
    open_classes,
    open_year,
    register_staff,
    register_students,
)
from ledger.school.years.model import Assignment, Decision, SubjectDefinition, default_catalogue
from signing.x509.keys import DocumentSigner, Signer
from signing.x509.pki import Pki
from signing.xml import document as hocba_xml
from signing.xml import xades

SCHOOL_NAME = "Trường THCS Khánh Phú"
CALENDAR_ORDER = "Quyết định số 15/QĐ-THCS ngày 25/8/2025 của Hiệu trưởng về kế hoạch năm học 2025-2026"
YEAR = "2025-2026"
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Gia", "Thành", "Công"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Bảo", "Khánh"]
GIVEN_M = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khang",
    "Khôi",
    "Long",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tuấn",
    "Việt",
]
GIVEN_F = [
    "Anh",
    "Chi",
    "Diệp",
    "Giang",
    "Hà",
    "Hân",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "My",
    "Ngân",
    "Nhi",
    "Thảo",
    "Trang",
]
ETHNICITY = ["Kinh"] * 9 + ["Mường"]
COMMUNES = ["xã Khánh Phú", "xã Khánh An", "xã Khánh Cư", "thị trấn Yên Ninh"]

PRINCIPAL = Actor("ht.doanthuy", Role.PRINCIPAL)
# The decision appointing the demo's principal (Điều 24.3, 33.2): a fictitious text, hashed as the
# real document would be.
APPOINTMENT_TEXT = "Quyết định số 1520/QĐ-SGDĐT ngày 28/07/2025 bổ nhiệm bà Đoàn Thị Thủy làm Hiệu trưởng trường THCS"
APPOINTMENT = Decision(
    "1520/QĐ-SGDĐT",
    "Sở Giáo dục và Đào tạo tỉnh Ninh Bình",
    date(2025, 7, 28),
    hashlib.sha256(APPOINTMENT_TEXT.encode()).hexdigest(),
)
VICE_PRINCIPAL = Actor("pht.nguyenvanhung", Role.LEADERSHIP)
CLERK = Actor("vt.nguyenthilan", Role.CLERK)
ADMIN = Actor("qt.tranvanminh", Role.ADMIN)
IT_REVIEWER = Actor("gv.phamducanh", Role.IT_REVIEWER)
STAFF_NAMES = {
    PRINCIPAL.user: "Đoàn Thị Thủy",
    VICE_PRINCIPAL.user: "Nguyễn Văn Hùng",
    CLERK.user: "Nguyễn Thị Lan",
    ADMIN.user: "Trần Văn Minh",
    IT_REVIEWER.user: "Phạm Đức Anh",
}


@dataclass
class DemoSchool:
    school: str
    year: str
    ledger: Ledger  # appends with the demo's clock
    clock: ManualClock
    classes: dict[str, int] = field(default_factory=dict)  # class -> grade
    rosters: dict[str, list[str]] = field(default_factory=dict)  # class -> students
    subject_teachers: dict[str, str] = field(default_factory=dict)  # subject -> staff id
    homeroom: dict[str, str] = field(default_factory=dict)  # class -> staff id
    names: dict[str, str] = field(default_factory=dict)  # student -> full name

    def teacher(self, subject: str) -> Actor:
        return Actor(self.subject_teachers[subject], Role.SUBJECT_TEACHER)

    def homeroom_teacher(self, class_id: str) -> Actor:
        return Actor(self.homeroom[class_id], Role.HOMEROOM_TEACHER)


def _moment(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def _student(rng: random.Random, grade: int, serial: int) -> dict[str, Any]:
    female = rng.random() < 0.5
    born = date(2025 - grade - 5, rng.randint(1, 12), rng.randint(1, 28))
    century_sex = (2 if born.year >= 2000 else 0) + (1 if female else 0)
    family = rng.choice(FAMILY)
    name = " ".join([family, rng.choice(MIDDLE_F if female else MIDDLE_M), rng.choice(GIVEN_F if female else GIVEN_M)])
    father = f"{family} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
    return {
        "student": f"037{century_sex}{born.year % 100:02d}{serial:06d}",
        "ministry_code": f"37{serial:08d}",
        "full_name": name,
        "gender": "Nữ" if female else "Nam",
        "date_of_birth": born.isoformat(),
        "birthplace": "Ninh Bình",
        "ethnicity": rng.choice(ETHNICITY),
        "residence": f"{rng.choice(COMMUNES)}, tỉnh Ninh Bình",
        "guardians": [{"full_name": father, "relation": "Cha", "phone": f"09{rng.randint(10_000_000, 99_999_999)}"}],
    }


def _score(rng: random.Random, ability: float) -> str:
    value = min(10.0, max(0.0, rng.gauss(ability, 0.9)))
    return str(Decimal(round(value * 2) / 2).quantize(Decimal("0.1")))


async def build_demo_school(
    engine: AsyncEngine,
    school: str,
    *,
    classes_per_grade: int = 1,
    students_per_class: int = 10,
    seed: int = 2025,
    terms: Sequence[int] = (1, 2),
    summer: bool = True,
    corrections: bool = False,
) -> DemoSchool:
    """Generate a school year, from the school's registration to the summer results, on a clock of its
    own that moves through the year (`terms=()`: only the school, its calendar, catalogue, staff,
    classes, students and assignments, with the clock left inside term I's entry window)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    clock = ManualClock(_moment(date(2025, 8, 15)))
    ledger = school_ledger(engine, clock=clock)
    demo = DemoSchool(school, YEAR, ledger, clock)
    await ledger.append(
        school,
        [
            registration(
                SCHOOL_NAME,
                ADMIN,
                ministry_code="27001",
                province="Ninh Bình",
                district="Yên Khánh",
                address="Xã Khánh Phú, huyện Yên Khánh",
            )
        ],
    )
    await open_year(ledger, school, PRINCIPAL, YEAR, "2025-09-05", "2026-05-31")
    catalogue = default_catalogue()
    await define_subjects(ledger, school, ADMIN, YEAR, catalogue)

    teachers = []
    for index, subject in enumerate(catalogue):
        staff_id = f"gv.{subject.code.lower().replace('_', '')}{index + 1:02d}"
        family, given = FAMILY[index % len(FAMILY)], GIVEN_F[index % len(GIVEN_F)]
        teachers.append({"staff": staff_id, "full_name": f"{family} Thị {given}", "phone": f"0912{index + 1:06d}"})
        demo.subject_teachers[subject.code] = staff_id
    people = [{"staff": sid, "full_name": name} for sid, name in STAFF_NAMES.items()] + teachers
    await register_staff(ledger, school, ADMIN, people)

    for grade in (6, 7, 8, 9):
        for number in range(1, classes_per_grade + 1):
            demo.classes[f"{grade}A{number}"] = grade
    await open_classes(ledger, school, ADMIN, YEAR, sorted(demo.classes.items()))

    serial = 1
    profiles, enrolment = [], []
    abilities: dict[str, float] = {}
    for class_id, grade in sorted(demo.classes.items()):
        demo.rosters[class_id] = []
        for _ in range(students_per_class):
            profile = _student(rng, grade, serial)
            serial += 1
            profiles.append(profile)
            enrolment.append((profile["student"], class_id, "2025-09-05"))
            demo.rosters[class_id].append(profile["student"])
            demo.names[profile["student"]] = profile["full_name"]
            abilities[profile["student"]] = rng.choice([9.2, 8.6, 8.0, 7.2, 6.5, 5.6, 4.6])
    await register_students(ledger, school, ADMIN, profiles)
    await enrol(ledger, school, ADMIN, YEAR, enrolment)

    start = date(2025, 8, 20)
    roles = [Assignment(PRINCIPAL.user, Role.PRINCIPAL, start, decision=APPOINTMENT)]
    roles += [Assignment(a.user, Role(a.role), start) for a in (VICE_PRINCIPAL, CLERK, ADMIN, IT_REVIEWER)]
    homerooms = [t["staff"] for t in teachers]
    subject_work = []
    for index, class_id in enumerate(sorted(demo.classes)):
        demo.homeroom[class_id] = homerooms[index % len(homerooms)]
        roles.append(Assignment(demo.homeroom[class_id], Role.HOMEROOM_TEACHER, start, None, YEAR, class_id))
        for subject in catalogue:
            for term in (1, 2):
                subject_work.append(
                    Assignment(
                        demo.subject_teachers[subject.code],
                        Role.SUBJECT_TEACHER,
                        start,
                        None,
                        YEAR,
                        class_id,
                        subject.code,
                        term,
                    )
                )
    await make_assignments(ledger, school, PRINCIPAL, roles + subject_work)
    clock.set(_moment(date(2025, 8, 25)))
    await set_calendar(ledger, school, PRINCIPAL, default_calendar(YEAR, CALENDAR_ORDER))

    entry_days = {1: date(2025, 12, 20), 2: date(2026, 5, 10)}
    if not terms:
        clock.set(_moment(date(2025, 10, 1)))
    for term in terms:
        clock.set(_moment(entry_days[term]))
        for class_id, grade in sorted(demo.classes.items()):
            for subject in catalogue:
                entries = _sheet_entries(rng, subject, grade, demo.rosters[class_id], abilities)
                await record_sheet(
                    ledger,
                    school,
                    demo.teacher(subject.code),
                    year=YEAR,
                    term=term,
                    class_id=class_id,
                    subject=subject.code,
                    entries=entries,
                )
            await _homeroom_term(demo, rng, abilities, class_id, term)
        if corrections and term == 1:
            await _corrections(demo)

    if summer and tuple(terms) == (1, 2):
        await _summer(ledger, demo, rng)
    return demo


def _sheet_entries(
    rng: random.Random, subject: SubjectDefinition, grade: int, students: Sequence[str], abilities: dict[str, float]
) -> list[SheetEntry]:
    """A class's sheet of one subject for a term: every regular assessment, mid-term and end-of-term,
    drawn around each student's ability, and a comment for some."""
    required = required_regular(subject.kind, subject.periods[grade])
    entries = []
    for student in students:
        ability = abilities[student]
        if subject.kind is Kind.SCORE:
            values: Sequence[str] = [_score(rng, ability) for _ in range(required + 2)]
        else:
            weak = ability < 5 and rng.random() < 0.3
            values = ["CĐ" if weak and k == required + 1 else "Đ" for k in range(required + 2)]
        entries += [SheetEntry(student, "regular", values[k], k + 1) for k in range(required)]
        entries += [SheetEntry(student, "midterm", values[-2]), SheetEntry(student, "final", values[-1])]
        if rng.random() < 0.2:
            entries.append(SheetEntry(student, "comment", "Có tiến bộ, cần phát huy."))
    return entries


async def _homeroom_term(
    demo: DemoSchool, rng: random.Random, abilities: dict[str, float], class_id: str, term: int
) -> None:
    """The homeroom teacher's term: conduct, absences and a comment for every student of the class; one
    student per class needs summer training, another misses 48 sessions in the year (not promoted)."""
    homeroom = demo.homeroom_teacher(class_id)
    conduct_entries = []
    absence_entries = []
    for position, student in enumerate(demo.rosters[class_id]):
        level = "Tốt" if abilities[student] >= 8 else "Khá" if abilities[student] >= 6 else "Đạt"
        if position == 3 and term == 2:
            level = "Chưa đạt"
        conduct_entries.append((student, level))
        absent = 24 if position == 5 else rng.randint(0, 4)
        absence_entries.append((student, absent // 2, absent - absent // 2))
    ledger, school = demo.ledger, demo.school
    await record_conduct(ledger, school, homeroom, year=YEAR, term=term, class_id=class_id, entries=conduct_entries)
    await record_absences(ledger, school, homeroom, year=YEAR, term=term, class_id=class_id, entries=absence_entries)
    comments = [(s, "Ngoan, chăm học, tích cực tham gia hoạt động tập thể.") for s in demo.rosters[class_id]]
    await record_homeroom_comments(
        ledger, school, homeroom, year=YEAR, period=str(term), class_id=class_id, entries=comments
    )


async def _corrections(demo: DemoSchool) -> None:
    """Two written requests after term I's entry (Điều 17.3): one approved by the principal, one
    rejected by the vice-principal."""
    demo.clock.set(_moment(date(2025, 12, 26)))
    first, second = sorted(demo.classes)[:2]
    for class_id, subject, student, approve in ((first, "TOAN", 0, True), (second, "NGU_VAN", 1, False)):
        pupil = demo.rosters[class_id][student % len(demo.rosters[class_id])]
        async with demo.ledger.engine.connect() as conn:
            [row] = await read(conn, assessments, demo.school, student_id=pupil, subject=subject, term=1, kind="final")
        new_value = "9.0" if row["value"] != "9.0" else "8.5"
        request = await file_request(
            demo.ledger,
            demo.school,
            demo.teacher(subject),
            assessment_target(YEAR, 1, class_id, subject, pupil, "final", None),
            old_value=row["value"],
            new_value=new_value,
            reason="Cộng nhầm điểm bài kiểm tra cuối kì; đã đối chiếu với bài làm của học sinh.",
        )
        leader = PRINCIPAL if approve else VICE_PRINCIPAL
        why = "Đồng ý, đã kiểm tra bài làm." if approve else "Không đủ căn cứ: điểm trên bài làm khớp với sổ."
        await decide_request(demo.ledger, demo.school, leader, request.payload["request"], approve=approve, reason=why)


async def _summer(ledger: Ledger, demo: DemoSchool, rng: random.Random) -> None:
    """Summer training and re-assessment for the students whose year calls for them (TT22 Đ.12–14),
    between the close (31 May) and the final date (30 August)."""
    demo.clock.set(_moment(date(2026, 8, 10)))
    for class_id in sorted(demo.classes):
        async with ledger.engine.connect() as conn:
            summary = await class_summary(conn, demo.school, demo.year, class_id)
        for view in summary.views:
            student = view.student["student_id"]
            if view.outcome.promotion is Promotion.SUMMER_TRAINING:
                await record_summer_conduct(
                    ledger, demo.school, PRINCIPAL, year=demo.year, class_id=class_id, entries=[(student, "Đạt")]
                )
        async with ledger.engine.connect() as conn:
            summary = await class_summary(conn, demo.school, demo.year, class_id)
        for view in summary.views:
            student = view.student["student_id"]
            if view.outcome.promotion is not Promotion.RE_ASSESSMENT:
                continue
            for subject in sorted(view.reassessable):
                kind = next(line.kind for line in view.lines if line.code == subject)
                value = ("6.0" if rng.random() < 0.7 else "4.0") if kind is Kind.SCORE else "Đ"
                await record_reassessments(
                    ledger,
                    demo.school,
                    demo.teacher(subject),
                    year=demo.year,
                    class_id=class_id,
                    subject=subject,
                    entries=[(student, value)],
                )


# --- signatures and issuance -----------------------------------------------------------------------

SIGNING_DAY = datetime(2026, 8, 12, 9, tzinfo=VN_TZ)  # after the summer results, before the final date
CERTS_FROM = datetime(2025, 8, 1, tzinfo=VN_TZ)


@dataclass
class Signers:
    """The demo school with a demo certificate, registered by the principal, for everyone who signs."""

    demo: DemoSchool
    pki: Pki
    people: dict[str, DocumentSigner]  # staff id, or "organisation" -> key and certificate
    service: Signer  # the school's ledger service key, which signs the checkpoints of issuance
    verification: Verification  # what the PDF học bạ prints for checking it (the service's)
    policy: CheckpointPolicy | None = None  # how those checkpoints are made (timestamped, named)

    def holder(self, role: str, subject: str | None, class_id: str) -> tuple[Actor, DocumentSigner]:
        if role == "SUBJECT_TEACHER":
            staff = self.demo.subject_teachers[subject or ""]
            return Actor(staff, Role.SUBJECT_TEACHER), self.people[staff]
        if role == "HOMEROOM_TEACHER":
            staff = self.demo.homeroom[class_id]
            return Actor(staff, Role.HOMEROOM_TEACHER), self.people[staff]
        if role == "PRINCIPAL":
            return PRINCIPAL, self.people[PRINCIPAL.user]
        return CLERK, self.people["organisation"]


async def certify(demo: DemoSchool, pki: Pki, service: Signer, verification: Verification) -> Signers:
    """Demo certificates for the principal, every teacher and the school, registered by the principal
    (Điều 9.4)."""
    people: dict[str, DocumentSigner] = {}
    staff = {*demo.subject_teachers.values(), *demo.homeroom.values(), PRINCIPAL.user}
    for member in sorted(staff):
        people[member] = pki.issue_demo_personal(demo.school, member, member, valid_from=CERTS_FROM)
    people["organisation"] = pki.issue_demo_organisation(demo.school, SCHOOL_NAME, valid_from=CERTS_FROM)
    for holder in people.values():
        await register_certificate(demo.ledger, demo.school, PRINCIPAL, holder.certificate, pki.roots())
    return Signers(demo, pki, people, service, verification)


async def sign_as(
    s: Signers,
    student: str,
    role: str,
    subject: str | None = None,
    *,
    holder: tuple[Actor, DocumentSigner] | None = None,
    tamper: Any = None,
    at: datetime | None = None,
) -> Any:
    """One XML signature: prepare on the service, sign on the signer's side, submit."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        class_id = next(c for c, r in demo.rosters.items() if student in r)
        prepared = await prepare_signature(conn, demo.school, YEAR, student, role, subject, demo.clock.now())
    actor, keys = holder or s.holder(role, subject, class_id)
    signed = xades.sign_prepared(prepared["document"], keys.key, keys.certificate, signing_time=at or demo.clock.now())
    if tamper is not None:
        signed = tamper(signed)
    from ledger.app.runtime import demo_time_stamper, stamp_with

    stamp = stamp_with(demo_time_stamper(s.pki, demo.clock))
    return await submit_signature(
        demo.ledger, demo.school, actor, YEAR, student, signed, s.pki.roots(), [s.pki.crl()], stamp
    )


async def sign_everything(s: Signers, student: str) -> bytes:
    """Every signature the XML still lacks, in order (Điều 18); returns the signed document."""
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, s.demo.school, YEAR, student)
        done = await current_signatures(conn, s.demo.school, YEAR, student)
    signed = {(r["role"], r["subject"]) for r in done}
    for subject in [e.get("Ma") for e in root.iter(hocba_xml.tag("MonHoc"))]:
        if ("SUBJECT_TEACHER", subject) not in signed:
            await sign_as(s, student, "SUBJECT_TEACHER", subject)
    for role in ("HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION"):
        if (role, None) not in signed:
            await sign_as(s, student, role)
    async with s.demo.ledger.engine.connect() as conn:
        root, _ = await xml_document(conn, s.demo.school, YEAR, student)
    return hocba_xml.to_bytes(root)


async def _signed_pdf(s: Signers, current: bytes, role: str, keys: DocumentSigner) -> bytes:
    """The principal's signature or the seal on a học bạ's PDF, timestamped, as the demo signs it."""
    from ledger.app.runtime import demo_time_stamper
    from signing.pdf.sign import sign_pdf

    return await sign_pdf(
        current,
        keys.key,
        keys.certificate,
        chain=s.pki.roots(),
        appearance="principal" if role == "PRINCIPAL" else "seal",
        role=role,
        signer_name=role,
        signing_time=s.demo.clock.now(),
        time_stamper=demo_time_stamper(s.pki),
        field_name=f"ky-{role.lower()}",
    )


async def sign_pdf_as(s: Signers, student: str, role: str, holder: DocumentSigner | None = None) -> Any:
    """The principal's signature or the seal on the PDF học bạ, with a timestamp of the demo TSA."""

    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        current, _ = await pdf_document(conn, demo.school, YEAR, student, s.verification)
    keys = holder or (s.people[PRINCIPAL.user] if role == "PRINCIPAL" else s.people["organisation"])
    signed = await _signed_pdf(s, current, role, keys)
    actor = PRINCIPAL if role == "PRINCIPAL" else CLERK
    return await submit_pdf(
        demo.ledger,
        demo.school,
        actor,
        YEAR,
        student,
        signed,
        s.pki.roots(),
        [s.pki.crl()],
        verification=s.verification,
    )


async def sign_all(s: Signers, student: str) -> None:
    """The XML signatures, then the principal's signature and the seal on the PDF."""
    await sign_everything(s, student)
    await sign_pdf_as(s, student, "PRINCIPAL")
    await sign_pdf_as(s, student, "ORGANISATION")


async def sign_class(s: Signers, students: Sequence[str]) -> None:
    """Every signature the học bạ of `students` (one class) still lack, role by role as each signer
    signs the whole class in one batch: the subject teachers, the homeroom teacher, the principal,
    the seal (Điều 18), then the principal's signature and the seal on the PDF."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        documents = await load_documents(conn, demo.school, YEAR, students)
    root, _ = documents.xml(students[0])
    steps: list[tuple[str, str | None]] = [("SUBJECT_TEACHER", e.get("Ma")) for e in root.iter(hocba_xml.tag("MonHoc"))]
    steps += [("HOMEROOM_TEACHER", None), ("PRINCIPAL", None), ("ORGANISATION", None)]
    for role, subject in steps:
        waiting = [
            student
            for student in students
            if not any(r["role"] == role and r["subject"] == subject for r in documents.signatures(student))
        ]
        if waiting:
            await sign_batch(s, waiting, role, subject)
    for role in ("PRINCIPAL", "ORGANISATION"):
        async with demo.ledger.engine.connect() as conn:
            documents = await load_documents(conn, demo.school, YEAR, students)
        waiting = [st for st in students if role not in {r["role"] for r in documents.signatures(st, "pdf")}]
        if waiting:
            await sign_pdf_batch(s, documents, waiting, role)


async def sign_batch(s: Signers, students: Sequence[str], role: str, subject: str | None = None) -> list[Event]:
    """One signer's XML signatures for several students of one class: prepared in one request, signed
    on the signer's side, submitted in one request."""
    demo = s.demo
    async with demo.ledger.engine.connect() as conn:
        prepared = await prepare_signatures(conn, demo.school, YEAR, students, role, subject, demo.clock.now())
    class_id = next(c for c, r in demo.rosters.items() if students[0] in r)
    actor, keys = s.holder(role, subject, class_id)
    now = demo.clock.now()
    signed = [
        (p["student"], xades.sign_prepared(p["document"], keys.key, keys.certificate, signing_time=now))
        for p in prepared
    ]
    from ledger.app.runtime import demo_time_stamper, stamp_with

    stamp = stamp_with(demo_time_stamper(s.pki, demo.clock))
    return await submit_signatures(demo.ledger, demo.school, actor, YEAR, signed, s.pki.roots(), [s.pki.crl()], stamp)


async def sign_pdf_batch(s: Signers, documents: Documents, students: Sequence[str], role: str) -> list[Event]:
    """The principal's signature or the seal on the PDF học bạ of several students, in one request."""

    demo = s.demo
    keys = s.people[PRINCIPAL.user] if role == "PRINCIPAL" else s.people["organisation"]
    signed = []
    for student in students:
        current, _ = documents.pdf(student, s.verification)
        data = await _signed_pdf(s, current, role, keys)
        signed.append((student, data))
    actor = PRINCIPAL if role == "PRINCIPAL" else CLERK
    return await submit_pdfs(
        demo.ledger, demo.school, actor, YEAR, signed, s.pki.roots(), [s.pki.crl()], verification=s.verification
    )


def _demo_stamp(s: Signers) -> Callable[[bytes], Awaitable[bytes]]:
    """The demo time-stamping authority on the demo school's clock."""
    from ledger.app.runtime import demo_time_stamper, stamp_with

    return stamp_with(demo_time_stamper(s.pki, s.demo.clock))


def issuing_class(s: Signers, students: Sequence[str], actor: Actor = CLERK) -> Callable[[], Awaitable[list[Event]]]:
    """The clerk's issuance of a class's signed học bạ in one batch, ready to run."""
    return lambda: issue_hocbas(
        s.demo.ledger,
        s.demo.school,
        actor,
        YEAR,
        students,
        s.pki.roots(),
        [s.pki.crl()],
        s.service,
        s.policy,
        verification=s.verification,
        stamp=_demo_stamp(s),
        time_stamper=demo_time_stamper(s.pki),  # the host's time, as the PDF signatures' timestamps
    )


def issuing(s: Signers, student: str, actor: Actor = CLERK) -> Callable[[], Awaitable[Event]]:
    """The clerk's issuance of the student's signed học bạ, ready to run."""
    return lambda: issue_hocba(
        s.demo.ledger,
        s.demo.school,
        actor,
        YEAR,
        student,
        s.pki.roots(),
        [s.pki.crl()],
        s.service,
        s.policy,
        verification=s.verification,
        stamp=_demo_stamp(s),
        time_stamper=demo_time_stamper(s.pki),  # the host's time, as the PDF signatures' timestamps
    )


# --- the complete demo: `hocba demo` ---------------------------------------------------------------

DEMO_SCHOOL = "khanh-phu"
DEMO_PASSWORD = "hocba-demo-2025"  # noqa: S105 - published: every demo account has it, the demo has no real data
DEMO_ACCOUNTS = {  # username -> (kind, what the person does)
    PRINCIPAL.user: ("STAFF", "Hiệu trưởng: phê duyệt điều chỉnh, ký học bạ"),
    VICE_PRINCIPAL.user: ("STAFF", "Phó hiệu trưởng: phê duyệt điều chỉnh"),
    CLERK.user: ("STAFF", "Văn thư: đóng dấu, ban hành học bạ"),
    ADMIN.user: ("STAFF", "Quản trị viên: lịch năm học, khóa nhập liệu"),
    IT_REVIEWER.user: ("STAFF", "Giáo viên CNTT: đối soát dữ liệu"),
    "thanhtra.so": ("AUDITOR", "Thanh tra Sở: đọc toàn bộ, không ghi"),
}


def _student_ids(demo: DemoSchool) -> list[str]:
    return [student for class_id in sorted(demo.rosters) for student in demo.rosters[class_id]]


async def build_complete_demo(
    url: str,
    school: str,
    settings: Settings,
    *,
    classes_per_grade: int = 1,
    students_per_class: int = 8,
    workers: int = 2,
    progress: Callable[[str], None] = print,
) -> DemoSchool:
    """The whole demo year, then every student's học bạ signed by every signer in order and issued.
    Signing is spread over `workers` processes (each signature is checked by the service as it is
    submitted, which is what takes the time); each student's signatures are made a few minutes
    after the previous student's, from 12 August 2026 on."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from ledger.app.db import APP_ROLE, create_engine

    pki = Pki(settings.pki_dir)
    service = ServiceKeys(settings, pki).signer(school)
    engine = create_engine(url, APP_ROLE)
    try:
        progress(f"năm học {YEAR}: lớp, học sinh, điểm, hạnh kiểm, điều chỉnh, kiểm tra lại trong hè…")
        demo = await build_demo_school(
            engine, school, classes_per_grade=classes_per_grade, students_per_class=students_per_class, corrections=True
        )
        demo.clock.set(SIGNING_DAY)
        signers = await certify(demo, pki, service, verification_for(settings))
        signers.policy = checkpoint_policy_for(settings, pki, demo.clock)
    finally:
        await engine.dispose()
    for name, holder in signers.people.items():
        pki.save_holder(school, name, holder)
    layout = layout_of(demo)
    classes = sorted(demo.rosters.items())
    progress(
        f"ký bảng điểm và kết quả học kì của từng lớp, rồi ký và ban hành {len(_student_ids(demo))} học bạ "
        f"({workers} tiến trình)…"
    )
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        parts = [list(enumerate(classes))[i::workers] for i in range(workers)]
        futures = [
            pool.submit(sign_and_issue_classes, url, school, settings, layout, part, terms=True)
            for part in parts
            if part
        ]
        done = sum(future.result() for future in futures)
    progress(f"đã ban hành {done} học bạ")
    return demo


def layout_of(demo: DemoSchool) -> dict[str, Any]:
    """What a worker process needs to stand for the demo school: its classes, rosters and teachers."""
    return {
        "classes": demo.classes,
        "rosters": demo.rosters,
        "subject_teachers": demo.subject_teachers,
        "homeroom": demo.homeroom,
    }


def sign_and_issue_classes(
    url: str,
    school: str,
    settings: Settings,
    layout: dict[str, Any],
    part: list[tuple[int, tuple[str, list[str]]]],
    *,
    terms: bool = False,
) -> int:
    """A worker process: sign and issue the học bạ of the classes of `part` (position, (class, roster)),
    each class in batches; with `terms`, first every class sheet and term record of the class."""
    import asyncio
    import logging
    from datetime import timedelta

    from ledger.app.db import APP_ROLE, create_engine
    from ledger.app.demo.terms import sign_class_terms
    from ledger.base.logs import configure_logging

    configure_logging(level=logging.WARNING)  # the parent reports progress; a checkpoint per issuance is noise

    async def work() -> int:
        engine = create_engine(url, APP_ROLE)
        try:
            clock = ManualClock(SIGNING_DAY)
            demo = DemoSchool(school, YEAR, school_ledger(engine, clock=clock), clock, **layout)
            pki = Pki(settings.pki_dir)
            names = {*demo.subject_teachers.values(), *demo.homeroom.values(), PRINCIPAL.user, "organisation"}
            people = {name: pki.load_holder(school, name) for name in names}
            service = ServiceKeys(settings, pki).signer(school)
            policy = checkpoint_policy_for(settings, pki, clock)
            signers = Signers(demo, pki, people, service, verification_for(settings), policy)
            issued = 0
            for position, (class_id, roster) in part:
                # Each class a little later than the one before; the workers' clocks stay within seconds
                # of each other, so that a checkpoint's time and its timestamp agree whichever worker's
                # events came last (verification allows them ten minutes apart).
                clock.set(SIGNING_DAY + timedelta(seconds=10 * position))
                if terms:
                    await sign_class_terms(signers, class_id)
                await sign_class(signers, roster)
                issued += len(await issuing_class(signers, roster)())
            return issued
        finally:
            await engine.dispose()

    return asyncio.run(work())
