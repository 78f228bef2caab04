"""The signing board of a class: every signature of every học bạ, and the class sheets, with sign
buttons for the viewer's own role (Điều 18, 24.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template
from sqlalchemy import select

from api.http.scope import entry_of, runtime_of
from api.pages.keys import by_remote_key, remote_offered, sign_class_remotely, sign_pdfs_remotely, token_batch
from api.pages.staff import (
    CLASS_PAGE,
    class_subjects,
    need_year,
    roster_names,
    sign_hocba,
    sign_pdf_hocba,
    student_names,
)
from api.pages.toolkit import (
    confirmation,
    form_of,
    lang_of,
    page,
    principal_or_none,
    refusal_message,
    render,
    staff_names,
    text_of,
)
from api.v1.params import ClassId, SchoolId
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import Conflict, DomainError, NotFound, Refused, ValidationError
from ledger.school.class_sheets.queries import sheet_status
from ledger.school.rules.policy import Principal
from ledger.school.signatures.commands import signing_refusals
from ledger.school.signatures.queries import load_documents
from ledger.school.signatures.tables import signatures

# What the board signs: role value sent by the form -> (document, signing role, the grid column).
BOARD_ROLES = {
    "HOMEROOM_TEACHER": ("xml", "HOMEROOM_TEACHER", "HOMEROOM_TEACHER:"),
    "PRINCIPAL": ("xml", "PRINCIPAL", "PRINCIPAL:"),
    "ORGANISATION": ("xml", "ORGANISATION", "ORGANISATION:"),
    "PDF_PRINCIPAL": ("pdf", "PRINCIPAL", "pdf:PRINCIPAL"),
    "PDF_ORGANISATION": ("pdf", "ORGANISATION", "pdf:ORGANISATION"),
}


def _board_cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The state of one signature: the newest one made, and whether a change came after it."""
    if not rows:
        return {"state": "unsigned"}
    newest = max(rows, key=lambda r: r["position"])
    return {"state": "stale" if newest["stale"] else "signed", "signer": newest["signer"], "at": newest["signing_time"]}


def _own_roles(principal: Principal | None, year: str, class_id: str) -> list[str]:
    """The board roles the signed-in person signs in for this class."""
    if principal is None:
        return []
    held = {
        g.role.value
        for g in principal.grants
        if g.role.value != "HOMEROOM_TEACHER" or (g.year, g.class_id) == (year, class_id)
    }
    wanted = {
        "HOMEROOM_TEACHER": ["HOMEROOM_TEACHER"],
        "PRINCIPAL": ["PRINCIPAL", "PDF_PRINCIPAL"],
        "CLERK": ["ORGANISATION", "PDF_ORGANISATION"],
    }
    return [role for held_role, roles in wanted.items() if held_role in held for role in roles]


async def _readiness(
    conn: Any, school: str, year: str, names: Mapping[str, str], grid: Mapping[str, Any], roles: list[str], now: Any
) -> dict[str, dict[str, DomainError | None]]:
    """For each of the viewer's board roles, why each pupil's học bạ cannot be signed now (None: it
    can), as the append path would refuse it. The PDF follows the XML: the principal's PDF once the
    principal signed the XML, the seal's once the principal signed the PDF (Điều 13, 18)."""
    found: dict[str, dict[str, DomainError | None]] = {}
    pupils = list(names)
    # the class's học bạ read once for every XML role the viewer signs in
    loaded = (
        await load_documents(conn, school, year, pupils) if any(BOARD_ROLES[r][0] == "xml" for r in roles) else None
    )
    for role in roles:
        document, signing_role, _ = BOARD_ROLES[role]
        if document == "xml":
            refusals = await signing_refusals(conn, school, year, pupils, signing_role, None, now, documents=loaded)
            found[role] = dict(refusals)
            continue
        before = "PRINCIPAL:" if signing_role == "PRINCIPAL" else "pdf:PRINCIPAL"
        vi, en = ("bản XML", "XML") if signing_role == "PRINCIPAL" else ("bản PDF", "PDF")
        waiting = Refused(
            "signature.order",
            f"Chưa đến lượt ký: hiệu trưởng ký {vi} trước.",
            f"Not yet: the principal signs the {en} first.",
            field="role",
            rule="Điều 13, 18",
        )
        found[role] = {sid: None if grid[sid][before]["state"] == "signed" else waiting for sid in names}
    return found


