"""Control characters: the one definition every input is checked against.

RFC 6749 Appendix A admits no %x00-08, %x0A-1F or %x7F in any parameter, RFC 9110 §5.5 none
in a header value but HTAB, and PostgreSQL's text cannot hold NUL at all (a query with one
fails deep in the driver). HTAB stays allowed: it is whitespace in HTTP and harmless stored.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
CONTROL_BYTES = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")


def has_control(text: str | bytes) -> bool:
    pattern = CONTROL_BYTES if isinstance(text, bytes) else CONTROL
    return pattern.search(text) is not None  # type: ignore[arg-type]
