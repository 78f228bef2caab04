"""The subjectAltName URIs that bind a certificate to what it may sign for: one school's ledger
service, one staff member of one school, one school's organisation (the seal), or one integration
account of one school (a TLS client)."""

from __future__ import annotations


def service_uri(school: str) -> str:
    """The subjectAltName URI that binds a service certificate to one school's ledger."""
    return f"urn:hocba:ledger-service:{school}"


def staff_uri(school: str, staff_id: str) -> str:
    """The subjectAltName URI that binds a personal certificate to a staff member of one school."""
    return f"urn:hocba:staff:{school}:{staff_id}"


def organisation_uri(school: str) -> str:
    """The subjectAltName URI of a school's organisation certificate (the seal, Điều 9.3)."""
    return f"urn:hocba:organisation:{school}"


def integration_uri(school: str, username: str) -> str:
    """The subjectAltName URI that binds a TLS client certificate to one integration account of one
    school (the Sở's repository, another school's service)."""
    return f"urn:hocba:integration:{school}:{username}"
