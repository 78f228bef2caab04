"""The witness's one operation, add-checkpoint (c2sp.org/tlog-witness), over its database.

A request names the size the client believes the witness holds (`old`), a consistency proof from that
tree to the new one, and the log's signed checkpoint. The witness cosigns only when the checkpoint is
signed by the log's key and extends, by a valid RFC 9162 consistency proof, the last tree it cosigned
for that log. Checking the stored size and storing the new tree happen under one lock per log, so two
requests can never roll its state back. A validly signed checkpoint that is smaller than what it
holds, or that forks from it, is refused and kept as evidence.

Answers follow the specification: 400 malformed (or `old` larger than the tree), 404 unknown log, 403
no valid signature of the log, 409 `old` is not the size held (the body says which, as
text/x.tlog.size), 422 the proof does not verify or the same size has another root, 200 the
cosignature line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ledger.base.clock import Clock, SystemClock
from ledger.format import merkle
from ledger.format.note import (
    COSIGNATURE_V1,
    EMPTY_ROOT,
    CheckpointText,
    Note,
    NoteError,
    Sign,
    VerifierKey,
    cosign,
    verify_log_signature,
    with_signatures,
)
from ledger.witness.tables import witness_checkpoints, witness_evidence, witness_logs

MAX_BODY = 16 * 1024
MAX_PROOF = 63
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class WitnessKey:
    """The witness's Ed25519 key: its name, its public key, and how it signs (on a token)."""

    name: str
    public_key: bytes
    sign: Sign

    @property
    def vkey(self) -> VerifierKey:
        return VerifierKey(self.name, COSIGNATURE_V1, self.public_key)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Request:
    old: int
    proof: tuple[bytes, ...]
    note: Note
    checkpoint: CheckpointText
    raw_note: bytes


def origin_hash(origin: str) -> str:
    """How the monitoring endpoint names a log: SHA-256 of its origin, in hex."""
    return hashlib.sha256(origin.encode()).hexdigest()


def parse_request(body: bytes) -> Request:
    """The add-checkpoint body: `old N`, up to 63 base64 proof lines, an empty line, the note."""
    if len(body) > MAX_BODY:
        raise NoteError(f"the request is larger than {MAX_BODY} bytes")
    try:
        data = body.decode()
    except UnicodeDecodeError:
        raise NoteError("the request is not UTF-8") from None
    head, separator, note_text = data.partition("\n\n")
    lines = head.split("\n")
    if not separator or not lines[0].startswith("old "):
        raise NoteError("the request starts with 'old N', then the proof, an empty line and the checkpoint")
    size = lines[0][4:]
    if not size.isdigit() or str(int(size)) != size:
        raise NoteError(f"'old {size}' is not a size")
    if len(lines) - 1 > MAX_PROOF:
        raise NoteError(f"a consistency proof has at most {MAX_PROOF} hashes")
    try:
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
    except binascii.Error:
        raise NoteError("a proof line is not base64") from None
    if any(len(node) != 32 for node in proof):
        raise NoteError("a proof line is not a 32-byte hash")
    note = Note.parse(note_text)
    return Request(int(size), proof, note, CheckpointText.parse(note.text), note_text.encode())


