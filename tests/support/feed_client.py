"""A reference client of the integration feed, as docs/API.md asks every client to be: it keeps the
last checkpoint it verified (in a file), always sends its size as `known`, checks the consistency
proof against both roots, the checkpoint's signature and the witnesses' cosignatures, and
recomputes the chain and the tree from the bodies it receives. A refused `known` or a proof that
does not verify is an alarm; it keeps what it held as evidence and never starts over."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography import x509

from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint
from ledger.format.envelope import event_hash
from ledger.format.note import Note, VerifierKey, cosigned_at
from signing.x509.checkpoints import checkpoint_problems


class FeedAlarm(Exception):
    """The school's ledger is not an extension of what this client verified before."""


@dataclass
class FeedClient:
    api: httpx.AsyncClient
    school: str
    headers: dict[str, str]
    roots: Sequence[x509.Certificate]
    state: Path  # the last verified checkpoint and the leaves under it
    witnesses: Sequence[VerifierKey] = ()
    quorum: int = 0

    def held(self) -> tuple[Checkpoint | None, list[bytes]]:
        if not self.state.exists():
            return None, []
        doc = json.loads(self.state.read_text())
        return Checkpoint.from_json(doc["checkpoint"]), [bytes.fromhex(h) for h in doc["leaves"]]

    async def sync(self) -> Checkpoint:
        """Read what is new, verify it against what is held, and keep the new checkpoint."""
        held, hashes = self.held()
        known = held.tree_size if held else 0
        after, pages = known, []
        while True:
            params = {"after": after, "known": known}
            answer = await self.api.get(f"/api/v1/schools/{self.school}/feed", params=params, headers=self.headers)
            if answer.status_code == 422 and answer.json().get("code") == "feed.known":
                raise FeedAlarm(f"the ledger is smaller than the tree of {known} held: {answer.json()['detail']}")
            answer.raise_for_status()
            page = answer.json()
            pages.append(page)
            if page["next"] is None:
                break
            after = page["next"]
        latest = pages[-1]
        checkpoint = Checkpoint.from_json(latest["checkpoint"])
        problems = checkpoint_problems(checkpoint, self.roots)
        if problems or checkpoint.school != self.school:
            raise FeedAlarm(f"the checkpoint cannot be trusted: {problems}")
        self._check_cosignatures(checkpoint, latest["cosignatures"])
        if held is not None:
            proof = [bytes.fromhex(node) for node in latest["consistency"]["proof"]]
            if not merkle.verify_consistency(held.tree_size, checkpoint.tree_size, held.root, checkpoint.root, proof):
                raise FeedAlarm(f"the tree of {checkpoint.tree_size} does not extend the tree of {known} held")
        prev = hashes[-1] if hashes else bytes(32)
        for event in (e for page in pages for e in page["events"]):
            if event["body"] is None:  # withheld (contacts stay at the school): its hash still makes the tree
                digest = bytes.fromhex(event["hash"])
            else:
                digest = event_hash(prev, base64.b64decode(event["body"]))
            if bytes.fromhex(event["prev_hash"]) != prev or digest != bytes.fromhex(event["hash"]):
                raise FeedAlarm(f"event {event['seq']} does not chain")
            hashes.append(digest)
            prev = digest
        if merkle.root(hashes) != checkpoint.root:
            raise FeedAlarm("the events received do not make the signed tree")
        self.state.write_text(json.dumps({"checkpoint": checkpoint.to_json(), "leaves": [h.hex() for h in hashes]}))
        return checkpoint

    def _check_cosignatures(self, checkpoint: Checkpoint, lines: Sequence[str]) -> None:
        if not self.quorum:
            return
        assert checkpoint.note is not None
        note = Note.parse(checkpoint.note.decode() + "".join(f"{line}\n" for line in lines))
        cosigned = [key.name for key in self.witnesses if cosigned_at(note, key) is not None]
        if len(cosigned) < self.quorum:
            raise FeedAlarm(f"cosigned by {cosigned}, fewer than {self.quorum} trusted witnesses")
