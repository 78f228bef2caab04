"""The errors of hocba-ledger, under one root, `HocbaError`: the CLI prints any of them as one readable
line, and anything else with its type.

`DomainError` is the domain's refusal: it names the field, the rule and the way forward, in
Vietnamese (for school staff) and English. The API turns it into problem+json. Raising it before or
during a command means nothing is appended. The other subclasses are the infrastructure's: a
credential that is not valid, too many attempts, a database that does not answer, and those of the
layers above (a malformed envelope, a backup that cannot be read, …)."""

from __future__ import annotations

from typing import Any


class HocbaError(Exception):
    """Every error this project raises on purpose."""


class AuthenticationFailed(HocbaError):
    """No valid credential: the response is 401 and says no more than that."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DomainError(HocbaError):
    """A refused request. `status` is the HTTP status it maps to."""

    status = 422
    title = "Invalid input"

    def __init__(
        self,
        code: str,
        vi: str,
        en: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(f"{field}: {en}" if field else en)
        self.code = code
        self.vi = vi
        self.en = en
        self.field = field
        self.rule = rule
        self.details = details

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"code": self.code, "message": self.en, "message_vi": self.vi}
        if self.field:
            doc["field"] = self.field
        if self.rule:
            doc["rule"] = self.rule
        doc.update(self.details)
        return doc

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by its parts, so that a refusal raised in a worker process reaches the request
        whole (ledger.app.workers)."""
        return (_rebuild, (type(self), self.code, self.vi, self.en, self.field, self.rule, self.details))

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{where}{self.vi} / {self.en}{rule}"


def _rebuild(
    cls: type[DomainError], code: str, vi: str, en: str, field: str | None, rule: str | None, details: dict[str, Any]
) -> DomainError:
    return cls(code, vi, en, field=field, rule=rule, **details)


class ValidationError(DomainError):
    """The input itself is malformed or breaks a rule of the data (422)."""


class BadRequest(DomainError):
    """The request cannot be read as one meaning: a query parameter given twice (400)."""

    status = 400
    title = "Bad request"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request contradicts the ledger's current state (409)."""

    status = 409
    title = "Conflict"


class Refused(DomainError):
    """A rule of the regulation forbids the change now: deadline, lock, four-eyes (409)."""

    status = 409
    title = "Refused by rule"


class Forbidden(DomainError):
    """The actor's role, assignment or time does not allow it (403)."""

    status = 403
    title = "Forbidden"


class TooLarge(DomainError):
    """An upload beyond a limit of size or shape: bytes, signatures, pages, rows, cells (413)."""

    status = 413
    title = "Content too large"


class Unavailable(DomainError):
    """The service cannot take the request now (the upload workers are all busy): retry (503)."""

    status = 503
    title = "Service unavailable"
    retry_after = 5  # seconds, the answer's Retry-After
