"""Where a tree someone holds outside the database stands today: the checkpoint an issued học bạ's
receipt carries, checked against the school's live signed tree and against what each witness last
cosigned. The portal asks this for every uploaded file whose receipt verifies, so a family learns
not only that the file was signed, but that the school's ledger still holds it and that a party
outside the school saw the same history.

Each check recomputes, from the school's stored events, the tree of the size someone signed and
compares roots: the database cannot make a rewritten or shortened history match a root signed
before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ledger.app.db import AUDITOR_ROLE
from ledger.app.runtime import Runtime
from ledger.app.verification import AnchorError, ask_witness
from ledger.app.witnessing import configured_witnesses
from ledger.format import merkle
from ledger.format.checkpoint import TreeRef, origin
from ledger.log import store
from ledger.log.schema import EVENTS

WITNESS_TIMEOUT = 3.0  # seconds: the portal answers a family; a slow witness is reported, not waited for


@dataclass
class Standing:
    """`live` is one of: contained (the school's events hold the receipt's tree unchanged), missing
    (they are fewer than the receipt's tree: the ledger was rolled back or cut), fork (the tree they
    make at that size is another: history was rewritten), absent (this service holds no ledger of the
    school). Each witness's `state` is one of: covers (it cosigned a tree of the school's events that
    includes the receipt's), not-yet (it cosigned an earlier tree of those same events), ahead (it
    cosigned a larger tree than the school's events now make: the ledger was rolled back), disagrees
    (the tree it cosigned is not the one the school's events make: history was rewritten), unknown
    (it witnesses no such log) or unreachable."""

    school: str
    tree_size: int
    live: str = "absent"
    live_size: int = 0
    witnesses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.live == "contained" and all(w["state"] in ("covers", "not-yet") for w in self.witnesses)

    def to_json(self) -> dict[str, Any]:
        return {
            "school": self.school,
            "tree_size": self.tree_size,
            "live": self.live,
            "live_size": self.live_size,
            "witnesses": self.witnesses,
            "ok": self.ok,
        }


def _agrees(leaves: Sequence[bytes], tree: TreeRef) -> str:
    """How the school's events (`leaves`) stand to a tree someone signed: held, missing or fork."""
    if len(leaves) < tree.tree_size:
        return "missing"
    return "held" if merkle.root(leaves[: tree.tree_size]) == tree.root else "fork"


def _witness_state(leaves: Sequence[bytes], held: TreeRef, theirs: TreeRef) -> str:
    found = _agrees(leaves, theirs)
    if found == "missing":
        return "ahead"
    if found == "fork":
        return "disagrees"
    return "covers" if theirs.tree_size >= held.tree_size else "not-yet"


async def standing(runtime: Runtime, school: str, held: TreeRef) -> Standing:
    """Where the events-log tree `held` of `school` stands against its events and its witnesses."""
    result = Standing(school, held.tree_size)
    async with runtime.engine(AUDITOR_ROLE).connect() as conn:
        head = await store.read_head(conn, school, EVENTS)
        leaves = await store.leaf_hashes(conn, school, head.seq, chain=EVENTS) if head.seq else []
    if leaves:
        result.live_size = len(leaves)
        found = _agrees(leaves, held)
        result.live = "contained" if found == "held" else found
    name = origin(runtime.settings.origin_prefix, school, EVENTS.name)
    async with httpx.AsyncClient(timeout=WITNESS_TIMEOUT) as client:
        for witness in configured_witnesses(runtime.settings):
            entry: dict[str, Any] = {"name": witness.name, "tree_size": None}
            try:
                anchor = await ask_witness(client, witness, name)
            except (httpx.HTTPError, AnchorError):
                entry["state"] = "unreachable"
            else:
                if anchor is None:
                    entry["state"] = "unknown"
                else:
                    entry["tree_size"] = anchor.tree_size
                    entry["state"] = _witness_state(leaves, held, TreeRef(anchor.tree_size, anchor.root))
            result.witnesses.append(entry)
    return result
