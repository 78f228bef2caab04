"""The layouts of gradebook exports, as data (ledger/school/data/gradebook-layouts.json): for each
program (SMAS, vnEdu, the ministry's EMIS, this service's own) the header texts of its columns, the
group headers it merges over them, the computed columns to leave aside, and the length of its
identifiers; and, for all of them, how a title block or a sheet name states the subject, class, term
and year, and how a footer begins. A new layout is a new entry in that file, not new code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ledger.school.rules.names import name_key

IDENTITY = ("student", "ministry_code", "full_name")
VALUE_KINDS = ("midterm", "final", "comment")


def _patterns(entries: list[str]) -> tuple[re.Pattern[str], ...]:
    """Header keys: an entry ending in '$' is a regular expression, any other the key itself."""
    return tuple(re.compile(e if e.endswith("$") else re.escape(e) + "$") for e in entries)


def _matches(patterns: tuple[re.Pattern[str], ...], key: str) -> re.Match[str] | None:
    return next((m for p in patterns if (m := p.fullmatch(key))), None)


@dataclass(frozen=True)
class Layout:
    name: str
    program: str
    columns: dict[str, tuple[re.Pattern[str], ...]]  # identity roles, "midterm", "final", "comment"
    regular: tuple[re.Pattern[str], ...]  # each with one group: the slot
    regular_groups: tuple[re.Pattern[str], ...]
    groups: tuple[re.Pattern[str], ...]
    computed: tuple[re.Pattern[str], ...]
    ignored: tuple[re.Pattern[str], ...]
    id_lengths: dict[str, int]

    def column(self, text: str, group: str = "") -> tuple[str, int | None] | None:
        """What a column under `text` (below the group header `group`, if any) holds: an identity
        role, ("regular", slot), "midterm", "final" or "comment"; ("computed"/"ignored", None) for a
        column to leave aside; None when the layout does not know it."""
        key, group_key = name_key(text), name_key(group)
        for candidate in (key, f"{group_key}_{key}" if group_key else ""):
            if not candidate:
                continue
            if slot := _matches(self.regular, candidate):
                return "regular", int(slot.group(1))
            known = next((role for role, patterns in self.columns.items() if _matches(patterns, candidate)), None)
            if known:
                return known, None
        if group_key and key.isdigit() and _matches(self.regular_groups, group_key):
            return "regular", int(key)
        for kind, patterns in (("computed", self.computed), ("ignored", self.ignored)):
            if _matches(patterns, key) or (not key and _matches(patterns, group_key)):
                return kind, None
        if group_key and _matches(self.computed, group_key):
            return "computed", None
        return None

    def is_group(self, text: str) -> bool:
        key = name_key(text)
        return bool(_matches(self.regular_groups, key) or _matches(self.groups, key) or _matches(self.computed, key))


@dataclass(frozen=True)
class Layouts:
    presets: dict[str, Layout]
    title: dict[str, tuple[re.Pattern[str], ...]]
    sheet_name: dict[str, Any]
    footer: tuple[re.Pattern[str], ...]

    def is_footer(self, text: str) -> bool:
        key = name_key(text)
        return bool(key) and any(p.search(key) for p in self.footer)


@cache
def layouts() -> Layouts:
    doc = json.loads(resources.files("ledger.school").joinpath("data/gradebook-layouts.json").read_text("utf-8"))
    presets = {
        name: Layout(
            name,
            spec["program"],
            {role: _patterns(spec[role]) for role in (*IDENTITY, *VALUE_KINDS)},
            _patterns(spec["regular"]),
            _patterns(spec["regular_groups"]),
            _patterns(spec["groups"]),
            _patterns(spec["computed"]),
            _patterns(spec["ignored"]),
            dict(spec["id_lengths"]),
        )
        for name, spec in doc["presets"].items()
    }
    return Layouts(
        presets,
        {field: tuple(re.compile(p) for p in patterns) for field, patterns in doc["title"].items()},
        doc["sheet_name"],
        tuple(re.compile(p) for p in doc["footer"]),
    )
