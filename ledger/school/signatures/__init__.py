"""Certificates and signatures in the ledger (the regulation's Điều 7–15, 18, 24.5; DOMAIN §6–7).

- Certificates are registered as events approved by the principal (Điều 9.4), and revoked the same
  way. A signature counts only with a registered certificate that was not revoked when it signed.
- Signing keys never reach the service. `prepare_signature` builds the XML học bạ as it stands, with
  room for the next signature and the references that role must sign; the signer signs on their side
  (`hocba sign`, signing.xml.xades.sign_all) and `submit_signature` checks the result against a
  document the service rebuilds itself, then appends `signature.added` with the signature element.
- Signing order: every subject teacher, then the homeroom teacher, then the principal, then the
  clerk with the organisation certificate (Điều 18, 24.5).
- A correction or a summer result marks stale the signature over the changed part and every later
  one (they cover it); stale signatures leave the document and must be made again (Điều 17.3).
"""
