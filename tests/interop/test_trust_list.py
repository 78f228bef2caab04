"""Validation against a trust list (Điều 8, 12, 15), with a PKI independent of ours: a national root,
two licensed CAs under it (one with an OCSP responder, one publishing only a CRL) and staff
certificates issued by them. Certomancer's animator serves the OCSP responder and the CRLs over HTTP
on loopback, and the validator fetches them as it would from a real CA."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.serving import make_server

from ledger.app.runtime import Runtime, demo_time_stamper, stamp_with
from ledger.base.settings import Settings, SettingsError, load_settings
from signing.pdf.render import render_hocba
from signing.pdf.sign import sign_pdf
from signing.pdf.verify import verify_pdf
from signing.report import SignatureReport
from signing.x509.pki import Pki
from signing.x509.revocation import certificate_checks
from signing.x509.validation import OnlineRevocation, validate_certificate
from signing.xml import document as hocba_xml
from signing.xml import longterm, xades
from signing.xml import timestamp as xades_t
from signing.xml import verify as xml_verify
from tests.interop.test_pdf import DOC

KEYS = ("root", "ca", "ca-ocsp", "ca2", "teacher", "revoked", "teacher2")

CONFIG = """
external-url-prefix: "{prefix}"
keysets:
  vn:
    keys: {keys}
pki-architectures:
  vn:
    keyset: vn
    entity-defaults:
      country-name: VN
      organization-name: Hocba test PKI
    entities:
      root: {{common-name: National Root CA}}
      ca: {{common-name: Licensed CA One}}
      ca-ocsp: {{common-name: Licensed CA One OCSP}}
      ca2: {{common-name: Licensed CA Two}}
      teacher: {{common-name: Nguyen Thi Lan}}
      revoked: {{common-name: Tran Van Binh}}
      teacher2: {{common-name: Le Thi Hoa}}
    certs:
      root:
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2045-01-01T00:00:00+0000"}}
        profiles: [{{id: simple-ca, params: {{crl-repo: root}}}}]
      ca:
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2040-01-01T00:00:00+0000"}}
        profiles: [{{id: simple-ca, params: {{max-path-len: 0, crl-repo: ca, ocsp-service: ca}}}}]
      ca-ocsp:
        issuer: ca
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2040-01-01T00:00:00+0000"}}
        profiles: [ocsp-responder]
      ca2:
        issuer: root
        validity: {{valid-from: "2020-01-01T00:00:00+0000", valid-to: "2040-01-01T00:00:00+0000"}}
        profiles: [{{id: simple-ca, params: {{max-path-len: 0, crl-repo: ca2}}}}]
      teacher:
        issuer: ca
        validity: {{valid-from: "2025-01-01T00:00:00+0000", valid-to: "2035-01-01T00:00:00+0000"}}
        profiles: [digsig-commitment]
      revoked:
        issuer: ca
        validity: {{valid-from: "2025-01-01T00:00:00+0000", valid-to: "2035-01-01T00:00:00+0000"}}
        profiles: [digsig-commitment]
        revocation: {{revoked-since: "2026-01-01T00:00:00+0000", reason: key_compromise}}
      teacher2:
        issuer: ca2
        validity: {{valid-from: "2025-01-01T00:00:00+0000", valid-to: "2035-01-01T00:00:00+0000"}}
        profiles: [digsig-commitment]
    services:
      ocsp:
        ca: {{for-issuer: ca, responder-cert: ca-ocsp, signing-key: ca-ocsp}}
      crl-repo:
        root: {{for-issuer: root, signing-key: root, simulated-update-schedule: "P30D"}}
        ca: {{for-issuer: ca, signing-key: ca, simulated-update-schedule: "P7D"}}
        ca2: {{for-issuer: ca2, signing-key: ca2, simulated-update-schedule: "P1D"}}
