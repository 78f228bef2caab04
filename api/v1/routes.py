"""Every route of /api/v1, in one list."""

from __future__ import annotations

from api.v1.admin import account_create, account_disable, import_rows
from api.v1.audit import audit_access, audit_alerts, ledger_checkpoint, ledger_verify, student_viewers
from api.v1.auth import auth_certificate, auth_challenge, auth_sign_out, auth_token, me, me_password
from api.v1.calendar import calendar_read, calendar_reopen, calendar_set, lock_set
from api.v1.certificates import certificate_list, certificate_register, certificate_revoke
from api.v1.class_signing import class_signature_prepare, class_signature_submit
from api.v1.corrections import (
    correction_approve,
    correction_file_conduct,
    correction_file_sheet,
    correction_list,
    correction_read,
    correction_reject,
)
from api.v1.homeroom import (
    absences_write,
    class_term_signature_prepare,
    class_term_signature_status,
    class_term_signature_submit,
    conduct_write,
    homeroom_comments_write,
    reassessments_write,
    summer_conduct_write,
)
from api.v1.integration import integration_feed, student_record_signed
from api.v1.issuance import hocba_issue, issued_list, issued_revoke, student_issued, student_issued_document
from api.v1.service import health, ready
from api.v1.sheets import (
    sheet_import,
    sheet_read,
    sheet_reconcile,
    sheet_signature_prepare,
    sheet_signature_status,
    sheet_signature_submit,
    sheet_write,
)
from api.v1.signatures import (
    hocba_pdf_read,
    hocba_xml_read,
    pki_crl,
    signature_prepare,
    signature_submit,
    signature_submit_pdf,
    time_stamp,
)
from api.v1.staffing import assignment_approve, assignment_end, assignment_listing, assignment_refuse
from api.v1.transcripts import assessment_evaluate, get_class_summary, student_transcript
from api.v1.transfers import (
    transfer_list,
    transfer_open,
    transfer_paper,
    transfer_prepare,
    transfer_receive,
    transfer_record,
    transfer_submit,
)

ROUTES = [
    health,
    ready,
    auth_token,
    auth_challenge,
    auth_certificate,
    me,
    me_password,
    auth_sign_out,
    assessment_evaluate,
    student_transcript,
    hocba_xml_read,
    signature_prepare,
    signature_submit,
    class_signature_prepare,
    class_signature_submit,
    hocba_pdf_read,
    signature_submit_pdf,
    time_stamp,
    pki_crl,
    certificate_list,
    hocba_issue,
    integration_feed,
    student_issued,
    student_issued_document,
    student_record_signed,
    issued_list,
    issued_revoke,
    transfer_open,
    transfer_paper,
    transfer_list,
    transfer_prepare,
    transfer_submit,
    transfer_record,
    transfer_receive,
    certificate_register,
    certificate_revoke,
    get_class_summary,
    sheet_read,
    sheet_write,
    sheet_import,
    sheet_reconcile,
    sheet_signature_status,
    sheet_signature_prepare,
    sheet_signature_submit,
    conduct_write,
    absences_write,
    homeroom_comments_write,
    reassessments_write,
    summer_conduct_write,
    class_term_signature_status,
    class_term_signature_prepare,
    class_term_signature_submit,
    import_rows,
    account_create,
    account_disable,
    assignment_listing,
    assignment_approve,
    assignment_refuse,
    assignment_end,
    ledger_checkpoint,
    ledger_verify,
    audit_access,
    audit_alerts,
    student_viewers,
    calendar_set,
    calendar_reopen,
    calendar_read,
    lock_set,
    correction_file_sheet,
    correction_file_conduct,
    correction_list,
    correction_read,
    correction_approve,
    correction_reject,
]
