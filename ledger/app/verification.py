"""What `hocba verify`, the nightly job and a restore check the ledger against, beyond the chain itself
(ledger.log.verify): the installation's policy (how long an event may wait for a checkpoint, the
witnesses and their quorum, the revocation lists), and the trees known outside the database, which
it must hold unchanged:

- checkpoints held outside: a client's saved checkpoint (JSON), a list of them, a backup's manifest,
  an issued XML học bạ (its receipt), a witness's latest cosigned note;
- the checkpoints carried by the receipts of the học bạ this school issued;
- what each configured witness last cosigned, asked over HTTP (skipped, and said, when unreachable).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.app.verify_pool import verify_logs
from ledger.app.witnessing import WitnessConfig, configured_witnesses
from ledger.base.errors import HocbaError
from ledger.format.checkpoint import LOGS, Checkpoint, origin
from ledger.format.note import CheckpointText, Note, NoteError, cosigned_at
from ledger.log import store
from ledger.log.report import Anchor, VerifyPolicy, VerifyReport
from ledger.log.schema import EVENTS, events
from ledger.log.verify import Progress
from ledger.school.calendar.tables import CALENDAR_REOPENED
from ledger.school.issuance.tables import HOCBA_RECEIPT, documents
from signing.x509.checkpoints import checkpoint_problems
from signing.xml import receipt


class AnchorError(HocbaError, ValueError):
    """A file given as a checkpoint held outside cannot be read as one."""


@dataclass
class Anchors:
    anchors: list[Anchor] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be consulted, said once each


def policy_for(runtime: Runtime, anchors: Sequence[Anchor] = ()) -> VerifyPolicy:
    settings = runtime.settings
    return VerifyPolicy(
        now=runtime.clock.now(),
        max_unsigned=timedelta(seconds=settings.max_unsigned_seconds),
        witnesses=tuple(w.key for w in configured_witnesses(settings)),
        quorum=settings.witness_quorum,
        anchors=tuple(anchors),
        crls=tuple(runtime.crls()),
    )


def _from_checkpoint(checkpoint: Checkpoint, source: str, roots: Sequence[Any]) -> Anchor:
    problems = checkpoint_problems(checkpoint, roots)
    if problems:
        raise AnchorError(f"{source}: the checkpoint cannot be trusted: {problems[0]}")
    return Anchor(checkpoint.school, checkpoint.log, checkpoint.tree_size, checkpoint.root, source)


def anchors_from_file(path: Path, roots: Sequence[Any], witnesses: Sequence[WitnessConfig]) -> list[Anchor]:
    """The trees a file held outside vouches for: a checkpoint (JSON, or a list), a backup manifest,
    an issued XML học bạ's receipt, or a witness's cosigned note."""
    data = path.read_bytes()
    source = path.name
    if data.lstrip().startswith(b"<"):
        try:
            carried = receipt.carried_checkpoint(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorError(f"{source}: the ledger receipt cannot be read ({exc})") from None
        if carried is None:
            raise AnchorError(f"{source}: an XML file without a ledger receipt")
        return [_from_checkpoint(carried, source, roots)]
    try:
        doc = json.loads(data)
    except ValueError:
        return [_from_note(data, source, witnesses)]
    items = doc.get("checkpoints", []) if isinstance(doc, dict) and "checkpoints" in doc else doc
    items = items if isinstance(items, list) else [items]
    anchors = []
    for item in items:
        try:
            raw = item["checkpoint"] if isinstance(item, dict) and "checkpoint" in item else item
            anchors.append(_from_checkpoint(Checkpoint.from_json(raw), source, roots))
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorError(f"{source}: not a checkpoint ({exc})") from None
    return anchors


def _from_note(data: bytes, source: str, witnesses: Sequence[WitnessConfig]) -> Anchor:
    """A note a witness cosigned: it counts only with a cosignature of a configured witness."""
    try:
        note = Note.parse(data)
        text = CheckpointText.parse(note.text)
    except (NoteError, UnicodeDecodeError) as exc:
        raise AnchorError(f"{source}: neither a checkpoint nor a signed note: {exc}") from None
    return _note_anchor(note, text, source, witnesses)


def _note_anchor(note: Note, text: CheckpointText, source: str, witnesses: Sequence[WitnessConfig]) -> Anchor:
    cosigners = [w.name for w in witnesses if cosigned_at(note, w.key) is not None]
    if not cosigners:
        raise AnchorError(f"{source}: the note is cosigned by none of the configured witnesses")
    parts = text.origin.rsplit("/", 2)
    if len(parts) != 3 or parts[2] not in LOGS:
        raise AnchorError(f"{source}: {text.origin!r} is not the name of a school's log")
    return Anchor(parts[1], parts[2], text.tree_size, text.root, f"{source} (cosigned by {', '.join(cosigners)})")


async def receipt_anchors(conn: AsyncConnection, school: str) -> list[Anchor]:
    """The checkpoints carried by the receipts of the học bạ the school issued (its `hocba.receipt`
    events name the stored XML)."""
    rows = await conn.execute(select(events.c.body).where(events.c.school_id == school, events.c.type == HOCBA_RECEIPT))
    digests = [decode_payload(body).get("xml_sha256") for (body,) in rows]
    anchors = []
    for digest in digests:
        if not digest:
            continue
        content = await conn.scalar(
            select(documents.c.content).where(documents.c.school_id == school, documents.c.sha256 == digest)
        )
        try:
            checkpoint = receipt.carried_checkpoint(bytes(content)) if content is not None else None
        except (KeyError, TypeError, ValueError):
            checkpoint = None  # the stored XML's own verification names it
        if checkpoint is not None and checkpoint.school == school:
            source = f"the receipt of {digest[:12]}…"
            anchors.append(Anchor(school, checkpoint.log, checkpoint.tree_size, checkpoint.root, source))
    return anchors


def decode_payload(body: bytes) -> dict[str, Any]:
    doc = json.loads(body)
    payload = doc.get("payload") if isinstance(doc, dict) else None
    return payload if isinstance(payload, dict) else {}


async def ask_witness(client: httpx.AsyncClient, witness: WitnessConfig, name: str) -> Anchor | None:
    """The tree `witness` last cosigned for the log `name` (None when it witnesses no such log).
    Raises httpx.HTTPError when it cannot be asked, AnchorError when its answer is not its cosigned note."""
    answer = await client.get(f"{witness.url}/{hashlib.sha256(name.encode()).hexdigest()}/checkpoint")
    if answer.status_code != 200:
        return None
    source = f"the witness {witness.name}"
    try:
        note = Note.parse(answer.content)
        anchor = _note_anchor(note, CheckpointText.parse(note.text), source, [witness])
    except NoteError as exc:
        raise AnchorError(f"{source} answered what is not its cosigned note: {exc}") from None
    return replace(anchor, source=source)


async def witness_anchors(runtime: Runtime, schools: Sequence[str]) -> Anchors:
    """What each configured witness last cosigned for the schools' logs."""
    result = Anchors()
    witnesses = configured_witnesses(runtime.settings)
    if not witnesses:
        return result
    async with httpx.AsyncClient(timeout=10.0) as client:
        for witness in witnesses:
            for school in schools:
                for log in LOGS:
                    try:
                        anchor = await ask_witness(client, witness, origin(runtime.settings.origin_prefix, school, log))
                    except httpx.HTTPError as exc:
                        result.notes.append(f"the witness {witness.name} could not be asked: {type(exc).__name__}")
                        break
                    except AnchorError as exc:
                        result.notes.append(str(exc))
                        continue
                    if anchor is not None:
                        result.anchors.append(anchor)
    return result


