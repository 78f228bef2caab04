"""Reference outputs that a change of layout must leave byte for byte: the OpenAPI document, the help of
every `hocba` command, and the replay digests of a small demo database (every read model's rows).

`HOCBA_UPDATE_GOLDEN=1 python3 ops/dev.py test tests/scenario/test_golden.py` rewrites them; a diff of
tests/scenario/golden/ then shows what a change did to a public contract.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import helpers

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("HOCBA_UPDATE_GOLDEN") == "1"


def _compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with HOCBA_UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see the diff with HOCBA_UPDATE_GOLDEN=1"


async def test_openapi_document_is_unchanged(api: httpx.AsyncClient) -> None:
    answer = await api.get("/schema/openapi.json")
    assert answer.status_code == 200
    _compare("openapi.json", json.dumps(answer.json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_help_of_every_command_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.cli.main import build_parser

    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    pages = [f"$ {p.prog} --help\n{p.format_help()}" for p in _parsers(build_parser())]
    _compare("cli-help.txt", "\n".join(pages))


@pytest.mark.slow
async def test_replay_digests_of_a_small_demo_are_unchanged(env: dict[str, str], app_engine: AsyncEngine) -> None:
    """A demo school built with every source of randomness seeded (the generator's own seed, and the
    bytes behind uuid4), so that the rows of every read model, and so their digests, are the same on
    every run."""
    from ledger.app.demo import build_demo_school

    school = "golden"  # every row carries it; the session's database is new, so the id is free
    rng = random.Random(15)
    with mock.patch("os.urandom", lambda n: rng.randbytes(n)):
        await build_demo_school(app_engine, school, classes_per_grade=1, students_per_class=3, corrections=True)
    done = helpers.hocba("replay", "--school", school, "--json", env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["ok"] is True
    digests = {t["table"]: t["live"] for t in report["tables"]}
    text = json.dumps({"events": report["events"], "tables": digests}, indent=2, sort_keys=True) + "\n"
    _compare("replay.json", text)
