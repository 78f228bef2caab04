"""Driving the pages in a real browser: Debian's Chromium through Playwright, against the service
served by uvicorn on a local port in the test's event loop. Every page a visit reaches is checked for
a label on every input, select and text area, and saved as a screenshot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Page

from api.app import create_app
from ledger.app.runtime import Runtime
from tests.support.web import PASSWORD

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.labels === null || e.labels.length === 0).map(e => e.name || e.id)"""


@asynccontextmanager
async def serve(runtime: Runtime) -> AsyncIterator[str]:
    """The application on a free local port, in this event loop, until the test ends."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime, scheduler=False), lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


class Visit:
    """One person's browser window: each page they reach is checked for labels and photographed."""

    def __init__(self, page: Page, base: str, folder: Path) -> None:
        self.page, self.base, self.folder, self.count = page, base, folder, 0

    async def shot(self, name: str) -> None:
        assert await self.page.evaluate(UNLABELLED) == [], f"{name}: every input has a label"
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)

    async def go(self, path: str, name: str) -> None:
        await self.page.goto(self.base + path)
        await self.shot(name)

    async def sign_in(self, school: str, username: str, name: str = "dang-nhap") -> None:
        await self.page.goto(self.base + "/dang-nhap")
        await self.page.fill("#school", school)
        await self.page.fill("#username", username)
        await self.page.fill("#password", PASSWORD)
        await self.shot(name)
        await self.page.get_by_role("button", name="Đăng nhập", exact=True).click()
        await self.page.wait_for_url(f"**/truong/{school}")


SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The outermost elements that reach past the window's right edge, to name what overflows.
TOO_WIDE = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
  && !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 1))
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)"""
