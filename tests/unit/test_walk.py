"""The chain walk's check of each row (ledger.log.walk.checked_batch): a body passes only when it is
the canonical RFC 8785 encoding of the event its row holds. The rows are built here as the database
returns them; the attacks on a real database are in tests/log/test_verify.py."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from ledger.format.canonical import canonical_bytes
from ledger.format.envelope import GENESIS_HASH
from ledger.log.walk import ChainWalker, checked_batch

SCHOOL = "khanh-phu"
WHEN = "2026-11-30T08:00:00.000000+07:00"


def body_of(seq: int, event_id: str, payload: object) -> bytes:
    doc = {
        "actor": {"on_behalf_of": None, "role": "SUBJECT_TEACHER", "user": "gv.lan"},
        "id": event_id,
        "payload": payload,
        "recorded_at": WHEN,
        "schema": 1,
        "school": SCHOOL,
        "seq": seq,
        "type": "assessment.recorded",
        "v": 1,
    }
    return canonical_bytes(doc)


def rows_of(bodies: list[bytes], ids: list[str]) -> list[tuple[object, ...]]:
    rows, prev = [], GENESIS_HASH
    for seq, (body, event_id) in enumerate(zip(bodies, ids, strict=True), start=1):
        digest = hashlib.sha256(b"\x00" + prev + body).digest()
        rows.append((seq, prev, digest, body, event_id, "assessment.recorded", WHEN))
        prev = digest
    return rows


def walked(second: bytes | None = None, payload: object = None) -> list[tuple[int, str]]:
    """Walk three rows; the second body is `second` if given (re-hashed, so only its form is wrong)."""
    ids = [str(uuid.uuid4()) for _ in range(3)]
    bodies = [
        body_of(seq, ids[seq - 1], payload if seq == 2 and payload is not None else {"n": seq}) for seq in (1, 2, 3)
    ]
    if second is not None:
        bodies[1] = second.replace(b"@ID@", ids[1].encode())
    walker = ChainWalker()
    _, problems = checked_batch(walker, rows_of(bodies, ids), SCHOOL)
    assert walker.findings == []  # the hashes were recomputed: only the bodies' form can be wrong
    return [(seq, kind) for seq, kind, _ in problems]


def test_canonical_bodies_pass() -> None:
    assert walked() == []


def test_a_key_beyond_the_basic_plane_orders_by_utf16() -> None:
    """RFC 8785 §3.2.3: keys sort by UTF-16 code units, so "\\U0001F600" (a surrogate pair) comes
    before "\\uFB01"; the exact path decides such bodies."""
    assert walked(payload={"\U0001f600": 1, "\ufb01": 2}) == []


@pytest.mark.parametrize(
    "second",
    [
        b'{"actor":{"on_behalf_of":null,"role":"SUBJECT_TEACHER","user":"gv.lan"},"id":"@ID@","payload":{"n":1,"n":2},'
        b'"recorded_at":"'
        + WHEN.encode()
        + b'","schema":1,"school":"khanh-phu","seq":2,"type":"assessment.recorded","v":1}',
        b'{"actor":{"on_behalf_of":null,"role":"SUBJECT_TEACHER","user":"gv.lan"},"id":"@ID@","payload":{"n":2}, '
        b'"recorded_at":"'
        + WHEN.encode()
        + b'","schema":1,"school":"khanh-phu","seq":2,"type":"assessment.recorded","v":1}',
        b'{"actor":{"on_behalf_of":null,"role":"SUBJECT_TEACHER","user":"gv.lan"},"id":"@ID@","payload":{"n":2.5},'
        b'"recorded_at":"'
        + WHEN.encode()
        + b'","schema":1,"school":"khanh-phu","seq":2,"type":"assessment.recorded","v":1}',
        b'{"actor":{"on_behalf_of":null,"role":"SUBJECT_TEACHER","user":"gv.lan"},"id":"@ID@","payload":{"n":2},'
        b'"recorded_at":"'
        + WHEN.encode()
        + b'","schema":1,"school":"khanh-phu","seq":true,"type":"assessment.recorded","v":1}',
        b'{"actor":{"on_behalf_of":null,"role":"SUBJECT_TEACHER","user":"gv.lan"},"id":"@ID@","payload":{"n":"\\u0041"},'
        b'"recorded_at":"'
        + WHEN.encode()
        + b'","schema":1,"school":"khanh-phu","seq":2,"type":"assessment.recorded","v":1}',
    ],
    ids=["a key twice", "a space", "a fraction", "seq as true", "an escaped letter"],
)
def test_a_body_in_another_form_is_named(second: bytes) -> None:
    problems = walked(second)
    assert [seq for seq, _ in problems] == [2]
    assert problems[0][1] in {"canonical", "reordered"}


def test_a_body_of_another_school_is_named() -> None:
    ids = [str(uuid.uuid4()) for _ in range(2)]
    bodies = [body_of(1, ids[0], {}), body_of(2, ids[1], {}).replace(b'"khanh-phu"', b'"other-school"')]
    _, problems = checked_batch(ChainWalker(), rows_of(bodies, ids), SCHOOL)
    assert [(seq, kind) for seq, kind, _ in problems] == [(2, "reordered")]


def test_seq_written_as_true_is_not_seq_1() -> None:
    """JSON `true` is not the integer 1, though Python compares them equal."""
    event_id = str(uuid.uuid4())
    body = body_of(1, event_id, {}).replace(b'"seq":1', b'"seq":true')
    _, problems = checked_batch(ChainWalker(), rows_of([body], [event_id]), SCHOOL)
    assert [(seq, kind) for seq, kind, _ in problems] == [(1, "reordered")]