async def _board(
    request: Request[Any, Any, Any], state: State, school: str, class_id: str, status: int = 200, **extra: Any
) -> Template:
    runtime = runtime_of(state)
    year = need_year(request)
    subject_rows = await class_subjects(runtime, school, year, class_id)
    names = await roster_names(runtime, school, year, class_id)
    own_roles = _own_roles(principal_or_none(request), year, class_id)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        made = await _signatures_of(conn, school, year, names)
        sheets = {
            (s["code"], term): await sheet_status(conn, school, year, class_id, s["code"], term)
            for s in subject_rows
            for term in (1, 2)
        }
        codes = await student_names(conn, school, list(names), "ministry_code")
        entry_of(request).touch(names)
        grid = _grid(names, made, subject_rows)
        refusals = await _readiness(conn, school, year, names, grid, own_roles, runtime.clock.now())
    english = lang_of(request) == "en"
    blocked = {
        role: {sid: None if e is None else e.en if english else e.vi for sid, e in found.items()}
        for role, found in refusals.items()
    }
    waiting = {role: [s for s in names if grid[s][BOARD_ROLES[role][2]]["state"] != "signed"] for role in own_roles}
    ready = {role: [s for s in waiting[role] if not blocked[role][s]] for role in own_roles}
    # A refusal every waiting pupil shares (entry still open, not yet their turn) is said once.
    shared = {role: _shared({blocked[role][s] for s in waiting[role]}) for role in own_roles}
    return render(
        request,
        "board.html",
        "board",
        status,
        heading=f"{text_of(request)['board']} — {class_id}",
        school=school,
        class_id=class_id,
        names=names,
        codes=codes,
        columns=_columns(subject_rows),
        grid=grid,
        sheets=sheets,
        subjects=subject_rows,
        own_roles=own_roles,
        ready=ready,
        blocked=blocked,
        shared=shared,
        board_roles=BOARD_ROLES,
        # the seal on the PDF is the school's organisation certificate: the school signs, by its name
        staff={**await staff_names(runtime, school), "organisation": _school_name(request, school)},
        **extra,
    )


def _school_name(request: Request[Any, Any, Any], school: str) -> str:
    principal = principal_or_none(request)
    return principal.school_name if principal is not None and principal.school_name else school


async def _signatures_of(conn: Any, school: str, year: str, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every signature the pupils' học bạ of the year hold now, XML and PDF."""
    rows = await conn.execute(
        select(signatures).where(
            signatures.c.school_id == school,
            signatures.c.year == year,
            signatures.c.student_id.in_(list(names)),
            signatures.c.seq_to.is_(None),
        )
    )
    return [dict(r) for r in rows.mappings()]


def _shared(reasons: set[str | None]) -> str | None:
    return next(iter(reasons)) if len(reasons) == 1 else None


def _columns(subject_rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"SUBJECT_TEACHER:{s['code']}", s["name"]) for s in subject_rows] + [
        ("HOMEROOM_TEACHER:", "homeroom"),
        ("PRINCIPAL:", "principal"),
        ("ORGANISATION:", "seal"),
        ("pdf:PRINCIPAL", "pdf_principal"),
        ("pdf:ORGANISATION", "pdf_seal"),
    ]


