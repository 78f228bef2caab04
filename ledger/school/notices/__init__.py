"""Notices to families: each issuance and revocation of a học bạ waits for its notice to be sent."""
