"""Transport-neutral domain errors; each surface turns them into its own answer."""


class CasegateError(Exception):
    """Base of every error a user may see; the message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CasegateError):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class Conflict(CasegateError):
    pass


class Invalid(CasegateError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
