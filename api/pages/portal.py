"""The public verification portal as pages (the regulation's Điều 2.14, 31): upload a học bạ and read
the report, or look one up by its five details."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Template

from api.http.scope import PUBLIC, entry_of, runtime_of
from api.pages.staff import student_names
from api.pages.toolkit import CHECKS, lang_of, render, text_of
from api.v1.portal import MAX_UPLOAD, LookupIn, lookup, throttled, verification
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import DomainError, Unavailable
from ledger.log.projection import read
from ledger.school.schools.tables import schools
from ledger.school.years.tables import staff, subjects


async def _named(state: State, issued: dict[str, Any] | None, student: str | None) -> dict[str, Any] | None:
    """An issued học bạ with the names a family reads: the school's and the student's, not codes. The
    visitor holds this very file (or its five details), which names both."""
    if issued is None:
        return None
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        school = await read(conn, schools, issued["school"])
        names = await student_names(conn, issued["school"], [student] if student else [])
        staff_rows = await read(conn, staff, issued["school"])
        subject_rows = await read(conn, subjects, issued["school"], year=issued["year"])
    return {
        **issued,
        "school_name": (school[0]["name"] if school else None) or issued["school"],
        "student_name": names.get(student or "", ""),
        # the signers by name: the school that issued this very file names its staff
        "signers": {r["staff_id"]: r["full_name"] for r in staff_rows},
        # a subject teacher's signature covers the part of their subject: named as the học bạ names it
        "subjects": {f"subject-{r['code']}": r["name"] for r in subject_rows},
    }


def _portal(request: Request[Any, Any, Any], template: str, title: str, status: int = 200, **context: Any) -> Template:
    text = text_of(request)
    labels = {**text, "intact": text["intact_check"], "revoked": text["revoked_check"]}
    return render(request, template, title, status, labels=labels, **context)


PREFILLED = {"school": 63, "hocba_id": 200, "code": 20}  # the lookup's details a QR code may carry, their lengths


@get("/cong-xac-minh", operation_id="page_portal", opt={"action": PUBLIC}, include_in_schema=False)
async def portal_page(request: Request[Any, Any, Any]) -> Template:
    """The portal. The QR code on the PDF học bạ opens it with the school, the học bạ id and the
    verification code in the query (ledger.school.transcripts.verification), filled into the lookup
    form: the family types the rest, which never travels in an address."""
    given = {key: request.query_params.get(key, "").strip() for key in PREFILLED}
    prefill = {key: value if len(value) <= PREFILLED[key] else "" for key, value in given.items()}
    return _portal(request, "portal.html", "portal", prefill=prefill)


@post(
    "/cong-xac-minh",
    operation_id="page_portal_verify",
    opt={"action": PUBLIC},
    status_code=200,
    include_in_schema=False,
    request_max_body_size=MAX_UPLOAD + 64 * 1024,
)
async def portal_verify_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Template | Response[Any]:
    blocked = await throttled(request, state)
    if blocked is not None:
        return _portal(request, "portal_result.html", "report", 429, error=text_of(request)["too_many"])
    upload = data.get("file")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    if not body or len(body) > MAX_UPLOAD:
        entry_of(request).reason = "portal.no_file" if not body else "upload.too_large"
        status = 422 if not body else 413
        return _portal(request, "portal_result.html", "report", status, error=text_of(request)["bad_file"])
    try:
        outcome = await verification(state.runtime, body)
    except DomainError as refused:  # beyond the upload limits, or the workers are busy (Điều 20)
        entry_of(request).reason = refused.code
        error = refused.vi if lang_of(request) == "vi" else refused.en
        page = _portal(request, "portal_result.html", "report", refused.status, error=error)
        if isinstance(refused, Unavailable):
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    if outcome["student"] is not None:
        entry_of(request).touch([outcome["student"]])
    return _portal(
        request,
        "portal_result.html",
        "report",
        checks=CHECKS,
        report=outcome["report"],
        ledger=outcome["ledger"],
        issued=await _named(state, outcome["issued"], outcome["student"]),
        revoked=outcome["revoked"],
    )


@post(
    "/cong-xac-minh/tra-cuu",
    operation_id="page_portal_lookup",
    opt={"action": PUBLIC},
    status_code=200,
    include_in_schema=False,
)
async def portal_lookup_page(
    request: Request[Any, Any, Any],
    state: State,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template:
    blocked = await throttled(request, state)
    if blocked is not None:
        return _portal(request, "portal_result.html", "lookup_result", 429, error=text_of(request)["too_many"])
    try:
        details = msgspec.convert({k: (v or "").strip() for k, v in data.items()}, LookupIn)
    except msgspec.ValidationError:
        entry_of(request).reason = "portal.bad_lookup"
        return _portal(request, "portal_result.html", "lookup_result", 422, error=text_of(request)["bad_lookup"])
    found = await lookup(state.runtime, details)
    if found is None:
        entry_of(request).reason = "portal.no_match"
        return _portal(request, "portal_result.html", "lookup_result", 404, error=text_of(request)["no_match"])
    entry_of(request).touch([details.student_id])
    return _portal(request, "portal_result.html", "lookup_result", found=await _named(state, found, details.student_id))
