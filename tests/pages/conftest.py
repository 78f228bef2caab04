"""The fixtures of the browser tests: one Chromium per session, a school in term I served on a
local port, and windows that photograph each page they reach under test-artifacts/screens/<test>/<who>/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.base.settings import Settings
from signing.x509.pki import Pki
from tests.support.browser import Visit, serve
from tests.support.web import TermSchool, school_in_term


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium (`apt-get install chromium`; ops/dev.py test installs it): Playwright drives
    it, nothing is downloaded."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is needed for the browser tests: apt-get install chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest.fixture
async def term(app_engine: AsyncEngine, settings: Settings, pki: Pki) -> TermSchool:
    return await school_in_term(app_engine, settings, pki)


@pytest.fixture
async def site(term: TermSchool) -> AsyncIterator[str]:
    async with serve(term.runtime) as url:
        yield url


@pytest.fixture
async def visit(chromium: Browser, artifacts: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    contexts = []

    async def open_window(base: str, who: str, width: int = 1280, height: int = 900) -> Visit:
        context = await chromium.new_context(locale="vi-VN", viewport={"width": width, "height": height})
        contexts.append(context)
        return Visit(await context.new_page(), base, artifacts / "screens" / request.node.name / who)

    yield open_window
    for context in contexts:
        await context.close()
