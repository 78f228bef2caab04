"""Every page, and the static assets, in one router."""

from __future__ import annotations

from litestar import Router
from litestar.static_files import create_static_files_router

from api.http.scope import PUBLIC
from api.pages.audit import access_log, audit_page, audit_verify, charts, timeline
from api.pages.board import board, board_sign
from api.pages.calendar import calendar_page, lock_page
from api.pages.inbox import decide, inbox
from api.pages.portal import portal_lookup_page, portal_page, portal_verify_page
from api.pages.sheet import sheet_correction, sheet_page, sheet_save, sheet_sign, sheet_sign_hocba
from api.pages.sign_in import home, login_page, login_submit, logout
from api.pages.toolkit import PACKAGE, PAGE_ERRORS

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
        board,
        board_sign,
        audit_page,
        audit_verify,
        timeline,
        access_log,
        charts,
    ]
    return Router(path="/", route_handlers=[*pages, STATIC], exception_handlers=PAGE_ERRORS)
