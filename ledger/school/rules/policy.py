"""Authorization: role × assignment × time, deny by default (DOMAIN §2; the regulation's Điều 5.3c
and 32–38). Pure: the caller loads the principal's assignments valid at the moment of the request
(ledger.school_year) and the target's facts; this module only decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ledger.school.rules.roles import Role


class AccountKind(StrEnum):
    STAFF = "STAFF"  # roles come from assignments with validity periods
    AUDITOR = "AUDITOR"
    INTEGRATION = "INTEGRATION"
    GUARDIAN = "GUARDIAN"
    STUDENT = "STUDENT"


FIXED_ROLES = {
    AccountKind.AUDITOR: Role.AUDITOR,
    AccountKind.INTEGRATION: Role.INTEGRATION,
    AccountKind.GUARDIAN: Role.GUARDIAN,
    AccountKind.STUDENT: Role.STUDENT,
}


@dataclass(frozen=True)
class Grant:
    """A role held now, and for which class, subject and term when it is a teaching role."""

    role: Role
    year: str | None = None
    class_id: str | None = None
    subject: str | None = None
    term: int | None = None


@dataclass(frozen=True)
class Principal:
    username: str
    school: str
    kind: AccountKind
    grants: tuple[Grant, ...] = ()
    staff_id: str | None = None
    student_id: str | None = None
    school_name: str = ""  # as registered, for the pages' header; the school id when none is

    @property
    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}


@dataclass(frozen=True)
class Target:
    """What a request is about. `class_id` of a student request is the student's class that year."""

    year: str | None = None
    class_id: str | None = None
    subject: str | None = None
    term: int | None = None
    student: str | None = None


Rule = Callable[[Principal, Target], bool]
LEADERS = frozenset({Role.PRINCIPAL, Role.LEADERSHIP})


def _any(*roles: Role) -> Rule:
    return lambda p, t: bool(p.roles & set(roles))


def _homeroom(p: Principal, t: Target) -> bool:
    return any(
        g.role is Role.HOMEROOM_TEACHER and g.year == t.year and g.class_id == t.class_id and t.class_id is not None
        for g in p.grants
    )


def _teaches(any_term: bool) -> Rule:
    def rule(p: Principal, t: Target) -> bool:
        return any(
            g.role is Role.SUBJECT_TEACHER
            and (g.year, g.class_id, g.subject) == (t.year, t.class_id, t.subject)
            and t.subject is not None
            and (any_term or g.term == t.term)
            for g in p.grants
        )

    return rule


def _teaches_in_class(p: Principal, t: Target) -> bool:
    return any(
        g.role is Role.SUBJECT_TEACHER and (g.year, g.class_id) == (t.year, t.class_id) and t.class_id is not None
        for g in p.grants
    )


def _own(p: Principal, t: Target) -> bool:
    return (
        p.kind in (AccountKind.GUARDIAN, AccountKind.STUDENT) and p.student_id is not None and p.student_id == t.student
    )


def _either(*rules: Rule) -> Rule:
    return lambda p, t: any(rule(p, t) for rule in rules)


def _authenticated(p: Principal, t: Target) -> bool:
    return True


_READERS = _any(*LEADERS, Role.CLERK, Role.IT_REVIEWER, Role.AUDITOR)