"""


@dataclass
class Animated:
    animator: Animator
    certs: dict[str, x509.Certificate]
    keys: dict[str, ec.EllipticCurvePrivateKey]

    @property
    def roots(self) -> list[x509.Certificate]:
        return [self.certs["root"]]


@pytest.fixture(scope="module")
def animated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Animated]:
    directory = tmp_path_factory.mktemp("certomancer")
    keys: dict[str, ec.EllipticCurvePrivateKey] = {}
    for name in KEYS:
        key = keys[name] = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (directory / f"{name}.key.pem").write_bytes(pem)
    holder: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> Any:
        return holder["animator"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    keyset = "{" + ", ".join(f"{n}: {{path: {n}.key.pem}}" for n in KEYS) + "}"
    text = CONFIG.format(prefix=f"http://127.0.0.1:{server.server_port}", keys=keyset)
    config = CertomancerConfig.from_yaml(text, key_search_dir=str(directory))
    arch = config.get_pki_arch(ArchLabel("vn"))
    holder["animator"] = Animator(AnimatorArchStore(config.pki_archs), with_web_ui=False)
    certs = {
        name: x509.load_der_x509_certificate(arch.get_cert(CertLabel(name)).dump())
        for name in ("root", "ca", "ca2", "teacher", "revoked", "teacher2")
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Animated(holder["animator"], certs, keys)
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
async def online() -> AsyncIterator[OnlineRevocation]:
    fetching = OnlineRevocation(timeout=5)
    yield fetching
    await fetching.close()


def _signed_now() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


async def test_a_certificate_of_a_licensed_ca_validates_through_its_intermediate_dieu_8_15(
    animated: Animated, online: OnlineRevocation
) -> None:
    """Trusting only the national root: the chain goes through the licensed CA the signature
    carries, and the status comes from the CA's OCSP responder; the response is kept."""
    teacher, ca = animated.certs["teacher"], animated.certs["ca"]
    report = SignatureReport(signer="Nguyen Thi Lan")
    status = await certificate_checks(
        report, teacher, animated.roots, [], _signed_now(), intermediates=[ca], online=online
    )
    assert report.chain_trusted and report.valid_at_signing and report.revoked is False, report.findings
    assert report.findings == []
    assert status.ocsp_responses, "the OCSP response is kept with the signature"
    # without the licensed CA's certificate there is no chain to the root
    alone = await validate_certificate(teacher, animated.roots, [], _signed_now(), online=online)
    assert not alone.chain_trusted and [f.code for f in alone.findings] == ["certificate.untrusted"]


async def test_a_certificate_revoked_through_ocsp_is_refused_dieu_8_15(
    animated: Animated, online: OnlineRevocation
) -> None:
    revoked, ca = animated.certs["revoked"], animated.certs["ca"]
    report = SignatureReport(signer="Tran Van Binh")
    await certificate_checks(report, revoked, animated.roots, [], _signed_now(), intermediates=[ca], online=online)
    assert report.chain_trusted and report.revoked is True
    (finding,) = report.findings
    assert finding.code == "certificate.revoked"
    assert finding.vi.startswith("Chứng thư số đã bị thu hồi từ 2026-01-01")
    assert finding.en.startswith("The certificate was revoked at 2026-01-01")
    # signed before the revocation: the same responder's answer does not refuse it
    before = await validate_certificate(
        revoked, animated.roots, [], datetime(2025, 12, 1, tzinfo=UTC), intermediates=[ca], online=online
    )
    assert before.chain_trusted and before.revoked is False


