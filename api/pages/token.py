"""Signing a class's học bạ from the pages with the signer's USB token, through the local signing
helper on their computer (`hocba signing helper`, Điều 8: the key never leaves the token).

The page's script asks the service for the batch (`…/ky-usb/chuan-bi`: the same prepared documents as
`POST …/classes/{class}/signatures/prepare`, with a nonce), hands it with the PIN the signer typed to
the helper on loopback, then sends the signed documents back (`…/ky-usb/gui`), where they are checked
and recorded as `POST …/classes/{class}/signatures` does, all or none. The nonce binds the batch to
the page's session, the class, the role and the subject, for ten minutes; the PIN never reaches the
service."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State

from api.pages.staff import CLASS_PAGE, need_year
from api.pages.toolkit import csrf_of, form_of, page, refusal_message
from api.v1.class_signing import CLASS_SIZE, prepare_class, submit_class
from api.v1.params import ClassId, SchoolId
from ledger.base.errors import Conflict, DomainError, Forbidden, ValidationError

NONCE_SECONDS = 600
ROLES = ("SUBJECT_TEACHER", "HOMEROOM_TEACHER", "PRINCIPAL", "ORGANISATION")


def _binding(request: Request[Any, Any, Any], school: str, year: str, class_id: str, form: dict[str, str]) -> bytes:
    return "|".join((school, year, class_id, form.get("role", ""), form.get("subject", ""))).encode()


def _mac(request: Request[Any, Any, Any], issued: str, binding: bytes) -> str:
    key = csrf_of(request).encode()
    return hmac.new(key, b"usb-batch|" + issued.encode() + b"|" + binding, hashlib.sha256).hexdigest()[:32]


def _nonce(request: Request[Any, Any, Any], binding: bytes) -> str:
    issued = f"{int(time.time())}-{secrets.token_urlsafe(12)}"
    return f"{issued}.{_mac(request, issued, binding)}"


def _check_nonce(request: Request[Any, Any, Any], nonce: str, binding: bytes) -> None:
    issued, _, mac = nonce.partition(".")
    stamp = issued.partition("-")[0]
    fresh = stamp.isdigit() and 0 <= time.time() - int(stamp) <= NONCE_SECONDS
    if not (fresh and hmac.compare_digest(mac, _mac(request, issued, binding))):
        raise Forbidden(
            "signature.batch",
            "Lô ký này không phải của trang đang mở, hoặc đã quá 10 phút: hãy bấm ký lại.",
            "This batch is not this page's, or is more than 10 minutes old: sign again.",
        )


def _role(form: dict[str, str]) -> tuple[str, str | None]:
    role, subject = form.get("role", ""), form.get("subject") or None
    if role not in ROLES or (role == "SUBJECT_TEACHER") != (subject is not None):
        raise ValidationError("signature.role", "vai trò ký không hợp lệ", "unknown signing role", field="role")
    return role, subject


def _problem(request: Request[Any, Any, Any], error: DomainError) -> Response[Any]:
    shown = refusal_message(request, error)
    return Response({"code": error.code, **shown}, status_code=error.status)


@post(
    CLASS_PAGE + "/ky-usb/chuan-bi",
    operation_id="page_token_prepare",
    opt=page("signature.write"),
    status_code=200,
    include_in_schema=False,
)
async def token_prepare(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId
) -> Response[Any]:
    """The batch for the USB token: the pupils listed on the confirmation whose học bạ await the
    signer's part now, prepared as the API's class route prepares them, with the batch's nonce."""
    form = await form_of(request)
    year = need_year(request)
    try:
        role, subject = _role(form)
        only = [s for s in form.get("students", "").split(",") if s][:CLASS_SIZE] or None
        prepared, refusals = await prepare_class(request, state, school, year, class_id, role, subject, only=only)
        if not prepared:
            first = next((r for r in refusals.values() if r is not None and r.code != "signature.done"), None)
            raise first or Conflict("signature.done", "Phần này đã được ký và chưa thay đổi.", "Already signed.")
    except DomainError as error:
        return _problem(request, error)
    return Response(
        {
            "nonce": _nonce(request, _binding(request, school, year, class_id, form)),
            "documents": [
                {"student": p["student"], "document": base64.b64encode(p["document"]).decode()} for p in prepared
            ],
        }
    )


@post(
    CLASS_PAGE + "/ky-usb/gui",
    operation_id="page_token_submit",
    opt=page("signature.write"),
    status_code=200,
    include_in_schema=False,
)
async def token_submit(
    request: Request[Any, Any, Any], state: State, school: SchoolId, class_id: ClassId
) -> Response[Any]:
    """The batch signed by the USB token, back from the helper: checked and recorded as the API's class
    route records it, all or none; the answer says how many and where the page goes next."""
    form = await form_of(request)
    year = need_year(request)
    try:
        _role(form)  # as the batch was prepared for
        _check_nonce(request, form.get("nonce", ""), _binding(request, school, year, class_id, form))
        try:
            items = json.loads(form.get("documents", ""))
            signed = [(str(i["student"]), base64.b64decode(i["document"], validate=True)) for i in items]
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise ValidationError(
                "signature.batch_unreadable", "Lô đã ký không đọc được.", "The signed batch cannot be read."
            ) from None
        if not 1 <= len(signed) <= CLASS_SIZE:
            raise ValidationError("signature.batch_unreadable", "Lô đã ký trống.", "The signed batch is empty.")
        events = await submit_class(request, state, school, year, class_id, signed)
    except DomainError as error:
        return _problem(request, error)
    return Response({"count": len(events)})
