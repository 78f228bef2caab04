"""Every page, and the static assets, in one router."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from api.http.scope import PUBLIC
from api.pages.audit import access_log, audit_page, audit_verify, charts, timeline
from api.pages.board import board, board_sign
from api.pages.calendar import calendar_page, calendar_set_page, lock_page
from api.pages.family import report_card, student_document, student_page
from api.pages.homeroom import homeroom_page, homeroom_save, homeroom_sign
from api.pages.inbox import decide, inbox
from api.pages.people import account_disable_page, assignment_end_page, grant_decide_page, people_page
from api.pages.portal import portal_lookup_page, portal_page, portal_verify_page
from api.pages.progress import progress_page
from api.pages.sheet import (
    sheet_correction,
    sheet_import,
    sheet_import_check,
    sheet_page,
    sheet_save,
    sheet_sign,
    sheet_sign_hocba,
)
from api.pages.sign_in import home, login_page, login_submit, logout
from api.pages.summary import summary_page
from api.pages.token import token_prepare, token_submit
from api.pages.toolkit import PACKAGE, PAGE_ERRORS
from api.pages.year_end import reassessment_page, reassessment_save, summer_conduct_save, year_end_page

# What a browser is told about every page, error page and asset: scripts, styles and images from this
# service only, never inline; no page inside another site's frame; no page's address sent on. A page's
# script connects to this service, and to the signer's own computer only (the local signing helper of
# a USB token, on loopback).
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"connect-src 'self' http://127.0.0.1:*; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


async def page_headers(message: Any, scope: Any) -> None:
    """Litestar's before_send hook: the security headers on everything but the JSON API and its schema."""
    if message["type"] == "http.response.start" and not scope["path"].startswith(("/api/", "/schema")):
        message.setdefault("headers", [])
        message["headers"] = [*message["headers"], *SECURITY_HEADERS]


STATIC = create_static_files_router(
    path="/static", directories=[PACKAGE / "static"], opt={"action": PUBLIC}, include_in_schema=False
)


def page_router() -> Router:
    """Every page, with errors answered as pages (a sign-in page for a missing session)."""
    pages = [
        login_page,
        login_submit,
        logout,
        home,
        portal_page,
        portal_verify_page,
        portal_lookup_page,
        inbox,
        decide,
        calendar_page,
        lock_page,
        sheet_page,
        sheet_save,
        sheet_correction,
        sheet_sign,
        sheet_sign_hocba,
        sheet_import_check,
        sheet_import,
        board,
        board_sign,
        token_prepare,
        token_submit,
        audit_page,
        audit_verify,
        timeline,
        access_log,
        charts,
        people_page,
        grant_decide_page,
        assignment_end_page,
        account_disable_page,
        student_page,
        student_document,
        progress_page,
        homeroom_page,
        homeroom_save,
        homeroom_sign,
        summary_page,
        year_end_page,
        reassessment_page,
        reassessment_save,
        summer_conduct_save,
        report_card,
        calendar_set_page,
    ]
    return Router(
        path="/",
        route_handlers=[*pages, STATIC],
        exception_handlers=PAGE_ERRORS,
    )