async def test_the_ocsp_response_is_kept_in_the_xml_signature_and_verifies_offline_dieu_15_28_3(
    animated: Animated, online: OnlineRevocation, pki: Pki
) -> None:
    """XAdES-LT: a signature accepted with its status from the licensed CA's OCSP responder keeps that
    response and the chain in its unsigned properties; years later, offline and with no CRL, the
    certificate is judged from them at the signature's timestamp. Without them its status is unknown."""
    teacher, ca = animated.certs["teacher"], animated.certs["ca"]
    root = hocba_xml.build(DOC)
    hocba_xml.add_placeholder(root, "ck-toan", "SUBJECT_TEACHER", ["#subject-TOAN"])
    signed = xades.sign_prepared(
        hocba_xml.to_bytes(root), animated.keys["teacher"], teacher, signing_time=_signed_now(), chain=[ca]
    )
    roots = [animated.certs["root"], *pki.roots()]  # the national root; the demo TSA's
    accepted = await xml_verify.verify_signature(signed, 0, roots, [], _signed_now(), online=online)
    assert accepted.revoked is False and accepted.validation_chain == [
        c.public_bytes(serialization.Encoding.DER) for c in (ca, animated.certs["root"])
    ]
    document = hocba_xml.parse(signed)
    signature = document.find(f".//{{{hocba_xml.DS}}}Signature")
    stamp = stamp_with(demo_time_stamper(pki))
    xades_t.embed(signature, await stamp(xades_t.signature_value(signature) or b""))
    longterm.embed(signature, accepted.validation_chain, accepted.revocation_values)
    kept = longterm.embedded(signature)
    assert kept.present and kept.ocsp_responses and kept.certificates
    later = datetime(2034, 6, 1, tzinfo=UTC)  # the OCSP responder's answer long since stale
    report = await xml_verify.verify_timestamped(hocba_xml.to_bytes(document), 0, roots, [], at=later)
    assert report.profile == "XAdES-LT" and report.timestamp_valid
    assert report.chain_trusted and report.revoked is False, report.findings
    for kind in ("RevocationValues", "CertificateValues"):
        [element] = document.iter(f"{{{hocba_xml.XADES}}}{kind}")
        element.getparent().remove(element)
    bare = await xml_verify.verify_timestamped(hocba_xml.to_bytes(document), 0, roots, [], at=later)
    assert bare.profile == "XAdES-T" and bare.revoked is None
    assert "certificate.revocation_unknown" in {f.code for f in bare.findings}


