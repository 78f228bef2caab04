"""The values the school-year commands take, validated without a database: a subject of the catalogue,
a student's profile, an assignment."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any
from uuid import UUID

from asn1crypto import cms

from ledger.base.errors import ValidationError
from ledger.base.vietnamese import collation_key
from ledger.school.rules import identity
from ledger.school.rules.evaluation import SUBJECT_CODE
from ledger.school.rules.roles import STAFF_ROLES, Role
from ledger.school.rules.tt22 import Kind


@dataclass(frozen=True)
class SubjectDefinition:
    code: str
    name: str
    kind: Kind
    periods: Mapping[int, int]  # grade -> periods per year

    def payload(self, year: str) -> dict[str, Any]:
        return {
            "year": year,
            "code": self.code,
            "name": self.name,
            "kind": self.kind.value,
            "periods": {str(g): p for g, p in sorted(self.periods.items())},
        }


def parse_subject(raw: Mapping[str, Any], field: str) -> SubjectDefinition:

    code = raw.get("code")
    if not isinstance(code, str) or not SUBJECT_CODE.match(code):
        raise ValidationError(
            "subject.code", "mã môn gồm chữ in hoa, số và _", "a subject code is A-Z, 0-9 and _", field=f"{field}.code"
        )
    name = identity.text(raw.get("name"), f"{field}.name")
    try:
        kind = Kind(str(raw.get("kind")))
    except ValueError:
        raise ValidationError(
            "subject.kind",
            "loại môn là 'score' hoặc 'comment'",
            "the kind is 'score' or 'comment'",
            field=f"{field}.kind",
            rule="TT22 Đ.5",
        ) from None
    periods_raw = raw.get("periods")
    if not isinstance(periods_raw, Mapping) or not periods_raw:
        raise ValidationError(
            "subject.periods",
            "cần số tiết/năm cho từng khối",
            "needs periods per year for each grade",
            field=f"{field}.periods",
        )
    periods: dict[int, int] = {}
    for grade, count in periods_raw.items():
        if str(grade) not in {"6", "7", "8", "9"} or isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationError(
                "subject.periods",
                "khối 6–9 với số tiết nguyên dương",
                "grades 6–9 with a positive number of periods",
                field=f"{field}.periods.{grade}",
            )
        periods[int(grade)] = count
    return SubjectDefinition(code, name or code, kind, periods)


def default_catalogue() -> list[SubjectDefinition]:
    """The GDPT 2018 lower-secondary subjects, with periods per year by grade (ledger/data), in the
    order the học bạ form lists them."""
    doc = json.loads(resources.files("ledger.school").joinpath("data/catalogue-gdpt2018-thcs.json").read_text("utf-8"))
    return [parse_subject(item, f"catalogue[{i}]") for i, item in enumerate(doc)]


@lru_cache(maxsize=1)
def _places() -> dict[str, int]:
    return {subject.code: place for place, subject in enumerate(default_catalogue())}


def hocba_order(code: str, name: str) -> tuple[int, Any]:
    """A key that lists subjects as the học bạ form does (Ngữ văn, Toán, Ngoại ngữ 1, …: the GDPT 2018
    catalogue's order); a subject of the school's own after them, by its Vietnamese name."""
    places = _places()
    return places.get(code, len(places)), collation_key(name)


def student_profile(raw: Mapping[str, Any], field: str = "student") -> dict[str, Any]:
    """Validate and normalise one student's identity as the sector database exports it."""
    gender = identity.gender(raw.get("gender"), f"{field}.gender")
    birth = identity.parse_date(raw.get("date_of_birth"), f"{field}.date_of_birth")
    guardians = []
    for index, guardian in enumerate(raw.get("guardians") or []):
        where = f"{field}.guardians[{index}]"
        if not isinstance(guardian, Mapping):
            raise ValidationError("guardian.invalid", "phải là một đối tượng", "must be an object", field=where)
        entry = {
            "full_name": identity.text(guardian.get("full_name"), f"{where}.full_name"),
            "relation": identity.text(guardian.get("relation"), f"{where}.relation", required=False),
            "phone": identity.phone(guardian.get("phone"), f"{where}.phone") if guardian.get("phone") else None,
        }
        if guardian.get("email"):  # only when given: profiles recorded without one keep their bytes
            entry["email"] = identity.email(guardian.get("email"), f"{where}.email")
        guardians.append(entry)
    return {
        "student": identity.personal_id(raw.get("student"), f"{field}.student", birth=birth, gender=gender),
        "ministry_code": identity.ministry_code(raw.get("ministry_code"), f"{field}.ministry_code"),
        "full_name": identity.text(raw.get("full_name"), f"{field}.full_name"),
        "gender": gender,
        "date_of_birth": birth.isoformat(),
        "birthplace": identity.text(raw.get("birthplace"), f"{field}.birthplace", required=False),
        "ethnicity": identity.text(raw.get("ethnicity"), f"{field}.ethnicity", required=False),
        "residence": identity.text(raw.get("residence"), f"{field}.residence", required=False),
        "guardians": guardians,
    }


def profile_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "student": row["student_id"],
        "ministry_code": row["ministry_code"],
        "full_name": row["full_name"],
        "gender": row["gender"],
        "date_of_birth": row["date_of_birth"].isoformat(),
        "birthplace": row["birthplace"],
        "ethnicity": row["ethnicity"],
        "residence": row["residence"],
        "guardians": row["guardians"],
    }


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DECISION_FIELDS = ("decision_number", "decision_issuer", "decision_date", "decision_sha256", "decision_signature")


