"""The access audit trail: every request, allowed or refused, sealed into a verifiable log."""
