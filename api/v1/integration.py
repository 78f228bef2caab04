"""What integration clients read: the feed of events with checkpoints and consistency proofs, and a
student's year signed by the ledger service."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from api.http.media import documented
from api.http.problems import ERRORS
from api.http.scope import principal_of, runtime_of
from api.v1.params import SCHOOL, SchoolId, StudentId, Year
from ledger.app.db import AUDITOR_ROLE
from ledger.app.witnessing import cosigners
from ledger.base.errors import ValidationError
from ledger.log import store
from ledger.log.checkpointing import consistency_proof, make_checkpoint
from ledger.log.schema import EVENTS
from ledger.school.rules.disclosure import without_contacts
from ledger.school.rules.identity import personal_id
from ledger.school.rules.policy import AccountKind
from ledger.school.transcripts.views import load_student_year
from signing.jws import sign as sign_jws


@get(
    f"{SCHOOL}/feed",
    operation_id="integration_feed",
    opt={"action": "integration.read"},
    responses=ERRORS,
    summary="Events after a seq, with the latest signed checkpoint and a consistency proof from the one you hold",
    description=(
        "A client keeps the last checkpoint it verified and always sends its size as `known`. It checks the "
        "consistency proof against both roots, and each cosignature line against the witnesses it trusts. "
        "A `422 feed.known` (the ledger is smaller than the tree the client holds) or a proof that does not "
        "verify means the school's ledger was rolled back or rewritten: an alarm, never a reason to start over."
    ),
)
async def integration_feed(
    state: State,
    school: SchoolId,
    after: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    known: Annotated[int | None, QueryParameter(ge=0, description="the tree size of the checkpoint you hold")] = None,
) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).begin() as conn:
        latest = await store.latest_checkpoint(conn, school)
        size = latest.checkpoint.tree_size if latest else 0
        events = await store.select_events(conn, school, after=after, upto=size, limit=limit)
        proof = None
        cosigned = await cosigners(conn, school, EVENTS.name, size) if latest else []
        if known is not None:
            if known > size:  # the client holds a larger tree than the ledger now has: an alarm, not a retry
                raise ValidationError(
                    "feed.known",
                    f"sổ cái chỉ có {size} sự kiện đã ký, ít hơn cây {known} sự kiện bạn giữ: sổ cái đã bị quay "
                    "lui hoặc cắt bớt; hãy giữ điểm kiểm tra của bạn làm bằng chứng và báo cho nhà trường và Sở",
                    f"the signed ledger holds {size} events, fewer than the tree of {known} you hold: it was rolled "
                    "back or cut; keep your checkpoint as evidence and raise the alarm",
                    field="known",
                )
            proof = [node.hex() for node in await consistency_proof(conn, school, known, size)]
    return {
        "events": [_shared(e) for e in events],
        "next": events[-1].seq if len(events) == limit and events[-1].seq < size else None,
        "checkpoint": latest.checkpoint.to_json() if latest else None,
        "consistency": None if proof is None else {"from": known, "to": size, "proof": proof},
        "cosignatures": [bytes(c["line"]).decode().rstrip("\n") for c in cosigned],
    }


def _shared(event: Any) -> dict[str, Any]:
    """An entry as it leaves the school: its hashes always; its body, or, when the body carries
    contacts (Điều 6.3), the contact-free view of it and the fields withheld."""
    entry = {"seq": event.seq, "hash": event.hash.hex(), "prev_hash": event.prev_hash.hex()}
    view, withheld = without_contacts(json.loads(event.body))
    if not withheld:
        return {**entry, "body": base64.b64encode(event.body).decode()}
    return {**entry, "body": None, "withheld": withheld, "view": view}


@get(
    f"{SCHOOL}/students/{{student:str}}/record.jws",
    operation_id="student_record_signed",
    operation_class=documented(answers=("application/jose",)),
    opt={"action": "record.signed"},
    responses=ERRORS,
    summary="A student's year as JSON, signed by the school's ledger service (JWS), naming the checkpoint read",
)
async def student_record_signed(
    request: Request[Any, Any, Any], state: State, school: SchoolId, student: StudentId, year: Year
) -> Response[Any]:
    personal_id(student)
    runtime = runtime_of(state)
    signer = runtime.signer(school)
    checkpoint = await make_checkpoint(
        runtime.engine(), school, signer, runtime.clock, policy=runtime.checkpoint_policy()
    )
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        size = checkpoint.tree_size if checkpoint else 0
        view = await load_student_year(conn, school, year, student, size)
    record = view.to_json()
    if principal_of(request).kind is AccountKind.INTEGRATION:  # the family's contacts stay at the school
        record, _ = without_contacts(record)
    payload = {
        "school": school,
        "student": student,
        "year": year,
        "record": record,
        "checkpoint": None
        if checkpoint is None
        else {
            "log": checkpoint.log,
            "tree_size": checkpoint.tree_size,
            "root": checkpoint.root.hex(),
            "time": checkpoint.signed_at,
        },
        "iat": int(runtime.clock.now().timestamp()),
    }
    return Response(sign_jws(payload, signer), media_type="application/jose")
