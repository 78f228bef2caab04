"""Whose key signs on the pages (Điều 8): the staff member's own, at the licensed CA's remote-signing
service (CSC API), authorised once for the whole batch with the PIN or OTP typed into the page; or,
in development, the account's demo key.

The PIN/OTP travels in the form's body to this process, goes into the one `credentials/authorize`
request of the batch, and is dropped with the request: it is not stored, logged, kept in the access
trail, or written back into a page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from cryptography.x509.oid import NameOID
from litestar import Request
from litestar.datastructures import State
from pyhanko.sign.general import SigningError

from api.http.scope import ledger_of, principal_of, runtime_of
from api.pages.staff import demo_sign
from api.v1.class_signing import prepare_class, submit_class
from api.v1.signatures import check_signer, signer_of
from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.base.errors import Conflict, Refused, Unavailable, ValidationError
from ledger.school.signatures.commands import submit_pdfs
from ledger.school.signatures.queries import pdf_document
from signing.pdf.sign import sign_pdfs
from signing.x509.csc import AuthorisationRefused, CscKey
from signing.x509.signers import SignerError
from signing.xml import xades

PDF_TIMEOUT = 300  # seconds for a class's PDFs at the remote-signing service

REMOTE = "csc"  # the form's `key` when the signer signs at their remote-signing service
CREDENTIAL_LENGTH = 200
PIN_LENGTH = 64


def remote_offered(runtime: Runtime) -> bool:
    """The pages offer remote signing once the school names its CA's remote-signing service."""
    return runtime.settings.csc_url is not None


def by_remote_key(form: Mapping[str, str]) -> bool:
    return form.get("key") == REMOTE


def _remote_key(runtime: Runtime, form: Mapping[str, str]) -> CscKey:
    url = runtime.settings.csc_url
    if url is None:
        raise ValidationError(
            "signature.csc_unconfigured",
            "Trường chưa khai báo dịch vụ ký số từ xa (HOCBA_CSC_URL).",
            "The school has named no remote-signing service (HOCBA_CSC_URL).",
            field="key",
        )
    credential = form.get("credential", "").strip()
    secret = form.get("pin", "")
    if not credential or len(credential) > CREDENTIAL_LENGTH:
        raise ValidationError(
            "signature.csc_credential",
            "Hãy nhập mã chứng thư số (credential) của thầy/cô tại dịch vụ ký số từ xa.",
            "Type your credential's id at the remote-signing service.",
            field="credential",
        )
    if not secret or len(secret) > PIN_LENGTH:
        raise ValidationError(
            "signature.csc_pin",
            "Hãy nhập mã PIN hoặc mã OTP để xác thực việc ký.",
            "Type the PIN or the one-time code that authorises the signatures.",
            field="pin",
        )
    token_file = runtime.settings.csc_token_file
    token = token_file.read_text(encoding="utf-8").strip() if token_file is not None else None
    return CscKey(url, credential, token, pin=secret)


async def remotely_signed(runtime: Runtime, key: CscKey, prepared: Sequence[bytes]) -> list[bytes]:
    """Every prepared document signed at the signer's remote-signing service under one authorisation
    (`credentials/authorize` over every hash, then `signatures/signHash`)."""
    async with _remote(key):
        return await xades.sign_all(prepared, key, signing_time=runtime.clock.now())


@asynccontextmanager
async def _remote(key: CscKey) -> AsyncIterator[CscKey]:
    """The remote credential open for one batch; its refusals said as the page says them."""
    try:
        async with key:
            yield key
    except AuthorisationRefused:
        raise Refused(
            "signature.csc_refused",
            "Dịch vụ ký số từ xa không chấp nhận mã xác thực (PIN/OTP sai, đã hết hạn hoặc bị khoá). "
            "Chưa có chữ ký nào được lưu.",
            "The remote-signing service refused the authorisation (the PIN or OTP is wrong, expired or "
            "locked). Nothing was signed.",
            field="pin",
        ) from None
    except SignerError as exc:
        raise Unavailable(
            "signature.csc_unavailable",
            "Không ký được qua dịch vụ ký số từ xa (mã chứng thư số không có, hoặc dịch vụ không trả lời). "
            "Chưa có chữ ký nào được lưu.",
            f"Could not sign at the remote-signing service: {exc}. Nothing was signed.",
            field="credential",
        ) from None


