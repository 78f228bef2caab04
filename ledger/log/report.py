"""What verification reports: findings, each naming the first seq it concerns and whether an event
or a checkpoint is at fault; a result per school and log; the policy it checks against, and the trees
known outside the database (anchors) it must hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from ledger.format.envelope import GENESIS_HASH
from ledger.format.note import VerifierKey

CHECKPOINT_PROBLEMS = frozenset(
    {
        "checkpoint-signature",
        "checkpoint-missing",
        "checkpoint-chain",
        "checkpoint-peer",
        "checkpoint-time",
        "checkpoint-note",
        "unsigned",
        "quorum",
        "rolled-back",
        "fork",
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int
    problem: str
    message: str

    @property
    def about(self) -> str:
        """What is at fault: "events" (the chain) or "checkpoint" (a checkpoint, or one missing)."""
        return "checkpoint" if self.problem in CHECKPOINT_PROBLEMS else "events"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "problem": self.problem, "about": self.about, "message": self.message}


@dataclass(frozen=True)
class Anchor:
    """A tree of a school's log known outside this database: the database must hold it, unchanged."""

    school: str
    log: str
    tree_size: int
    root: bytes
    source: str  # where it comes from, for the message: "checkpoint.json", "witness w1", "receipt of …"


@dataclass(frozen=True)
class VerifyPolicy:
    """What verification demands beyond the chain: events checkpointed within `max_unsigned` of
    `now`, the latest checkpoint cosigned by `quorum` of `witnesses`, timestamps, and the `anchors`."""

    now: datetime | None = None
    max_unsigned: timedelta | None = None
    witnesses: tuple[VerifierKey, ...] = ()
    quorum: int = 0
    anchors: tuple[Anchor, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    require_timestamps: bool = True


@dataclass
class SchoolResult:
    school: str
    log: str = "events"
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH.hex()
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    findings: list[Finding] = field(default_factory=list)
    noted: dict[str, int] = field(default_factory=dict)  # events an auditor must see counted, by what they are

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_seq(self) -> int | None:
        """The first event at fault; checkpoint findings do not count (see first_bad_checkpoint)."""
        return min((f.seq for f in self.findings if f.about == "events"), default=None)

    @property
    def first_bad_checkpoint(self) -> int | None:
        return min((f.seq for f in self.findings if f.about == "checkpoint"), default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "school": self.school,
            "log": self.log,
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "first_bad_seq": self.first_bad_seq,
            "first_bad_checkpoint": self.first_bad_checkpoint,
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: f.seq)],
            "noted": dict(self.noted),
        }


@dataclass
class VerifyReport:
    schools: list[SchoolResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.schools)

    def of(self, log: str) -> list[SchoolResult]:
        return [s for s in self.schools if s.log == log]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": sum(s.events for s in self.schools),
            "seconds": round(self.seconds, 3),
            "schools": [s.to_json() for s in self.schools],
        }
