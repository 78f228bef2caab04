"""Roles of people and systems (DOMAIN §2; the regulation's Điều 5.3c and 32–38)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRINCIPAL = "PRINCIPAL"
    LEADERSHIP = "LEADERSHIP"
    SUBJECT_TEACHER = "SUBJECT_TEACHER"
    HOMEROOM_TEACHER = "HOMEROOM_TEACHER"
    CLERK = "CLERK"
    ADMIN = "ADMIN"
    IT_REVIEWER = "IT_REVIEWER"
    AUDITOR = "AUDITOR"
    INTEGRATION = "INTEGRATION"
    STUDENT = "STUDENT"
    GUARDIAN = "GUARDIAN"


# Roles held by staff through assignments with validity periods (imported from the sector database).
STAFF_ROLES = frozenset(
    {
        Role.PRINCIPAL,
        Role.LEADERSHIP,
        Role.SUBJECT_TEACHER,
        Role.HOMEROOM_TEACHER,
        Role.CLERK,
        Role.ADMIN,
        Role.IT_REVIEWER,
    }
)