def request_body(old: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """What a log sends to add-checkpoint."""
    lines = [f"old {old}", *(base64.b64encode(node).decode() for node in proof)]
    return ("\n".join(lines) + "\n\n").encode() + note


class Witness:
    def __init__(self, engine: AsyncEngine, key: WitnessKey, clock: Clock | None = None) -> None:
        self.engine, self.key, self.clock = engine, key, clock or SystemClock()

    async def add_log(self, origin: str, vkey: VerifierKey) -> bool:
        """Witness the log `origin`, whose checkpoints `vkey` signs; False when it is already known
        with that key. A log is never re-keyed silently."""
        async with self.engine.begin() as conn:
            known = await conn.scalar(select(witness_logs.c.vkey).where(witness_logs.c.origin == origin))
            if known is not None:
                if known != str(vkey):
                    raise NoteError(f"the log {origin!r} is already witnessed with another key")
                return False
            await conn.execute(insert(witness_logs).values(origin=origin, vkey=str(vkey)))
        return True

    async def logs(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(witness_logs).order_by(witness_logs.c.origin))
            return [dict(r) for r in rows.mappings()]

    async def latest(self, hashed_origin: str) -> bytes | None:
        """The latest checkpoint cosigned for the log whose origin hashes to `hashed_origin`, with
        the log's signature and the cosignature."""
        async with self.engine.connect() as conn:
            for origin in (await conn.execute(select(witness_logs.c.origin))).scalars():
                if origin_hash(origin) == hashed_origin:
                    held = await _held(conn, origin)
                    return held[2] if held else None
        return None

    async def evidence(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(witness_evidence).order_by(witness_evidence.c.id))
            return [
                {**r, "submitted": bytes(r["submitted"]).decode(), "held": r["held"] and bytes(r["held"]).decode()}
                for r in rows.mappings()
            ]

    async def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = parse_request(body)
        except NoteError as exc:
            return Answer(400, f"{exc}\n".encode())
        checkpoint = request.checkpoint
        if request.old > checkpoint.tree_size:
            return await self._refused_smaller(request, Answer(400, b"old is larger than the checkpoint\n"))
        async with self.engine.connect() as conn:
            vkey_text = await conn.scalar(select(witness_logs.c.vkey).where(witness_logs.c.origin == checkpoint.origin))
        if vkey_text is None:
            return Answer(404, f"unknown log {checkpoint.origin}\n".encode())
        if not verify_log_signature(request.note, VerifierKey.parse(vkey_text)):
            return Answer(403, b"the checkpoint is not signed by the log's key\n")
        async with self.engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"witness:{checkpoint.origin}"},
            )
            held = await _held(conn, checkpoint.origin)
            size, root = (held[0], held[1]) if held else (0, EMPTY_ROOT)
            refusal = self._check(request, size, root)
            if refusal is not None:
                problem, answer = refusal
                if problem:
                    await _evidence(conn, checkpoint.origin, problem, request, held[2] if held else None)
                return answer
            now = self.clock.now()
            line = cosign(request.note, self.key.vkey, int(now.timestamp()), self.key.sign)
            if checkpoint.tree_size > size or held is None:
                cosigned = with_signatures(request.note, [line]).encode()
                await conn.execute(
                    insert(witness_checkpoints).values(
                        origin=checkpoint.origin,
                        tree_size=checkpoint.tree_size,
                        root=checkpoint.root,
                        note=cosigned,
                        cosigned_at=now,
                    )
                )
        return Answer(200, str(line).encode())

    def _check(self, request: Request, size: int, root: bytes) -> tuple[str | None, Answer] | None:
        """Why the request is refused (the evidence to keep, if any, and the answer), or None."""
        checkpoint = request.checkpoint
        if checkpoint.tree_size < size:
            return "smaller", Answer(409, f"{size}\n".encode(), SIZE_TYPE)
        if request.old != size:
            return None, Answer(409, f"{size}\n".encode(), SIZE_TYPE)
        if request.old == 0 and request.proof:
            return None, Answer(422, b"a proof from the empty tree must be empty\n")
        if checkpoint.tree_size == size:
            if checkpoint.root != root:
                return "fork", Answer(422, b"the same tree size with another root\n")
            return None
        if request.old and not merkle.verify_consistency(
            size, checkpoint.tree_size, root, checkpoint.root, request.proof
        ):
            return "inconsistent", Answer(422, b"the consistency proof does not verify\n")
        return None

    async def _refused_smaller(self, request: Request, answer: Answer) -> Answer:
        """A request whose `old` is larger than its tree: if the log's key signed it and the witness
        holds a larger tree, the log has rolled back; keep it."""
        async with self.engine.begin() as conn:
            vkey_text = await conn.scalar(
                select(witness_logs.c.vkey).where(witness_logs.c.origin == request.checkpoint.origin)
            )
            if vkey_text and verify_log_signature(request.note, VerifierKey.parse(vkey_text)):
                held = await _held(conn, request.checkpoint.origin)
                if held and held[0] > request.checkpoint.tree_size:
                    await _evidence(conn, request.checkpoint.origin, "smaller", request, held[2])
        return answer


async def _held(conn: AsyncConnection, origin: str) -> tuple[int, bytes, bytes, datetime] | None:
    t = witness_checkpoints
    row = (
        await conn.execute(
            select(t.c.tree_size, t.c.root, t.c.note, t.c.cosigned_at)
            .where(t.c.origin == origin)
            .order_by(t.c.tree_size.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]), bytes(row[2]), row[3])


async def _evidence(conn: AsyncConnection, origin: str, problem: str, request: Request, held: bytes | None) -> None:
    await conn.execute(
        insert(witness_evidence).values(
            origin=origin, problem=problem, old_size=request.old, submitted=request.raw_note, held=held
        )
    )
