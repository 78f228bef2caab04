"""Interoperability: independent verifiers (pdfsig, sha256sum, openssl) agree with ours."""