async def test_hocba_revocation_online_has_the_service_ask_the_responders_dieu_12_15(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """HOCBA_REVOCATION=online: each submission is checked with a fetcher of its own, closed after;
    local (the default) keeps to the CRLs at hand; anything else is a clear settings error."""
    monkeypatch.setenv("HOCBA_REVOCATION", "online")
    assert load_settings().revocation == "online"
    async with Runtime(replace(settings, revocation="online"), "").revocation() as fetching:
        assert isinstance(fetching, OnlineRevocation)
    async with Runtime(settings, "").revocation() as none:
        assert none is None and settings.revocation == "local"
    monkeypatch.setenv("HOCBA_REVOCATION", "sometimes")
    with pytest.raises(SettingsError, match="HOCBA_REVOCATION"):
        load_settings()


async def test_a_stale_crl_is_refused_with_a_clear_message_dieu_12_15(animated: Animated) -> None:
    """The licensed CA that publishes only a CRL last issued it ten days ago, due for update the
    day after: a signature made now cannot be checked with it."""
    teacher2, ca2 = animated.certs["teacher2"], animated.certs["ca2"]
    fresh = OnlineRevocation(timeout=5)
    try:
        good = await validate_certificate(
            teacher2, animated.roots, [], _signed_now(), intermediates=[ca2], online=fresh
        )
    finally:
        await fresh.close()
    assert good.chain_trusted and good.revoked is False and good.crls

    animated.animator.fixed_time = datetime.now(UTC) - timedelta(days=10)
    stale = OnlineRevocation(timeout=5)
    try:
        report = SignatureReport(signer="Le Thi Hoa")
        await certificate_checks(report, teacher2, animated.roots, [], _signed_now(), intermediates=[ca2], online=stale)
    finally:
        animated.animator.fixed_time = None
        await stale.close()
    assert report.chain_trusted and report.revoked is None and not report.ok
    (finding,) = report.findings
    assert finding.code == "certificate.revocation_stale"
    assert "quá hạn cập nhật" in finding.vi and "past its next update" in finding.en


def test_the_trust_list_is_read_from_hocba_trust_roots_dieu_8(
    animated: Animated, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """In production the trust list is the national root and the licensed CAs the operator installs."""
    path = tmp_path_factory.mktemp("trust") / "trust.pem"
    path.write_bytes(
        b"".join(animated.certs[n].public_bytes(serialization.Encoding.PEM) for n in ("root", "ca", "ca2"))
    )
    runtime = Runtime(replace(settings, trust_roots=path), "")
    assert runtime.trusted_roots() == [animated.certs[n] for n in ("root", "ca", "ca2")]
    assert Runtime(settings, "").trusted_roots() == runtime.pki.roots()


async def test_a_pdf_signature_is_validated_the_same_way_dieu_15(
    animated: Animated, online: OnlineRevocation, pki: Pki
) -> None:
    """The principal's PDF signature by a certificate of the licensed CA, which the signature
    carries: valid; by one its OCSP responder reports revoked: refused with the same finding."""
    rendered = render_hocba(DOC)
    roots = [animated.certs["root"], *pki.roots()]  # the national root; the demo TSA's
    reports = {}
    for name in ("teacher", "revoked"):
        signed = await sign_pdf(
            rendered,
            animated.keys[name],
            animated.certs[name],
            chain=[animated.certs["ca"]],
            appearance="principal",
            role="PRINCIPAL",
            signer_name="Đoàn Thị Thủy",
            signing_time=_signed_now(),
            time_stamper=demo_time_stamper(pki),
            field_name="HieuTruong-2025-2026",
            year_index=0,
            doc=DOC,
        )
        reports[name] = (await verify_pdf(signed, roots, pki.crls(), online=online)).signatures[0]
    good, revoked = reports["teacher"], reports["revoked"]
    assert good.intact and good.chain_trusted and good.revoked is False, good.findings
    assert good.revocation_values
    assert revoked.chain_trusted and revoked.revoked is True
    assert {"pdf.revoked", "certificate.revoked"} <= {f.code for f in revoked.findings}


def test_a_demo_ca_publishes_its_crl_anew_before_it_goes_stale_dieu_12(tmp_path: Any) -> None:
    """Điều 12, 15: revocation information past its nextUpdate is refused; a demo kept for months
    must not lose every signature to that. Its CA, whose key is here, publishes the CRL anew, with the
    same entries, once it is within a day of its nextUpdate; a fresh one is left as it is."""
    pki = Pki(tmp_path / "pki")
    pki.init_demo()
    revoked = pki.issue_demo_personal("kp", "gv.toan01", "Trần Thị Chi").certificate
    pki.revoke(revoked)
    fresh = pki.crl()
    assert pki.crl().public_bytes(serialization.Encoding.DER) == fresh.public_bytes(serialization.Encoding.DER)
    ca = x509.load_pem_x509_certificate(pki.ca_path.read_bytes())
    past = datetime.now(UTC) - timedelta(days=40)
    entries = [(r.serial_number, r.revocation_date_utc) for r in fresh]
    key = serialization.load_pem_private_key((pki.directory / "ca.key.pem").read_bytes(), None)
    pki._sign_crl(pki.crl_path, ca, key, entries, this_update=past, next_update=past + timedelta(days=30))  # type: ignore[arg-type]
    renewed = pki.crls()[0]
    assert renewed.next_update_utc is not None and renewed.next_update_utc > datetime.now(UTC) + timedelta(days=20)
    assert [r.serial_number for r in renewed] == [revoked.serial_number]  # the same entries
    assert x509.load_pem_x509_crl(pki.crl_path.read_bytes()).next_update_utc == renewed.next_update_utc
