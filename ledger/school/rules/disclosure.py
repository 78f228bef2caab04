"""What leaves the school (Điều 6.3): integration clients (the Sở, the ministry, another school) receive
what their purpose needs, and never the contacts of families or staff.

- Integration accounts (the Sở's repository, the ministry, another school) receive every entry's seq,
  hash and previous hash, so that the chain and the signed tree verify, and each event's body; a body
  that carries contacts is withheld, and its contact-free view is sent instead. A student's signed
  record reaches them without contacts too. Contacts: guardians (names, relations, phone numbers),
  phone numbers, e-mail addresses, home addresses.
- Guardians and students receive their own record, whole; staff of the school what their role and
  assignment allow (ledger.school.rules.policy).
"""

from __future__ import annotations

from typing import Any

CONTACTS = frozenset({"guardians", "phone", "email", "residence"})


def without_contacts(doc: Any, path: str = "") -> tuple[Any, list[str]]:
    """`doc` with every contact field removed, at any depth, and the paths of what was removed."""
    removed: list[str] = []
    if isinstance(doc, dict):
        kept = {}
        for key, value in doc.items():
            where = f"{path}.{key}" if path else str(key)
            if key in CONTACTS:
                if value not in (None, [], ""):
                    removed.append(where)
                continue
            kept[key], inner = without_contacts(value, where)
            removed += inner
        return kept, removed
    if isinstance(doc, list):
        items = []
        for index, value in enumerate(doc):
            item, inner = without_contacts(value, f"{path}[{index}]")
            items.append(item)
            removed += inner
        return items, removed
    return doc, removed
