"""Small builders shared by tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ledger import store
from ledger.append import Ledger
from ledger.envelope import NewEvent
from ledger.errors import DomainError
from tests.conftest import ADMIN


def noted(count: int, start: int = 0) -> list[NewEvent]:
    return [NewEvent("test.noted", {"n": start + i}, ADMIN) for i in range(count)]


def hocba(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `hocba` console script."""
    script = Path(sys.executable).with_name("hocba")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=timeout)


async def head(ledger: Ledger, school: str) -> int:
    async with ledger.engine.connect() as conn:
        return (await store.read_head(conn, school)).seq


async def refused(ledger: Ledger, school: str, code: str, attempt: Callable[[], Awaitable[Any]]) -> DomainError:
    """The attempt is refused with `code`, in both languages, and appends nothing."""
    before = await head(ledger, school)
    with pytest.raises(DomainError) as caught:
        await attempt()
    assert caught.value.code == code, caught.value.en
    assert caught.value.vi and caught.value.en
    assert await head(ledger, school) == before
    return caught.value
