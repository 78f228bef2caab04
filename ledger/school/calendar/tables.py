"""The calendar's events and read models: calendars, locks and the deadlines reached."""

from __future__ import annotations

from sqlalchemy import Column, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.log.schema import projection_table

CALENDAR_SET = "calendar.set"
ENTRY_LOCKED = "entry.locked"
ENTRY_OPENED = "entry.opened"
DEADLINE_REACHED = "deadline.reached"
CALENDAR_REOPENED = "calendar.reopened"
ANY = "*"

calendars = projection_table("calendars", keys=[Column("year", Text)], values=[Column("calendar", JSONB)])
locks = projection_table(
    "locks",
    keys=[Column("year", Text), Column("class_id", Text), Column("subject", Text), Column("term", SmallInteger)],
    values=[Column("state", Text), Column("order_ref", JSONB), Column("changed_by", Text)],
)
deadlines = projection_table(
    "deadlines", keys=[Column("year", Text), Column("deadline", Text)], values=[Column("reached_at", Text)]
)
reopenings = projection_table(
    "reopenings",
    keys=[Column("year", Text), Column("document_number", Text)],
    values=[Column("opens_at", Text), Column("until", Text), Column("document", JSONB), Column("recorded_by", Text)],
)
