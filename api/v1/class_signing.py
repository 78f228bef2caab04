"""A class's học bạ signed by one signer at once (Điều 8, 18): the service prepares every học bạ of the
class that awaits the signer's part, the signer signs them all under one authorisation of their key
(one PIN entry on a token, one authorisation at a remote-signing service), and the service checks and
records every signature, or none."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS, UPLOAD_ERRORS
from api.http.scope import ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, ClassId, SchoolId, Year
from api.v1.signatures import SigningRole, base64_body, may_sign_as, signer_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.uploads import within_limits
from ledger.base.errors import DomainError, Forbidden, ValidationError
from ledger.format.envelope import Event
from ledger.log.projection import read
from ledger.school.rules.identity import personal_id
from ledger.school.signatures.commands import prepare_signatures, signing_refusals, submit_signatures
from ledger.school.years.queries import known_class
from ledger.school.years.tables import enrolments

CLASS_SIZE = 60  # more than any class holds (45 at most)


class ClassPrepareIn(msgspec.Struct):
    role: SigningRole
    subject: str | None = None


class SignedOne(msgspec.Struct):
    student: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="the personal identifier")]
    document: Annotated[str, msgspec.Meta(min_length=1, max_length=4_000_000, description="base64 of the signed XML")]


class ClassSignedIn(msgspec.Struct):
    documents: Annotated[list[SignedOne], msgspec.Meta(min_length=1, max_length=CLASS_SIZE)]


async def _enrolled(state: State, school: str, year: str, class_id: str) -> list[str]:
    """The pupils enrolled in the class now; an unknown class is refused, naming the year's classes."""
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        await known_class(conn, school, year, class_id)
        rows = await read(conn, enrolments, school, year=year, class_id=class_id)
    return sorted({row["student_id"] for row in rows if row["until"] is None})


def _check_signer(request: Request[Any, Any, Any], role: str, year: str, class_id: str, subject: str | None) -> None:
    if not may_sign_as(principal_of(request), role, year, class_id, subject):
        raise Forbidden(
            "signature.role",
            f"Bạn không giữ vai trò {role} cho lớp {class_id}.",
            f"You do not hold {role} for class {class_id}.",
            field="role",
        )


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/signatures/prepare",
    operation_id="class_signature_prepare",
    opt={"action": "signature.write"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="What a signer signs next in every học bạ of a class, to sign them all at once (Điều 8, 18)",
)
async def class_signature_prepare(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    year: Year,
    data: JSONBody[ClassPrepareIn],
) -> dict[str, Any]:
    """Every học bạ of the class that awaits this signer's part now; each one that does not (already
    signed, not its turn, results missing, entry still open) is named with the reason."""
    prepared, refusals = await prepare_class(request, state, school, year, class_id, data.role, data.subject)
    return {
        "documents": [{**p, "document": base64.b64encode(p["document"]).decode()} for p in prepared],
        "not_ready": [
            {"student": student, **refusal.to_json()} for student, refusal in refusals.items() if refusal is not None
        ],
    }


async def prepare_class(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    class_id: str,
    role: str,
    subject: str | None,
    only: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, DomainError | None]]:
    """What the signer signs next in every học bạ of the class (or of the pupils `only` names) that
    awaits their part now, and why each other one does not: the API's and the pages' one batch."""
    _check_signer(request, role, year, class_id, subject)
    runtime = runtime_of(state)
    students = await _enrolled(state, school, year, class_id)
    if only is not None:
        students = [student for student in students if student in set(only)]
    now = runtime.clock.now()
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        refusals = await signing_refusals(conn, school, year, students, role, subject, now)
        ready = [student for student in students if refusals[student] is None]
        prepared = await prepare_signatures(conn, school, year, ready, role, subject, now) if ready else []
    return prepared, refusals


@post(
    f"{SCHOOL}/classes/{{class_id:str}}/signatures",
    operation_id="class_signature_submit",
    opt={"action": "signature.write"},
    responses=UPLOAD_ERRORS,
    summary="Submit the signed học bạ of a class; every signature is checked and recorded, or none",
)
async def class_signature_submit(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    class_id: ClassId,
    year: Year,
    data: JSONBody[ClassSignedIn],
) -> dict[str, Any]:
    signed = [(item.student, base64_body(item.document)) for item in data.documents]
    events = await submit_class(request, state, school, year, class_id, signed)
    return {
        "signatures": [
            {
                "student": event.payload["student"],
                "seq": event.seq,
                "wrapper_id": event.payload["wrapper_id"],
                "role": event.payload["role"],
                "parts": event.payload["parts"],
                "signing_time": event.payload["signing_time"],
                "trusted_time": event.payload["trusted_time"],
            }
            for event in events
        ]
    }


async def submit_class(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    class_id: str,
    documents: Sequence[tuple[str, bytes]],
) -> list[Event]:
    """Check and record the signed học bạ of pupils of the class, each as the service checks any
    signature: all recorded, or none (the API's and the pages' one path)."""
    runtime = runtime_of(state)
    enrolled = set(await _enrolled(state, school, year, class_id))
    signed = []
    for student, document in documents:
        personal_id(student)
        if student not in enrolled:
            raise ValidationError(
                "signature.class",
                f"Học sinh {student} không học lớp {class_id}.",
                f"The student {student} is not in class {class_id}.",
                field="documents",
            )
        await within_limits(runtime, document)
        signed.append((student, document))
    async with runtime.revocation() as online:
        return await submit_signatures(
            ledger_of(state),
            school,
            signer_of(request),
            year,
            signed,
            runtime.trusted_roots(),
            runtime.crls(),
            runtime.stamp(),
            online=online,
        )