POLICY: dict[str, Rule] = {
    # anyone signed in
    "account.me": _authenticated,
    "assessment.evaluate": _authenticated,
    "ledger.read": _authenticated,
    # reading assessment data: never the admin (Điều 5.3c), subject teachers only their sheets
    "student.read": _either(_READERS, _homeroom, _own),
    "class.read": _either(_READERS, _homeroom),
    "sheet.read": _either(_any(*LEADERS, Role.IT_REVIEWER, Role.AUDITOR), _homeroom, _teaches(any_term=False)),
    # writing assessment data: only the assignment in force (Điều 35; Điều 34 for the homeroom)
    "sheet.write": _teaches(any_term=False),
    # the IT teacher reconciles imported data against its source (Điều 18.2); leadership and auditors may look
    "gradebook.reconcile": _any(Role.IT_REVIEWER, *LEADERS, Role.AUDITOR),
    "homeroom.write": _homeroom,
    "reassessment.write": _teaches(any_term=True),
    "summer_conduct.write": _any(Role.PRINCIPAL),
    # administration: users, assignments, student profiles (Điều 36), never grades
    "school.admin": _any(Role.ADMIN),
    # accounts: the admin makes staff, guardian and student accounts; auditor and integration
    # accounts, which read every record, only on the principal's own act (Điều 5.3c)
    "account.create": _any(Role.ADMIN, Role.PRINCIPAL),
    "account.disable": _any(Role.ADMIN, Role.PRINCIPAL),
    # assignments: the administrator records them from the sector database; the principal approves
    # the grants of leadership, administration, the clerk and the IT reviewer (Điều 5.3c, 33.2)
    "assignment.read": _any(*LEADERS, Role.ADMIN, Role.AUDITOR),
    "assignment.approve": _any(Role.PRINCIPAL, Role.LEADERSHIP),  # the deputy: only a new principal's
    "assignment.end": _any(Role.ADMIN, Role.PRINCIPAL),
    # the calendar and locks (Điều 33.3c, 36.2)
    "calendar.read": _authenticated,
    "calendar.set": _any(Role.PRINCIPAL),
    "calendar.reopen": _any(Role.PRINCIPAL),
    "lock.set": _any(Role.ADMIN),
    # corrections (Điều 17.3): the assigned teacher files, leadership decides
    "correction.file.sheet": _teaches(any_term=False),
    "correction.file.conduct": _homeroom,
    "correction.read": _any(*LEADERS, Role.AUDITOR),
    "correction.decide": _any(*LEADERS),
    # signatures (Điều 18, 24.5): each signer for their part; the service checks the exact role and
    # assignment when the signature comes back; certificates are approved by the principal (Điều 9.4)
    "signature.write": _either(_any(*LEADERS, Role.CLERK), _homeroom, _teaches_in_class),
    "certificate.read": _any(*LEADERS, Role.ADMIN, Role.AUDITOR),
    "certificate.manage": _any(Role.PRINCIPAL),
    # integration clients (Điều 21-24, 30): the Sở and Bộ repositories read the school's feed and
    # its issued học bạ; auditors and leadership may do the same
    "integration.read": _any(Role.INTEGRATION, Role.AUDITOR, *LEADERS),
    "issued.document": _either(_any(Role.INTEGRATION, Role.AUDITOR, Role.CLERK, *LEADERS), _own),
    "record.signed": _either(_any(Role.INTEGRATION), _READERS, _homeroom, _own),
    # issuance (Điều 24.5, 25.3): the clerk issues; the principal revokes before the close
    "issuance.read": _any(*LEADERS, Role.CLERK, Role.AUDITOR),
    # the progress of grade entry and of the sheets' signatures, class × subject × term (Điều 33)
    "progress.read": _any(*LEADERS, Role.CLERK, Role.AUDITOR),
    "issuance.write": _any(Role.CLERK),
    "issuance.revoke": _any(Role.PRINCIPAL),
    # transfers (Điều 26): the principal or the clerk opens and receives records; the principal signs
    # and the clerk seals them
    "transfer.read": _any(*LEADERS, Role.CLERK, Role.AUDITOR),
    "transfer.write": _any(Role.PRINCIPAL, Role.CLERK),
    "transfer.sign": _any(Role.PRINCIPAL, Role.CLERK),
    # oversight (Điều 20.3, 33)
    "audit.read": _any(Role.AUDITOR, Role.PRINCIPAL),
    "ledger.verify": _any(Role.AUDITOR, Role.PRINCIPAL),
    "student.viewers": _either(_own, _any(Role.AUDITOR)),
}


def allowed(action: str, principal: Principal, target: Target) -> bool:
    """Deny by default: an action without a rule is refused to everyone."""
    rule = POLICY.get(action)
    return bool(rule is not None and rule(principal, target))
