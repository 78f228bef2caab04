"""Certificates registered and revoked on the principal's approval (Điều 9.4), and the registered
certificate a submitted signature must have been made with."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ledger.base.clock import VN_TZ, format_time, parse_time
from ledger.base.errors import NotFound, Refused, ValidationError
from ledger.format.envelope import Actor, Event, NewEvent
from ledger.log.append import Ledger, SchoolSession
from ledger.log.projection import read
from ledger.school.accounts.queries import account_row
from ledger.school.rules.policy import AccountKind
from ledger.school.rules.roles import Role
from ledger.school.signatures.tables import (
    CERTIFICATE_REGISTERED,
    CERTIFICATE_REVOKED,
    CLIENT_HOLDER,
    certificates,
)
from ledger.school.years.queries import holds, roster
from ledger.school.years.tables import staff
from signing.x509.certs import san_uris
from signing.x509.names import integration_uri, organisation_uri, staff_uri
from signing.x509.validation import chains_to_trust_list
from signing.xml import document as hocba_xml
from signing.xml import verify as xml_verify


def signature_refusal(code: str, vi: str, en: str, rule: str = "Điều 8, 15") -> Refused:
    return Refused(code, vi, en, field="document", rule=rule)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _holder(cert: x509.Certificate, school: str) -> str | None:
    prefix = staff_uri(school, "")
    for uri in san_uris(cert):
        if uri == organisation_uri(school):
            return "organisation"
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return None


async def _principal(session: SchoolSession, actor: Actor) -> None:
    if not await holds(session, str(actor.user), Role.PRINCIPAL, session.now().date()):
        raise Refused(
            "certificate.approval",
            "Chỉ hiệu trưởng phê duyệt việc đăng ký hay thu hồi chứng thư số.",
            "Only the principal approves registering or revoking a certificate.",
            field="actor",
            rule="Điều 9.4",
        )


async def _require_trusted(cert: x509.Certificate, trusted_roots: Sequence[x509.Certificate]) -> None:
    if not await chains_to_trust_list(cert, trusted_roots):
        raise ValidationError(
            "certificate.untrusted",
            "chứng thư số không do tổ chức được tin cậy cấp",
            "the certificate is not issued by a trusted root",
            field="certificate",
            rule="Điều 9",
        )


async def _registration(session: SchoolSession, actor: Actor, cert: x509.Certificate, holder: str) -> list[NewEvent]:
    """The `certificate.registered` event of `cert` for `holder`; none when it is registered already."""
    if await read(session.conn, certificates, session.school, fingerprint=fingerprint(cert)):
        return []
    payload = {
        "fingerprint": fingerprint(cert),
        "holder": holder,
        "serial": format(cert.serial_number, "x"),
        "subject": cert.subject.rfc4514_string(),
        "not_before": format_time(cert.not_valid_before_utc),
        "not_after": format_time(cert.not_valid_after_utc),
        "certificate": base64.b64encode(cert.public_bytes(Encoding.DER)).decode(),
    }
    return [NewEvent(CERTIFICATE_REGISTERED, payload, actor)]


async def register_certificate(
    ledger: Ledger, school: str, actor: Actor, cert: x509.Certificate, trusted_roots: Sequence[x509.Certificate]
) -> list[Event]:
    """Register a staff member's personal certificate or the school's organisation certificate."""
    await _require_trusted(cert, trusted_roots)
    holder = _holder(cert, school)
    if holder is None:
        raise ValidationError(
            "certificate.holder",
            f"chứng thư số không cấp cho cán bộ hay tổ chức của trường {school}",
            f"the certificate names no staff member or organisation of school {school}",
            field="certificate",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _principal(session, actor)
        if holder != "organisation" and not await read(session.conn, staff, session.school, staff_id=holder):
            raise NotFound(
                "staff.unknown", f"không có cán bộ {holder}", f"no staff member {holder}", field="certificate"
            )
        return await _registration(session, actor, cert, holder)

    return await ledger.decide(school, decide)


async def register_client_certificate(
    ledger: Ledger,
    school: str,
    actor: Actor,
    username: str,
    cert: x509.Certificate,
    trusted_roots: Sequence[x509.Certificate],
) -> list[Event]:
    """Register the TLS client certificate an integration account authenticates with: it must chain
    to the trust list, be a client certificate (extendedKeyUsage clientAuth) and name this account of
    this school in its subjectAltName. The principal approves, as for every certificate and as for
    opening the integration account itself, which reads every record (Điều 5.3c, 9.4)."""
    await _require_trusted(cert, trusted_roots)
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = x509.ExtendedKeyUsage([])
    if x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise ValidationError(
            "certificate.not_client",
            "chứng thư số không dùng để xác thực máy khách (thiếu clientAuth)",
            "the certificate is not a TLS client certificate (no clientAuth extended key usage)",
            field="certificate",
        )
    if integration_uri(school, username) not in san_uris(cert):
        raise ValidationError(
            "certificate.holder",
            f"chứng thư số không cấp cho tài khoản kết nối {username} của trường {school}",
            f"the certificate does not name the integration account {username} of school {school}",
            field="certificate",
        )

    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _principal(session, actor)
        account = await account_row(session.conn, session.school, username)
        if account is None or account["disabled"] or account["kind"] != AccountKind.INTEGRATION.value:
            raise NotFound(
                "account.unknown",
                f"không có tài khoản kết nối {username} đang hoạt động",
                f"no active integration account {username}",
                field="username",
            )
        return await _registration(session, actor, cert, f"{CLIENT_HOLDER}{username}")

    return await ledger.decide(school, decide)


async def revoke_certificate(
    ledger: Ledger, school: str, actor: Actor, cert_fingerprint: str, reason: str, at: datetime | None = None
) -> list[Event]:
    async def decide(session: SchoolSession) -> list[NewEvent]:
        await _principal(session, actor)
        rows = await read(session.conn, certificates, session.school, fingerprint=cert_fingerprint)
        if not rows:
            raise NotFound("certificate.unknown", "chứng thư số chưa đăng ký", "no such registered certificate")
        if rows[0]["revoked_at"]:
            return []
        when = format_time(at or session.now())
        return [NewEvent(CERTIFICATE_REVOKED, {"fingerprint": cert_fingerprint, "at": when, "reason": reason}, actor)]

    return await ledger.decide(school, decide)


async def registered_certificate(
    session: SchoolSession, wrapper: Any, signed_at: datetime, known: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The school's registration of the certificate that made the signature in `wrapper` (a ChuKy),
    which must not have been revoked at the signing time (Điều 9.4, 13). `known` keeps the
    registrations read for a batch of signatures, by fingerprint."""
    cert = xml_verify.first_certificate(wrapper.find(f"{{{hocba_xml.DS}}}Signature"))
    assert cert is not None
    digest = fingerprint(cert)
    known = {} if known is None else known
    if digest not in known:
        known[digest] = await read(session.conn, certificates, session.school, fingerprint=digest)
    registered = known[digest]
    if not registered:
        raise signature_refusal(
            "certificate.unregistered",
            "Chứng thư số chưa được đăng ký với nhà trường.",
            "The certificate is not registered with the school.",
            "Điều 9.4",
        )
    if registered[0]["revoked_at"] and parse_time(registered[0]["revoked_at"]) <= signed_at:
        raise signature_refusal("certificate.revoked", "Chứng thư số đã bị thu hồi.", "The certificate was revoked.")
    return registered[0]


