"""Domain errors: a stable ``code`` for programs and a message for people."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; the message names the value and the fix."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class InvalidInput(DomainError):
    code = "invalid_input"
    http_status = 422


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
