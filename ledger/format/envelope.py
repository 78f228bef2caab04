"""The event envelope and its hash. The byte format is specified in docs/LEDGER-FORMAT.md.

An event's body is the RFC 8785 encoding of

    {"v": 1, "school": ..., "seq": ..., "id": ..., "type": ..., "schema": ...,
     "payload": {...}, "actor": {"user": ..., "role": ..., "on_behalf_of": ..., ["account": ...]},
     "recorded_at": "YYYY-MM-DDTHH:MM:SS.ffffff+07:00"}

and its hash is SHA-256(0x00 || prev_hash || body): the RFC 9162 leaf hash of the 32-byte previous
hash followed by the body. The same value links the chain and is the event's Merkle leaf.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson

from ledger.base.clock import format_time, parse_time
from ledger.base.errors import HocbaError
from ledger.format.canonical import canonical_bytes

ENVELOPE_VERSION = 1
GENESIS_HASH = bytes(32)

SCHOOL_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SERVICE_CHAIN = "service"  # the access trail's chain of requests that concern no school: no school's id
EVENT_TYPE = re.compile(r"^(?=.{3,64}$)[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_valid_types: set[str] = set()


class EnvelopeError(HocbaError, ValueError):
    """An event cannot be recorded as given (bad school id, type, payload or actor)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused an event: the person (a staff id, or a system's name), the role they acted in, on
    whose behalf (Điều 18.7), and the account they signed in with. The account is a member of the
    body only when known, so events recorded before accounts were named keep their bytes."""

    user: str
    role: str
    on_behalf_of: str | None = None
    account: str | None = None

    def to_json(self) -> dict[str, str | None]:
        behalf = str(self.on_behalf_of) if self.on_behalf_of is not None else None
        doc = {"user": str(self.user), "role": str(self.role), "on_behalf_of": behalf}
        if self.account is not None:
            doc["account"] = str(self.account)
        return doc


SYSTEM = Actor(user="system", role="SYSTEM")


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to be appended; the ledger assigns school, seq, time and hashes."""

    type: str
    payload: Mapping[str, Any]
    actor: Actor
    event_id: UUID = field(default_factory=uuid4)
    schema: int = 1

    def same_content(self, other: Event) -> bool:
        return (
            other.type == self.type
            and other.schema == self.schema
            and other.actor == self.actor
            and canonical_bytes(other.payload) == canonical_bytes(self.payload)
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A recorded event, as stored in the chain."""

    school: str
    seq: int
    event_id: UUID
    type: str
    schema: int
    payload: Mapping[str, Any]
    actor: Actor
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes
    body: bytes


def validate_school(school: str, *, service: bool = False) -> str:
    """A well-formed school id; `service` (the access trail's chain of no school) only when allowed."""
    if not isinstance(school, str) or not SCHOOL_ID.match(school):
        raise EnvelopeError(f"school id {school!r} must be 2-63 characters of lowercase letters, digits and '-'")
    if school == SERVICE_CHAIN and not service:
        raise EnvelopeError(f"{SERVICE_CHAIN!r} is reserved for the access trail of requests that concern no school")
    return school


def event_hash(prev_hash: bytes, body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + prev_hash + body).digest()


def seal(
    school: str, seq: int, new: NewEvent, recorded_at: datetime, prev_hash: bytes, *, stamp: str | None = None
) -> Event:
    """Give a new event its place in the chain: canonical body and hash.

    `stamp` is format_time(recorded_at), for callers that seal many events with one time.
    """
    if new.type not in _valid_types and not EVENT_TYPE.match(new.type):
        raise EnvelopeError(f"event type {new.type!r} must look like 'area.action': lowercase, at most 64")
    if not isinstance(new.payload, Mapping):
        raise EnvelopeError("event payload must be a JSON object")
    if not new.actor.user or not new.actor.role:
        raise EnvelopeError("every event names the acting user and role")
    body = canonical_bytes(
        {
            "v": ENVELOPE_VERSION,
            "school": school,
            "seq": seq,
            "id": str(new.event_id),
            "type": new.type,
            "schema": new.schema,
            "payload": new.payload,
            "actor": new.actor.to_json(),
            "recorded_at": stamp or format_time(recorded_at),
        }
    )
    _valid_types.add(new.type)
    return Event(
        school=school,
        seq=seq,
        event_id=new.event_id,
        type=new.type,
        schema=new.schema,
        payload=new.payload,
        actor=new.actor,
        recorded_at=recorded_at,
        prev_hash=prev_hash,
        hash=event_hash(prev_hash, body),
        body=body,
    )


def decode(body: bytes, prev_hash: bytes, hash_: bytes) -> Event:
    """Rebuild an Event from its stored bytes (no verification; see ledger.verify)."""
    doc = orjson.loads(body)
    actor = doc["actor"]
    return Event(
        school=doc["school"],
        seq=doc["seq"],
        event_id=UUID(doc["id"]),
        type=doc["type"],
        schema=doc["schema"],
        payload=doc["payload"],
        actor=Actor(actor["user"], actor["role"], actor["on_behalf_of"], actor.get("account")),
        recorded_at=parse_time(doc["recorded_at"]),
        prev_hash=prev_hash,
        hash=hash_,
        body=body,
    )
