"""The XML học bạ (schema: signing/xml/schema/hocba-1.xsd) and its XAdES-T signatures.

The document has one part with an `Id` per responsibility: `student` (HoSo), `subject-<CODE>` (one
MonHoc per subject), `homeroom` (ChuNhiem), `decision` (QuyetDinh) and `issuance` (BanHanh). Each
signature sits in its own `ChuKy` element, in signing order, and references by URI exactly the parts
of its role plus every earlier `ChuKy`, so a later signature covers the earlier ones:

    SUBJECT_TEACHER   #subject-<CODE>
    HOMEROOM_TEACHER  #homeroom + earlier signatures
    PRINCIPAL         #student #decision + earlier signatures
    ORGANISATION      #issuance + earlier signatures (the clerk, with the school's organisation
                      certificate)

The same schema holds three more documents signed the same way: the transfer record (`ChuyenTruong`,
signing/transfer.py: the principal signs #student #transfer, the clerk seals #transfer), the class
sheet (`BangDiemLop`, ledger/school/class_sheets: the subject teacher signs #sheet) and the class's
term record (`KetQuaHocKy`, ledger/school/class_sheets: the homeroom teacher signs #term).

The signed properties carry SigningTime (ISO 8601, +07:00) and the role (ClaimedRole); KeyInfo
carries the certificate; the unsigned properties carry the school's timestamp over the signature
value, embedded by the service when it accepts the signature (`timestamp`, XAdES-T). Signing
happens on the signer's side (`xades.sign_all`, used by `hocba sign` with a token, a remote-signing
service or a demo file; `xades.sign_prepared` with a demo key in memory, by the demo and the pages);
`verify.verify_xml` checks a whole file offline.
"""