async def signed_one(
    request: Request[Any, Any, Any], state: State, school: str, form: Mapping[str, str], prepared: bytes
) -> bytes:
    """One prepared document (a class sheet, a class's term record) signed with the key the signer
    chose: at their remote-signing service, or the account's demo key."""
    runtime = runtime_of(state)
    if by_remote_key(form):
        [signed] = await remotely_signed(runtime, _remote_key(runtime, form), [prepared])
        return signed
    return demo_sign(runtime, school, principal_of(request).staff_id, prepared)


async def sign_class_remotely(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    class_id: str,
    role: str,
    subject: str | None,
    students: Sequence[str],
    form: Mapping[str, str],
) -> int:
    """The signer's part of the pupils' học bạ, as the API's class routes prepare and record it: the
    same prepared documents (a subject teacher's hold their subject alone), one authorisation at the
    remote-signing service for the whole batch, then every signature checked and recorded, or none."""
    runtime = runtime_of(state)
    key = _remote_key(runtime, form)
    prepared, refusals = await prepare_class(request, state, school, year, class_id, role, subject, only=students)
    if not prepared:
        first = next((refusal for refusal in refusals.values() if refusal is not None), None)
        if first is not None and first.code != "signature.done":
            raise first
        raise Conflict("signature.done", "Phần này đã được ký và chưa thay đổi.", "Already signed, unchanged since.")
    signed = await remotely_signed(runtime, key, [p["document"] for p in prepared])
    events = await submit_class(
        request, state, school, year, class_id, [(p["student"], data) for p, data in zip(prepared, signed, strict=True)]
    )
    return len(events)


async def sign_pdfs_remotely(
    request: Request[Any, Any, Any],
    state: State,
    school: str,
    year: str,
    role: str,
    students: Sequence[str],
    form: Mapping[str, str],
) -> int:
    """The principal's signature or the seal on the PDF học bạ of the pupils (Điều 13), each with a
    timestamp of the school's authority, made at the signer's remote-signing service under one
    authorisation for them all, then checked and recorded together, all or none."""
    runtime = runtime_of(state)
    key = _remote_key(runtime, form)
    principal = principal_of(request)
    waiting = []
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        for student in students:
            await check_signer(conn, principal, school, year, student, role, None)
            current, done = await pdf_document(conn, school, year, student, runtime.verification())
            if role not in {r["role"] for r in done}:
                waiting.append((student, current))
    if not waiting:
        raise Conflict("signature.done", "Phần này đã được ký và chưa thay đổi.", "Already signed, unchanged since.")
    now, stamper = runtime.clock.now(), runtime.time_stamper()
    async with _remote(key):
        names = key.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        try:
            signed = await asyncio.wait_for(
                sign_pdfs(  # one authorisation, or one per `multisign` PDFs
                    [current for _, current in waiting],
                    key,
                    chain=[c for c in key.chain if c != key.certificate],
                    appearance="principal" if role == "PRINCIPAL" else "seal",
                    role=role,
                    signer_name=str(names[0].value) if names else "",
                    signing_time=now,
                    time_stamper=stamper,
                    field_name=f"ky-{role.lower()}",
                ),
                PDF_TIMEOUT,
            )
        except TimeoutError:
            raise SignerError("the remote-signing service did not answer in time") from None
        except (SigningError, aiohttp.ClientError) as exc:
            raise key.failure(exc) from None
    events = await submit_pdfs(
        ledger_of(state),
        school,
        signer_of(request),
        year,
        [(student, pdf) for (student, _), pdf in zip(waiting, signed, strict=True)],
        runtime.trusted_roots(),
        runtime.crls(),
        verification=runtime.verification(),
    )
    return len(events)


def token_batch(
    school: str, year: str, class_id: str, role: str, subject: str | None, students: Sequence[str]
) -> dict[str, str]:
    """What the confirmation hands the page's script to sign the pupils' học bạ with a USB token
    through the local signing helper (api.pages.token)."""
    base = f"/truong/{school}/lop/{class_id}/ky-usb"
    return {
        "prepare": f"{base}/chuan-bi?year={year}",
        "submit": f"{base}/gui?year={year}",
        "role": role,
        "subject": subject or "",
        "students": ",".join(students),
    }
