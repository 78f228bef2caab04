"""RFC 8785 (JSON Canonicalization Scheme) for the I-JSON subset the ledger accepts.

Accepted values: objects with string keys, arrays, strings, booleans, null and integers with
|n| <= 2**53 - 1. Non-integral numbers are refused: the ledger carries scores and other decimals as
strings ("8.5"), so every number it hashes has a single, unambiguous text form.

For that subset RFC 8785 output equals orjson's compact output with sorted keys (the test suite checks
this against an independent RFC 8785 implementation), except for key order: RFC 8785 sorts keys by
UTF-16 code units, orjson by code points. The two orders differ only when a key holds a character
above U+D7FF, so such objects take the exact (slower) path.
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger.base.errors import HocbaError

MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalError(HocbaError, ValueError):
    """The value cannot be represented in the ledger's canonical JSON."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"${path}: {reason}")
        self.reason, self.path = reason, path

    def inside(self, step: str) -> CanonicalError:
        return CanonicalError(self.reason, step + self.path)


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of `value`."""
    try:
        if check(value):
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        return _exact(value).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:  # orjson refuses lone surrogates with TypeError
        raise CanonicalError("string holds a lone surrogate; it is not valid Unicode") from exc


def check(value: Any) -> bool:
    """Validate `value` for the profile; return False when a key needs UTF-16 ordering.

    Raises CanonicalError naming the path of the first offending value.
    """
    kind = type(value)
    if kind is dict:
        return _check_object(value)
    if kind is list or kind is tuple:
        simple = True
        for index, item in enumerate(value):
            try:
                if not check(item):
                    simple = False
            except CanonicalError as exc:
                raise exc.inside(f"[{index}]") from None
        return simple
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        raise CanonicalError(f"integer {value} is outside ±(2**53-1)")
    if kind is float:
        raise CanonicalError(f"non-integer number {value!r}; carry decimals as strings")
    raise CanonicalError(f"{kind.__name__} is not a JSON value")


def _check_object(value: dict[Any, Any]) -> bool:
    simple = True
    for key, item in value.items():
        if type(key) is not str:
            raise CanonicalError(f"object key {key!r} is not a string")
        if not key.isascii() and max(key) > "\ud7ff":
            simple = False
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        try:
            if kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    raise CanonicalError(f"integer {item} is outside ±(2**53-1)")
            elif not check(item):
                simple = False
        except CanonicalError as exc:
            raise exc.inside(f".{key}") from None
    return simple


def _scalar(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _exact(value: Any) -> str:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(_scalar(k) + ":" + _exact(v) for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_exact(v) for v in value) + "]"
    return _scalar(value)