@dataclass(frozen=True)
class Decision:
    """A decision of an authority above the school: its number, issuer, date and the SHA-256 of the
    document, with a detached CMS signature over the document where one is supplied."""

    number: str
    issuer: str
    issued: date
    sha256: str
    signature: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "issuer": self.issuer,
            "date": self.issued.isoformat(),
            "sha256": self.sha256,
            "signature": self.signature,
        }


def parse_decision(raw: Mapping[str, Any], where: str) -> Decision | None:
    """The decision given in an assignment's row (decision_number, decision_issuer, decision_date,
    decision_sha256, decision_signature), or None when the row gives none."""
    if not any(raw.get(name) not in (None, "") for name in DECISION_FIELDS):
        return None
    number = identity.text(raw.get("decision_number"), f"{where}.decision_number", limit=100)
    issuer = identity.text(raw.get("decision_issuer"), f"{where}.decision_issuer", limit=200)
    issued = identity.parse_date(raw.get("decision_date"), f"{where}.decision_date")
    digest = str(raw.get("decision_sha256") or "").strip().lower()
    if not _SHA256.match(digest):
        raise ValidationError(
            "assignment.decision_hash",
            "mã băm SHA-256 của quyết định gồm 64 chữ số hệ mười sáu",
            "the decision's SHA-256 is 64 hexadecimal digits",
            field=f"{where}.decision_sha256",
        )
    signature = raw.get("decision_signature") or None
    if signature is not None:
        _check_signature(str(signature), digest, f"{where}.decision_signature")
    return Decision(str(number), str(issuer), issued, digest, signature and str(signature))


def _check_signature(text: str, digest: str, where: str) -> None:
    """A detached CMS signature must be over the document whose hash is recorded."""
    refused = ValidationError(
        "assignment.decision_signature",
        "chữ ký của quyết định không phải chữ ký CMS trên chính văn bản có mã băm đã ghi",
        "the decision's signature is not a CMS signature over the document with the recorded hash",
        field=where,
    )
    try:
        info = cms.ContentInfo.load(base64.b64decode(text, validate=True))
        signers = info["content"]["signer_infos"]
        digests = {
            bytes(attr["values"][0].native)
            for signer in signers
            for attr in signer["signed_attrs"]
            if attr["type"].native == "message_digest"
        }
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise refused from None
    if bytes.fromhex(digest) not in digests:
        raise refused


@dataclass(frozen=True)
class Assignment:
    """Who holds which role, for which class, subject and term, from when until when."""

    staff: str
    role: Role
    valid_from: date
    valid_to: date | None = None
    year: str | None = None
    class_id: str | None = None
    subject: str | None = None
    term: int | None = None
    decision: Decision | None = field(default=None, compare=False)  # the appointing decision, where given

    def natural_key(self) -> tuple[Any, ...]:
        return (self.staff, self.role.value, self.year, self.class_id, self.subject, self.term, self.valid_from)

    def payload(self, assignment_id: UUID) -> dict[str, Any]:
        return {
            "assignment": str(assignment_id),
            "staff": self.staff,
            "role": self.role.value,
            "year": self.year,
            "class": self.class_id,
            "subject": self.subject,
            "term": self.term,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


def parse_assignment(raw: Mapping[str, Any], field: str) -> Assignment:
    try:
        role = Role(str(raw.get("role", "")).strip().upper())
    except ValueError:
        role = None
    if role not in STAFF_ROLES or role is None:
        raise ValidationError(
            "assignment.role",
            "vai trò phải là một trong: " + ", ".join(sorted(STAFF_ROLES)),
            "the role must be one of " + ", ".join(sorted(STAFF_ROLES)),
            field=f"{field}.role",
        )
    valid_from = identity.parse_date(raw.get("valid_from"), f"{field}.valid_from")
    valid_to = identity.parse_date(raw["valid_to"], f"{field}.valid_to") if raw.get("valid_to") else None
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(
            "assignment.dates",
            "ngày kết thúc trước ngày bắt đầu",
            "the end comes before the start",
            field=f"{field}.valid_to",
        )
    year = class_id = subject = None
    term = None
    if role in (Role.SUBJECT_TEACHER, Role.HOMEROOM_TEACHER):
        year = identity.school_year(raw.get("year"), f"{field}.year")
        class_id = identity.class_id(raw.get("class"), f"{field}.class")
    if role is Role.SUBJECT_TEACHER:
        subject = str(raw.get("subject") or "").strip().upper()
        if not subject:
            raise ValidationError("assignment.subject", "cần môn học", "needs a subject", field=f"{field}.subject")
        term = identity.term(raw.get("term"), f"{field}.term")
    staff_id = identity.staff_id(raw.get("staff"), f"{field}.staff")
    decision = parse_decision(raw, field)
    return Assignment(staff_id, role, valid_from, valid_to, year, class_id, subject, term, decision)


def assignment_of(row: Mapping[str, Any]) -> Assignment:
    decision = row.get("decision")
    return Assignment(
        row["staff_id"],
        Role(row["role"]),
        row["valid_from"],
        row["valid_to"],
        row["year"],
        row["class_id"],
        row["subject"],
        row["term"],
        Decision(
            decision["number"],
            decision["issuer"],
            date.fromisoformat(decision["date"]),
            decision["sha256"],
            decision["signature"],
        )
        if decision
        else None,
    )
