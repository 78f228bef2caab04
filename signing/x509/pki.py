"""The development PKI and the ledger service's signing keys.

Layout of a PKI directory (HOCBA_HOME/pki by default):

    root.pem, root.key.pem            the trust list: the root that stands in for the national root,
                                      then the licensed CA under it (ca.pem); the root's key (demo only)
    root.crl.pem                      the root's certificate revocation list (of the CAs under it)
    ca.pem, ca.key.pem                the intermediate CA that stands in for a licensed CA (demo only):
                                      it issues the staff and organisation certificates
    crl.pem                           the revocation list of the CA that issues staff certificates
    tsa.pem, tsa.key.pem              the licensed CA's RFC 3161 time-stamping authority (demo only)
    services/<school>.pem, .key.pem   the school's software-service certificate (Điều 9.5), which
                                      signs ledger checkpoints
    holders/<school>/<name>.p12       demo personal and organisation certificates with their keys
                                      (PKCS#12, password DEMO_P12_PASSWORD), as a token would hold them

The staff and organisation certificates name where their status is published: the CA's CRL
(CRL distribution point) and its OCSP responder (authority information access), as a licensed CA's
certificates do. The demo addresses are not served by `hocba serve`; the demo checks the CRLs kept
here.

In production the operator installs services/<school>.pem and its key as issued under the Sở's
approval, and the trust list (HOCBA_TRUST_ROOTS: the national root and the licensed CAs); no root
key is present and nothing is generated, and personal keys stay on their holders' tokens. In
development, missing service certificates are issued from the demo root on first use.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from ledger.base.errors import HocbaError
from ledger.base.logs import get_logger
from signing.x509.certs import PrivateKey, load_certificates
from signing.x509.keys import DocumentSigner, KeySigner
from signing.x509.names import integration_uri, organisation_uri, service_uri, staff_uri

log = get_logger(__name__)
DEMO_NOTICE = "DEMO - not for production use"


DEMO_P12_PASSWORD = b"hocba-demo"
DEMO_CRL_URI = "http://crl.hocba-demo.invalid/root.crl"  # the root's CRL
DEMO_CA_CRL_URI = "http://crl.hocba-demo.invalid/ca.crl"  # the licensed CA's CRL
DEMO_OCSP_URI = "http://ocsp.hocba-demo.invalid/ca"  # the licensed CA's OCSP responder
# The demo root, TSA and service certificates are valid from this day, so that a demo or a test can
# play a school year that lies in the past (personal certificates take their own start).
DEMO_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class PkiError(HocbaError, RuntimeError):
    """A certificate or key is missing or unusable."""


def _write_key(path: Path, key: PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, PrivateKey):
        raise PkiError(f"{path}: only EC and RSA keys are supported")
    return key


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """CA certificates sign certificates and CRLs; the others sign documents (digitalSignature and
    contentCommitment, which PAdES validators require by default)."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    issuer: x509.Name,
    issuer_key: PrivateKey,
    *,
    days: int,
    ca: bool,
    uris: tuple[str, ...] = (),
    valid_from: datetime | None = None,
    time_stamping: bool = False,
    path_length: int | None = 1,
    crl_uri: str | None = DEMO_CRL_URI,
    ocsp_uri: str | None = None,
) -> x509.Certificate:
    now = valid_from + timedelta(days=1) if valid_from else datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if uris:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]), critical=False
        )
    if crl_uri and issuer != subject:
        # Where relying parties find the issuer's CRL (NSS-based validators such as poppler's pdfsig
        # expect the extension on end-entity certificates).
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_uri)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if ocsp_uri:
        access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_uri))
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    if time_stamping:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def root_path(self) -> Path:
        return self.directory / "root.pem"

    @property
    def root_key_path(self) -> Path:
        return self.directory / "root.key.pem"

    def exists(self) -> bool:
        return self.root_path.exists()

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def root_crl_path(self) -> Path:
        return self.directory / "root.crl.pem"

    def roots(self) -> list[x509.Certificate]:
        """The trust list (root.pem): the root first, then the licensed CA under it."""
        if not self.root_path.exists():
            raise PkiError(f"no trusted root at {self.root_path}; run 'hocba pki init-demo' or install one")
        return load_certificates(self.root_path)

    def _issuer(self) -> tuple[x509.Certificate, PrivateKey, str, str | None]:
        """Who issues staff and organisation certificates: the licensed CA (the root in a PKI made
        before there was one), with its CRL and OCSP addresses."""
        if self.ca_path.exists():
            ca = load_certificates(self.ca_path)[0]
            return ca, _load_key(self.directory / "ca.key.pem"), DEMO_CA_CRL_URI, DEMO_OCSP_URI
        return self.roots()[0], _load_key(self.root_key_path), DEMO_CRL_URI, None

    def init_demo(self, *, force: bool = False) -> x509.Certificate:
        """Create the demo root (offline). Refuses to overwrite an existing PKI unless forced."""
        if self.exists() and not force:
            raise PkiError(f"a PKI already exists in {self.directory}; pass --force to replace it")
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"Hocba Demo Root CA ({DEMO_NOTICE})", "hocba-ledger demo")
        cert = _certificate(name, key.public_key(), name, key, days=365 * 25, ca=True, valid_from=DEMO_EPOCH)
        if force:
            for stale in (self.directory / "services").glob("*"):
                stale.unlink()
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(f"Hocba Demo Licensed CA ({DEMO_NOTICE})", "hocba-ledger demo")
        ca = _certificate(
            ca_name, ca_key.public_key(), name, key, days=365 * 20, ca=True, valid_from=DEMO_EPOCH, path_length=0
        )
        _write_key(self.root_key_path, key)
        _write_key(self.directory / "ca.key.pem", ca_key)
        _write_cert(self.ca_path, ca)
        # the trust list: the root, then the licensed CA under it
        self.root_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, ca)))
        tsa_key = ec.generate_private_key(ec.SECP256R1())
        tsa_name = _name("Hocba Demo Time-Stamping Authority", f"hocba-ledger ({DEMO_NOTICE})")
        tsa = _certificate(  # the licensed CA's time-stamping service
            tsa_name,
            tsa_key.public_key(),
            ca_name,
            ca_key,
            # as long as the licensed CA: the document timestamps of archived học bạ stay verifiable
            # until they are renewed (signing.pdf.archive)
            days=365 * 20,
            ca=False,
            time_stamping=True,
            valid_from=DEMO_EPOCH,
            crl_uri=DEMO_CA_CRL_URI,
        )
        _write_key(self.directory / "tsa.key.pem", tsa_key)
        _write_cert(self.directory / "tsa.pem", tsa)
        self._sign_crl(self.root_crl_path, cert, key, [])
        self._sign_crl(self.crl_path, ca, ca_key, [])
        log.warning("created a demo PKI; its certificates have no legal value", directory=str(self.directory))
        return cert

    def _service_paths(self, school: str) -> tuple[Path, Path]:
        base = self.directory / "services"
        return base / f"{school}.pem", base / f"{school}.key.pem"

    def service_certificate(self, school: str) -> x509.Certificate | None:
        """The school's service certificate installed in this PKI directory, if any."""
        cert_path, _ = self._service_paths(school)
        return load_certificates(cert_path)[0] if cert_path.exists() else None

    def issue_demo_service_certificate(self, school: str, public_key: ed25519.Ed25519PublicKey) -> x509.Certificate:
        """A demo service certificate (Điều 9.5) for a key the school holds elsewhere (its token)."""
        if not self.root_key_path.exists():
            raise PkiError(f"no demo root key in {self.directory}; cannot issue a service certificate")
        root_key = _load_key(self.root_key_path)
        root = self.roots()[0]
        subject = _name(f"Dịch vụ sổ cái học bạ - {school}", f"{school} ({DEMO_NOTICE})")
        cert = _certificate(
            subject,
            public_key,
            root.subject,
            root_key,
            days=365 * 12,
            ca=False,
            uris=(service_uri(school),),
            valid_from=DEMO_EPOCH,
        )
        cert_path, _ = self._service_paths(school)
        _write_cert(cert_path, cert)
        log.info("issued a demo service certificate", school=school)
        return cert

    def demo_service_key(self, school: str) -> KeySigner[ed25519.Ed25519PrivateKey]:
        """In development without a PKCS#11 token: the service key in a file beside its certificate
        (made on first use). Production refuses this; its key stays on a token."""
        cert_path, key_path = self._service_paths(school)
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(key, ed25519.Ed25519PrivateKey):
                return KeySigner(key, load_certificates(cert_path)[0])
        if not self.exists():
            self.init_demo()
        key = ed25519.Ed25519PrivateKey.generate()
        _write_key(key_path, key)
        return KeySigner(key, self.issue_demo_service_certificate(school, key.public_key()))

    def issue_demo_personal(
        self, school: str, staff_id: str, full_name: str, *, days: int = 365 * 3, valid_from: datetime | None = None
    ) -> DocumentSigner:
        """A staff member's personal certificate (digitalSignature and contentCommitment), for the demo
        and tests: in a school, personal keys live on the holder's token, never on the server."""
        issuer, issuer_key, crl_uri, ocsp_uri = self._issuer()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(full_name, f"{school} ({DEMO_NOTICE})")
        cert = _certificate(
            subject,
            key.public_key(),
            issuer.subject,
            issuer_key,
            days=days,
            ca=False,
            uris=(staff_uri(school, staff_id),),
            valid_from=valid_from,
            crl_uri=crl_uri,
            ocsp_uri=ocsp_uri,
        )
        return KeySigner(key, cert)

    def issue_demo_organisation(
        self, school: str, school_name: str, *, days: int = 365 * 3, valid_from: datetime | None = None
    ) -> DocumentSigner:
        """The school's organisation certificate, held by the clerk, for sealing issued học bạ (Điều 9.3)."""
        issuer, issuer_key, crl_uri, ocsp_uri = self._issuer()
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(
            _name(school_name, f"{school_name} ({DEMO_NOTICE})"),
            key.public_key(),
            issuer.subject,
            issuer_key,
            days=days,
            ca=False,
            uris=(organisation_uri(school),),
            valid_from=valid_from,
            crl_uri=crl_uri,
            ocsp_uri=ocsp_uri,
        )
        return KeySigner(key, cert)

    def save_holder(self, school: str, name: str, holder: DocumentSigner) -> Path:
        """Write a demo holder's certificate and key as a PKCS#12 file, as a token would hold them."""
        path = self.directory / "holders" / school / f"{name}.p12"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pkcs12.serialize_key_and_certificates(
            name.encode(),
            holder.key,
            holder.certificate,
            self.roots(),
            serialization.BestAvailableEncryption(DEMO_P12_PASSWORD),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def load_holder(self, school: str, name: str) -> DocumentSigner:
        """A demo holder's key and certificate, from the PKCS#12 file `save_holder` wrote."""
        path = self.directory / "holders" / school / f"{name}.p12"
        key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), DEMO_P12_PASSWORD)
        if key is None or cert is None or not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise PkiError(f"{path} holds no usable key and certificate")
        return KeySigner(key, cert)

    def time_stamper_key(self) -> tuple[PrivateKey, x509.Certificate]:
        """The local time-stamping authority's key and certificate (demo only)."""
        path = self.directory / "tsa.pem"
        if not path.exists():
            raise PkiError(f"no time-stamping authority in {self.directory}; run 'hocba pki init-demo --force'")
        return _load_key(self.directory / "tsa.key.pem"), load_certificates(path)[0]

    def issue_demo_time_stamper(
        self, *, valid_from: datetime, days: int, under_root: bool = False
    ) -> tuple[PrivateKey, x509.Certificate]:
        """A new key and certificate for the licensed CA's time-stamping authority, as an authority
        takes before its certificate expires (demo only: the archive timestamps' renewal is tried
        with it); `under_root`: issued by the root itself, for an authority that outlives the demo's
        licensed CA. Nothing is written."""
        if under_root:
            issuer, issuer_key = load_certificates(self.root_path)[0], _load_key(self.root_key_path)
        else:
            issuer, issuer_key = load_certificates(self.ca_path)[0], _load_key(self.directory / "ca.key.pem")
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"Hocba Demo Time-Stamping Authority {valid_from.year}", f"hocba-ledger ({DEMO_NOTICE})")
        cert = _certificate(
            name,
            key.public_key(),
            issuer.subject,
            issuer_key,
            days=days,
            ca=False,
            time_stamping=True,
            valid_from=valid_from,
            crl_uri=DEMO_CA_CRL_URI,
        )
        return key, cert

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    def crl(self) -> x509.CertificateRevocationList:
        """The revocation list of the CA that issues staff and organisation certificates."""
        if not self.crl_path.exists():
            raise PkiError(f"no CRL at {self.crl_path}")
        return self._published(self.crl_path)

    def crls(self) -> list[x509.CertificateRevocationList]:
        """Every revocation list kept here: the issuing CA's, then the root's (of the CAs under it)."""
        paths = [self.crl_path, self.root_crl_path]
        return [self._published(p) for p in paths if p.exists()]

    def _published(self, path: Path) -> x509.CertificateRevocationList:
        """The CRL kept at `path`, as its CA publishes it: a demo CA whose key is here issues it anew,
        with the same entries, once it is within a day of its nextUpdate, so that a demo kept for
        months still has fresh revocation information (a CRL past its nextUpdate is refused)."""
        crl = x509.load_pem_x509_crl(path.read_bytes())
        due = crl.next_update_utc
        if due is None or due > datetime.now(UTC) + timedelta(days=1):
            return crl
        root = self.roots()[0]
        if path == self.root_crl_path:
            issuer, key_path = root, self.root_key_path
        elif self.ca_path.exists():
            issuer, key_path = load_certificates(self.ca_path)[0], self.directory / "ca.key.pem"
        else:
            issuer, key_path = root, self.root_key_path
        if not key_path.exists():  # a CA of this installation's trust list, not of the demo: as kept
            return crl
        entries = [(r.serial_number, r.revocation_date_utc) for r in crl]
        return self._sign_crl(path, issuer, _load_key(key_path), entries)

    def revoke(self, certificate: x509.Certificate, at: datetime | None = None) -> x509.CertificateRevocationList:
        """Add a certificate to its issuer's CRL (revoked from `at`, default now) and re-issue it."""
        root = self.roots()[0]
        if self.ca_path.exists() and certificate.issuer == root.subject and self.root_crl_path.exists():
            path, issuer, key = self.root_crl_path, root, _load_key(self.root_key_path)
        else:
            issuer, key, _, _ = self._issuer()
            path = self.crl_path
        current = list(x509.load_pem_x509_crl(path.read_bytes())) if path.exists() else []
        entries = [(r.serial_number, r.revocation_date_utc) for r in current]
        if certificate.serial_number not in {serial for serial, _ in entries}:
            entries.append((certificate.serial_number, at or datetime.now(UTC)))
        return self._sign_crl(path, issuer, key, entries)

    def _write_crl(self, entries: list[tuple[int, datetime]]) -> x509.CertificateRevocationList:
        """Re-issue the issuing CA's CRL with exactly these entries."""
        issuer, key, _, _ = self._issuer()
        return self._sign_crl(self.crl_path, issuer, key, entries)

    def _sign_crl(
        self,
        path: Path,
        issuer: x509.Certificate,
        key: PrivateKey,
        entries: list[tuple[int, datetime]],
        *,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
    ) -> x509.CertificateRevocationList:
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(this_update or now - timedelta(minutes=5))
            .next_update(next_update or now + timedelta(days=30))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                critical=False,
            )
        )
        for serial, when in entries:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        crl = builder.sign(key, hashes.SHA256())
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return crl

    def issue_demo_client(
        self, school: str, account: str, *, days: int = 365, valid_from: datetime | None = None
    ) -> KeySigner[ec.EllipticCurvePrivateKey]:
        """A TLS client certificate for one integration account of a school (extendedKeyUsage
        clientAuth, keyUsage digitalSignature), from the licensed CA, naming the account in its
        subjectAltName (signing.x509.names.integration_uri), for the demo and tests: a real client
        holds a certificate its own CA issued, with the key on its server."""
        issuer, issuer_key, crl_uri, ocsp_uri = self._issuer()
        key = ec.generate_private_key(ec.SECP256R1())
        start = valid_from or datetime.now(UTC) - timedelta(days=1)
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_uri)], None, None, None)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{account} - {school}", f"{school} ({DEMO_NOTICE})"))
            .issuer_name(issuer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(integration_uri(school, account))]),
                critical=False,
            )
            .add_extension(x509.CRLDistributionPoints([point]), critical=False)
        )
        if ocsp_uri:
            access = x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_uri)
            )
            builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
        return KeySigner(key, builder.sign(issuer_key, hashes.SHA256()))
