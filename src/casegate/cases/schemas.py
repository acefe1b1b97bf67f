"""The case API's request bodies, as Pega API v1 documents them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from casegate.text import has_control


def _no_control(value: str) -> str:
    # names and IDs never hold control characters; PostgreSQL text cannot even hold NUL
    if has_control(value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[str, AfterValidator(_no_control)]


def _interoperable(value: dict[str, Any]) -> dict[str, Any]:
    """Python's JSON reader takes NaN, Infinity and unpaired surrogates; RFC 8259 §6 and
    RFC 7493 §2.1 do not, and neither can PostgreSQL store nor the answer carry them."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except ValueError:  # UnicodeEncodeError is one
        raise ValueError("content must be JSON without NaN, Infinity or unpaired "
                         "surrogates") from None
    return value


Content = Annotated[dict[str, Any], AfterValidator(_interoperable)]


class CreateCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caseTypeID: Name = Field(min_length=1, max_length=200)
    processID: Name = Field("pyStartCase", min_length=1, max_length=200)
    parentCaseID: Name | None = Field(None, max_length=260)
    content: Content = Field(default_factory=dict)


class UpdateCase(BaseModel):
    """PUT /cases/{ID}: the content properties to set (merged into the case's content)."""

    model_config = ConfigDict(extra="forbid")

    content: Content