# Events the verify report counts for auditors: each one let history move in a way the calendar alone
# would refuse, on an authority named in the event (Điều 25.4).
NOTED = {CALENDAR_REOPENED: "reopenings"}


async def verify_installation(
    runtime: Runtime,
    schools: Sequence[str] | None = None,
    *,
    files: Sequence[Path] = (),
    ask_witnesses: bool = True,
    roots: Sequence[Any] | None = None,
    progress: Progress | None = None,
) -> tuple[VerifyReport, list[str]]:
    """Verify both logs of the schools (default: all) against the installation's policy, the files
    held outside, the receipts of issued học bạ and, unless told not to, the witnesses. Returns the
    report and what could not be consulted."""
    roots = list(roots) if roots is not None else runtime.trusted_roots()
    witnesses = configured_witnesses(runtime.settings)
    engine = runtime.engine(AUDITOR_ROLE)
    anchors: list[Anchor] = [a for path in files for a in anchors_from_file(path, roots, witnesses)]
    async with engine.connect() as conn:
        names = list(schools) if schools is not None else await store.school_ids(conn, EVENTS)
        for school in names:
            anchors += await receipt_anchors(conn, school)
    notes: list[str] = []
    if ask_witnesses:
        asked = await witness_anchors(runtime, names)
        anchors += asked.anchors
        notes += asked.notes
    report = await verify_logs(runtime.url, engine, roots, schools, progress, policy=policy_for(runtime, anchors))
    async with engine.connect() as conn:
        for result in report.of("events"):
            found = await store.count_types(conn, result.school, list(NOTED))
            result.noted = {NOTED[kind]: count for kind, count in found.items()}
    return report, notes
