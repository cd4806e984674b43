"""The one base of every refusal crm-expo gives a user.

An operation that will not do what it was asked (a booth already taken, a badge code that is
not valid, a price list with a negative rate) raises a subclass of :class:`DomainError` with:

- ``message``: a translated sentence naming the problem, shown as it is;
- ``code``: a stable machine code for the API and for tests (``booth_taken``, ``invalid`` …);
- ``field``: the form or JSON field the problem is about, if one is;
- ``status``: the HTTP status the JSON API answers with (422 by default: the request was
  understood and refused; 409 for a conflict with the current state, 404 for an unknown object).

Views catch ``DomainError`` (never a bare ``ValueError``) and show the message, on the named
field where the form has it; the JSON API turns an uncaught one into
``{"error": {"code", "message", "field"}}`` with its status (``crm_expo.api``).

It derives from ``ValueError`` because a refusal is a bad value, and so that code outside the
views that already catches ``ValueError`` around an operation (importers' row loops, commands)
keeps doing so."""
from __future__ import annotations


class DomainError(ValueError):
    """A refusal with a message for the user; see the module's doc."""

    code = "refused"
    status = 422

    def __init__(self, message, code: str | None = None, *, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field or None

    def json(self) -> dict:
        """The API's error body: code and message, and the field when one is named."""
        out = {"code": self.code, "message": str(self.message)}
        if self.field:
            out["field"] = self.field
        return {"error": out}
