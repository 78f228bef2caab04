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


ROLE_VI = {
    Role.PRINCIPAL: "Hiệu trưởng",
    Role.LEADERSHIP: "Phó hiệu trưởng / cán bộ quản lý",
    Role.SUBJECT_TEACHER: "Giáo viên bộ môn",
    Role.HOMEROOM_TEACHER: "Giáo viên chủ nhiệm",
    Role.CLERK: "Văn thư",
    Role.ADMIN: "Quản trị viên",
    Role.IT_REVIEWER: "Giáo viên CNTT",
    Role.AUDITOR: "Thanh tra, kiểm tra",
    Role.INTEGRATION: "Hệ thống liên thông",
    Role.STUDENT: "Học sinh",
    Role.GUARDIAN: "Cha mẹ học sinh",
}

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