def _grid(
    names: Mapping[str, str], made: list[dict[str, Any]], subject_rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Each pupil's signatures by board column: signed, stale or unsigned."""
    grid: dict[str, dict[str, Any]] = {}
    for student in names:
        mine = [r for r in made if r["student_id"] == student]
        grid[student] = {}
        for key, _ in _columns(subject_rows):
            role, _, subject = key.partition(":")
            if role == "pdf":
                found = [r for r in mine if r["format"] == "pdf" and r["role"] == subject]
            else:
                found = [
                    r for r in mine if r["format"] == "xml" and r["role"] == role and (r["subject"] or "") == subject
                ]
            grid[student][key] = _board_cell(found)
    return grid


@get(CLASS_PAGE + "/ky-so", operation_id="page_board", opt=page("class.read"), include_in_schema=False)
async def board(request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId) -> Template:
    signed = request.query_params.get("ky")
    notice = text_of(request)["signed_count"] % signed if signed else None
    return await _board(request, state, school, class_id, notice=notice)


@post(
    CLASS_PAGE + "/ky-so",
    operation_id="page_board_sign",
    opt=page("signature.write"),
    status_code=303,
    include_in_schema=False,
)
async def board_sign(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId
) -> Response[Any]:
    """Sign as one role the học bạ of one pupil, or of every pupil whose học bạ may be signed now.
    The first press shows what will be signed; only the confirmation signs."""
    form = await form_of(request)
    year = need_year(request)
    role = form.get("role", "")
    runtime = runtime_of(state)
    names = await roster_names(runtime, school, year, class_id)
    text = text_of(request)
    count = 0
    try:
        if role not in BOARD_ROLES or role not in _own_roles(principal_or_none(request), year, class_id):
            raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
        single = form.get("student")
        if single and single not in names:
            raise NotFound(
                "student.not_enrolled", f"học sinh không học lớp {class_id}", f"the student is not in {class_id}"
            )
        document, signing_role, column = BOARD_ROLES[role]
        async with runtime.engine(AUDITOR_ROLE).connect() as conn:
            made = await _signatures_of(conn, school, year, names)
            grid = _grid(names, made, await class_subjects(runtime, school, year, class_id))
            chosen = [single] if single else [s for s in names if grid[s][column]["state"] != "signed"]
            blocked = await _readiness(
                conn, school, year, {s: names[s] for s in chosen}, grid, [role], runtime.clock.now()
            )
        refused = blocked[role].get(single) if single else None
        if refused is not None:
            raise refused
        signable = [s for s in chosen if not blocked[role][s]]
        if form.get("confirm") != "1":
            here_now = f"/truong/{school}/lop/{class_id}/ky-so?year={year}"
            confirming = confirmation(
                text["confirm_board"] % (text["sign_" + role.lower()], year, len(signable), class_id),
                text["confirm_button"] % len(signable),
                here_now,
                here_now,
                names=[names[s] for s in signable],
                left_out=len(chosen) - len(signable),
                fields={"role": role, **({"student": single} if single else {})},
                remote=remote_offered(runtime),
                token=token_batch(school, year, class_id, signing_role, None, signable) if document == "xml" else None,
            )
            return await _board(request, state, school, class_id, confirming=confirming)
        if by_remote_key(form):  # the whole list under one authorisation at the remote-signing service
            if document == "pdf":
                count = await sign_pdfs_remotely(request, state, school, year, signing_role, signable, form)
            else:
                count = await sign_class_remotely(
                    request, state, school, year, class_id, signing_role, None, signable, form
                )
            signable = []
        for student in signable:
            try:
                if document == "pdf":
                    await sign_pdf_hocba(request, state, school, year, student, signing_role)
                else:
                    await sign_hocba(request, state, school, year, student, signing_role, None)
                count += 1
            except Conflict:
                continue
    except DomainError as error:
        return await _board(request, state, school, class_id, error.status, **refusal_message(request, error))
    return Redirect(f"/truong/{school}/lop/{class_id}/ky-so?year={year}&ky={count}", status_code=303)