class Holders:
    """Who holds which role, and who is in which class, as a batch of signatures is checked: each
    assignment and roster is read once for the batch (a class's signatures share them)."""

    def __init__(self, session: SchoolSession) -> None:
        self.session = session
        self._held: dict[tuple[Any, ...], bool] = {}
        self._rosters: dict[tuple[str, str], list[str]] = {}

    async def holds(self, user: str, role: Role, day: date, **scope: Any) -> bool:
        key = (user, role, day, *sorted(scope.items()))
        if key not in self._held:
            self._held[key] = await holds(self.session, user, role, day, **scope)
        return self._held[key]

    async def roster(self, year: str, class_id: str) -> list[str]:
        if (year, class_id) not in self._rosters:
            self._rosters[(year, class_id)] = await roster(self.session, year, class_id)
        return self._rosters[(year, class_id)]

    async def check(
        self,
        actor: Actor,
        role: str,
        holder: str,
        year: str,
        class_id: str,
        student: str,
        subject: str | None,
        signed_at: datetime,
        *,
        in_place: bool = False,
    ) -> None:
        """The signer is the certificate's holder and holds the role for this student (of `class_id`)
        at signing time (`in_place`: the signer signs for a departed teacher, and was found entitled
        to, Điều 18.5, 18.7)."""
        user, day = str(actor.user), signed_at.astimezone(VN_TZ).date()
        if role == "ORGANISATION":
            ok = holder == "organisation" and await self.holds(user, Role.CLERK, day)
        elif holder != user:
            ok = False
        elif in_place:
            ok = True
        elif role == "SUBJECT_TEACHER":
            ok = await self.holds(user, Role.SUBJECT_TEACHER, day, year=year, class_id=class_id, subject=subject)
        elif role == "HOMEROOM_TEACHER":
            ok = await self.holds(user, Role.HOMEROOM_TEACHER, day, year=year, class_id=class_id)
        else:
            ok = await self.holds(user, Role.PRINCIPAL, day) or await self.holds(user, Role.LEADERSHIP, day)
        if not ok:
            raise Refused(
                "signature.not_assigned",
                f"{user} không giữ vai trò {role} cho học sinh này vào ngày {day.isoformat()}, hoặc chứng thư số "
                "không phải của người này.",
                f"{user} does not hold {role} for this student on {day.isoformat()}, or the certificate is not theirs.",
                field="actor",
                rule="Điều 18",
            )
        if student not in await self.roster(year, class_id):
            raise NotFound("student.not_enrolled", "học sinh không học lớp này", "the student is not in this class")
