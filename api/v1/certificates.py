"""Certificates registered with the school and their revocations (Điều 9.4)."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.http.problems import ERRORS
from api.http.scope import actor_for, ledger_of, principal_of, runtime_of
from api.v1.params import SCHOOL, Fingerprint, RevocationIn, SchoolId, appended
from ledger.app.db import AUDITOR_ROLE
from ledger.base.errors import ValidationError
from ledger.log.projection import read
from ledger.school.signatures.certificates import register_certificate, revoke_certificate
from ledger.school.signatures.tables import certificates


class CertificateIn(msgspec.Struct):
    certificate: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, description="PEM, or base64 DER")]


@get(
    f"{SCHOOL}/certificates",
    operation_id="certificate_list",
    opt={"action": "certificate.read"},
    responses=ERRORS,
    summary="The certificates registered with the school, and their revocations",
)
async def certificate_list(state: State, school: SchoolId) -> dict[str, Any]:
    async with runtime_of(state).engine(AUDITOR_ROLE).connect() as conn:
        rows = await read(conn, certificates, school, order_by=["fingerprint"])
    keep = (
        "fingerprint",
        "holder",
        "serial",
        "subject",
        "not_before",
        "not_after",
        "approved_by",
        "revoked_at",
        "revocation_reason",
    )
    return {"items": [{k: row[k] for k in keep} for row in rows]}


@post(
    f"{SCHOOL}/certificates",
    operation_id="certificate_register",
    opt={"action": "certificate.manage"},
    responses=ERRORS,
    summary="Register a personal or organisation certificate, approved by the principal (Điều 9.4)",
)
async def certificate_register(
    request: Request[Any, Any, Any], state: State, school: SchoolId, data: JSONBody[CertificateIn]
) -> dict[str, Any]:
    from cryptography import x509

    raw = data.certificate.strip().encode()
    try:
        cert = (
            x509.load_pem_x509_certificate(raw)
            if raw.startswith(b"-----")
            else x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
        )
    except ValueError:
        raise ValidationError(
            "certificate.invalid", "chứng thư số không đọc được", "the certificate is unreadable", field="certificate"
        ) from None
    runtime = runtime_of(state)
    events = await register_certificate(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), cert, runtime.trusted_roots()
    )
    return appended(events)


@post(
    f"{SCHOOL}/certificates/{{fingerprint:str}}/revoke",
    operation_id="certificate_revoke",
    opt={"action": "certificate.manage"},
    status_code=HTTP_200_OK,
    responses=ERRORS,
    summary="Record that a certificate is revoked (the principal)",
)
async def certificate_revoke(
    request: Request[Any, Any, Any],
    state: State,
    school: SchoolId,
    fingerprint: Fingerprint,
    data: JSONBody[RevocationIn],
) -> dict[str, Any]:
    events = await revoke_certificate(
        ledger_of(state), school, actor_for(principal_of(request), "PRINCIPAL"), fingerprint, data.reason
    )
    return appended(events)
