"""Small builders shared by tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledger.envelope import NewEvent
from tests.conftest import ADMIN


def noted(count: int, start: int = 0) -> list[NewEvent]:
    return [NewEvent("test.noted", {"n": start + i}, ADMIN) for i in range(count)]


def hocba(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `hocba` console script."""
    script = Path(sys.executable).with_name("hocba")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=timeout)
