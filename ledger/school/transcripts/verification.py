"""What the PDF học bạ prints for checking it at the public portal (the regulation's Điều 2.14, 31):
the verification code (mã xác minh) and the address of the portal's lookup, for a QR code.

The code is a function of the service's secret and the học bạ id (one per student and school year),
so it is known when the PDF is rendered for its first signature, stays the same when the học bạ is
revoked and issued again, and is kept nowhere: neither the ledger nor the XML học bạ, which
integration clients read, carries it. The PDF does: it is the family's copy, and whoever holds it
already holds all that the lookup confirms (that this học bạ was issued, and its status)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import urlencode

PORTAL_PATH = "/cong-xac-minh"  # the portal's page, whose lookup form the QR code fills in
LOOKUP_ANCHOR = "tra-cuu"  # the lookup form on that page


def verification_code(secret: bytes, school: str, hocba: str) -> str:
    """The verification code of a học bạ: ten characters (A–Z, 2–7), in two groups of five."""
    digest = hmac.new(secret, f"hocba-verification:{school}:{hocba}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


@dataclass(frozen=True)
class Verification:
    """The service's secret and its public address (HOCBA_PUBLIC_URL), from which a học bạ's printed
    verification part is made. Changing either changes what every PDF not yet issued prints: their
    PDF signatures must then be made again, and codes printed before no longer match."""

    secret: bytes = field(repr=False)
    public_url: str  # without a trailing slash, e.g. https://hocba.example.edu.vn

    def code(self, school: str, hocba: str) -> str:
        return verification_code(self.secret, school, hocba)

    def portal(self) -> str:
        """The portal's address as a family types it."""
        return f"{self.public_url}{PORTAL_PATH}"

    def lookup_url(self, school: str, hocba: str) -> str:
        """The portal's lookup with the school, the học bạ id and the code filled in: a family then
        types the student's name, date of birth and personal identifier, which stay out of the
        address (and of the logs and histories an address passes through)."""
        query = urlencode({"school": school, "hocba_id": hocba, "code": self.code(school, hocba)})
        return f"{self.portal()}?{query}#{LOOKUP_ANCHOR}"

    def printed(self, school: str, hocba: str) -> dict[str, str]:
        """The part of the PDF's document model that `signing.pdf.render` prints on the first page."""
        return {"code": self.code(school, hocba), "portal": self.portal(), "url": self.lookup_url(school, hocba)}
