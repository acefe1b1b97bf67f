"""The case API's request bodies, as Pega API v1 documents them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CreateCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caseTypeID: str = Field(min_length=1, max_length=200)
    processID: str = Field("pyStartCase", min_length=1, max_length=200)
    parentCaseID: str | None = Field(None, max_length=260)
    content: dict[str, Any] = Field(default_factory=dict)
