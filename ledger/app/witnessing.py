"""Publishing a school's checkpoints to its witnesses (c2sp.org/tlog-witness), as the scheduled
checkpoint job's second half.

For each log of each school, the latest checkpoint goes to every configured witness with a consistency
proof from the last tree that witness cosigned (0 at first). A cosignature that verifies with the
witness's key is kept in `hocba.cosignatures`; a checkpoint counts as published once a quorum of
witnesses cosigned it. A witness that cannot be reached delays publication and raises an alert, but
never holds back the school's work. A witness that holds a larger tree than the school (the database
was rolled back) or refuses the proof (history was rewritten) raises an alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import format_time
from ledger.base.logs import get_logger
from ledger.base.settings import Settings
from ledger.format.checkpoint import Checkpoint
from ledger.format.note import Note, NoteError, VerifierKey, cosigned_at
from ledger.log import store
from ledger.log.checkpointing import consistency_proof
from ledger.log.schema import ACCESS, EVENTS, Chain, cosignatures
from ledger.witness.state import request_body

log = get_logger(__name__)
TIMEOUT = 10.0


@dataclass(frozen=True)
class WitnessConfig:
    key: VerifierKey
    url: str

    @property
    def name(self) -> str:
        return self.key.name


def configured_witnesses(settings: Settings) -> list[WitnessConfig]:
    return [WitnessConfig(VerifierKey.parse(vkey), url) for vkey, url in settings.witnesses]


@dataclass
class Outcome:
    """What publishing did: cosignatures received, and the problems to raise as alerts."""

    cosigned: list[tuple[str, str, int, str]] = field(default_factory=list)  # school, log, size, witness
    problems: list[dict[str, Any]] = field(default_factory=list)


async def held_by(conn: AsyncConnection, school: str, chain: Chain, witness: WitnessConfig) -> int:
    """The largest tree of the school's log that `witness` cosigned as this database holds it now: a
    kept cosignature counts only if it verifies over the checkpoint now stored at its size."""
    t, c = cosignatures, chain.checkpoints
    rows = await conn.execute(
        select(t.c.tree_size, t.c.line, c.c.note)
        .join(c, (c.c.school_id == t.c.school_id) & (c.c.tree_size == t.c.tree_size))
        .where(t.c.school_id == school, t.c.log == chain.name, t.c.witness == witness.name)
        .order_by(t.c.tree_size.desc())
    )
    for size, line, note in rows:
        if note is None:
            continue
        text = Note.parse(bytes(note)).text
        lines = Note.parse(text + "\n" + bytes(line).decode()).signatures
        if cosigned_at(Note(text, lines), witness.key) is not None:
            return int(size)
    return 0


async def cosigners(conn: AsyncConnection, school: str, log_name: str, tree_size: int) -> list[dict[str, Any]]:
    t = cosignatures
    rows = await conn.execute(select(t).where(t.c.school_id == school, t.c.log == log_name, t.c.tree_size == tree_size))
    return [dict(r) for r in rows.mappings()]


def _problem(school: str, kind: str, witness: str, detail: dict[str, Any], now: datetime) -> dict[str, Any]:
    day = format_time(now)[:10]
    return {
        "school": school,
        "key": f"{kind}:{witness}:{detail.get('log')}:{detail.get('tree_size')}:{day}",
        "rule": kind,
        "username": None,
        "window_from": format_time(now),
        "window_to": format_time(now),
        "detail": {"witness": witness, **detail},
    }


class Publisher:
    def __init__(self, engine: AsyncEngine, witnesses: Sequence[WitnessConfig], now: datetime) -> None:
        self.engine, self.witnesses, self.now = engine, list(witnesses), now

    async def publish_all(self, only: str | None = None) -> Outcome:
        """Publish every school's latest checkpoints, or only the school `only`'s."""
        outcome = Outcome()
        if not self.witnesses:
            return outcome
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            for chain in (ACCESS, EVENTS):
                async with self.engine.connect() as conn:
                    schools = [only] if only else await store.school_ids(conn, chain)
                for school in schools:
                    async with self.engine.connect() as conn:
                        latest = await store.latest_checkpoint(conn, school, chain)
                    if latest is None or latest.checkpoint.note is None:
                        continue
                    for witness in self.witnesses:
                        await self._publish(client, witness, latest.checkpoint, chain, outcome)
        return outcome

    async def _publish(
        self, client: httpx.AsyncClient, witness: WitnessConfig, checkpoint: Checkpoint, chain: Chain, outcome: Outcome
    ) -> None:
        school, size = checkpoint.school, checkpoint.tree_size
        detail = {"log": chain.name, "tree_size": size}
        async with self.engine.connect() as conn:
            old = await held_by(conn, school, chain, witness)
        if old >= size:
            return  # the witness's cosignature of this very checkpoint is kept
        for _attempt in range(2):  # a 409 names the size the witness holds: one more try from there
            async with self.engine.connect() as conn:
                proof = await consistency_proof(conn, school, old, size, chain) if old else []
            assert checkpoint.note is not None
            try:
                answer = await client.post(
                    f"{witness.url}/add-checkpoint", content=request_body(old, proof, checkpoint.note)
                )
            except httpx.HTTPError as exc:
                log.warning("witness unavailable", witness=witness.name, school=school, error=str(exc))
                problem = {**detail, "error": type(exc).__name__}
                outcome.problems.append(_problem(school, "witness.unavailable", witness.name, problem, self.now))
                return
            if answer.status_code == 200:
                await self._keep(witness, checkpoint, chain, answer.content, outcome)
                return
            if answer.status_code == 409 and answer.text.strip().isdigit():
                held = int(answer.text.strip())
                if held > size:
                    log.error("a witness holds a larger tree than this database", witness=witness.name, school=school)
                    problem = {**detail, "witness_tree_size": held}
                    outcome.problems.append(_problem(school, "witness.ahead", witness.name, problem, self.now))
                    return
                old = held
                continue
            kind = "witness.refused" if answer.status_code == 422 else "witness.misconfigured"
            log.error("a witness refused a checkpoint", witness=witness.name, school=school, status=answer.status_code)
            problem = {**detail, "status": answer.status_code, "answer": answer.text[:500]}
            outcome.problems.append(_problem(school, kind, witness.name, problem, self.now))
            return

    async def _keep(
        self, witness: WitnessConfig, checkpoint: Checkpoint, chain: Chain, answer: bytes, outcome: Outcome
    ) -> None:
        """Keep the witness's cosignature, once it verifies with the witness's key over this tree."""
        assert checkpoint.note is not None
        try:
            lines = Note.parse(checkpoint.note.decode() + answer.decode()).signatures
        except (NoteError, UnicodeDecodeError):
            lines = ()
        note = Note.parse(checkpoint.note)
        for line in lines:
            at = cosigned_at(Note(note.text, (line,)), witness.key)
            if at is None:
                continue
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(cosignatures).values(
                        school_id=checkpoint.school,
                        log=chain.name,
                        tree_size=checkpoint.tree_size,
                        witness=witness.name,
                        line=str(line).encode(),
                        cosigned_at=datetime.fromtimestamp(at, UTC),
                    )
                )
            outcome.cosigned.append((checkpoint.school, chain.name, checkpoint.tree_size, witness.name))
            return
        problem = {"log": chain.name, "tree_size": checkpoint.tree_size, "answer": answer.decode(errors="replace")}
        outcome.problems.append(_problem(checkpoint.school, "witness.bad_cosignature", witness.name, problem, self.now))
