"""Certificates, keys and signatures: the development PKI, certificate checks, and (later) the học bạ
XML and PDF signatures. No web imports."""
