"""Transport-neutral domain errors; each surface turns them into its own answer (the case API:
web/api_errors.py; the CLI: cli/output.py; the console: web/admin/core.py)."""


class CasegateError(Exception):
    """Base of every error a user may see; the message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CasegateError):
    def __init__(self, what: str, key: str, message: str | None = None) -> None:
        super().__init__(message or f"{what} {key!r} not found")
        self.what = what
        self.key = key


class Conflict(CasegateError):
    pass


class Stale(Conflict):
    """A change was made against a version of a record that is no longer current."""


class Invalid(CasegateError):
    """A value breaks a rule; `field` names it, or is empty when the message does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class VersionRequired(CasegateError):
    """A change must name the version of the record it was made against."""


class Forbidden(CasegateError):
    """The actor is known and may not do this."""


class Unavailable(CasegateError):
    """Something casegate depends on cannot answer now; `retry_after` seconds, when known."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
