"""Certificates: loading, chains, revocation, the identities they name, and the development PKI (which
only ledger.app and ledger.cli may import)."""
