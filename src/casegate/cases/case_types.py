"""Case types: class names, ID prefixes, starting processes, and a JSON Schema for content."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.errors import Conflict, Invalid
from casegate.storage.db import get_or_raise
from casegate.storage.models import CaseType

CLASS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(-[A-Za-z0-9_]+)+")
PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,15}")
# where a content schema's $ref may point: into the schema itself; the server never fetches a URL
LOCAL_ONLY: Registry[Any] = Registry()


def class_group(class_name: str) -> str:
    """Pega's work pool: the class name up to and including "-Work"."""
    head, sep, _ = class_name.partition("-Work-")
    return head + "-Work" if sep else class_name.rsplit("-", 1)[0]


def create(session: Session, class_name: str, prefix: str, name: str = "",
           processes: list[str] | None = None, json_schema: dict[str, Any] | None = None,
           first_number: int = 1, actor: str = "") -> CaseType:
    if not CLASS_NAME.fullmatch(class_name) or len(class_name) > 200:
        raise Invalid("class", "a class name looks like Org-App-Work-CaseType")
    if not PREFIX.fullmatch(prefix):
        raise Invalid("prefix", "an ID prefix is 1 to 16 upper-case letters and digits, "
                                "starting with a letter")
    if session.get(CaseType, class_name) is not None:
        raise Conflict(f"case type {class_name!r} already exists")
    if json_schema is not None:
        check_schema(json_schema)
    if first_number < 1:
        raise Invalid("first-number", "case numbers start at 1 or more")
    case_type = CaseType(id=class_name, name=name or class_name.rsplit("-", 1)[-1],
                         prefix=prefix, class_group=class_group(class_name),
                         processes=processes or ["pyStartCase"], json_schema=json_schema,
                         next_number=first_number)
    session.add(case_type)
    audit.record(session, "casetype.created", actor=actor, subject=class_name)
    return case_type


def parse_schema(text: str) -> dict[str, Any] | None:
    """A schema as written in a file or a form: a JSON object, or nothing (blank)."""
    if not text.strip():
        return None
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise Invalid("schema", f"not JSON: {exc}"[:200]) from exc
    if not isinstance(loaded, dict):
        raise Invalid("schema", "a JSON Schema is a JSON object")
    return loaded


def set_schema(session: Session, class_name: str, json_schema: dict[str, Any] | None,
               actor: str = "") -> CaseType:
    """New cases are checked against it; cases made before keep their content."""
    case_type = get(session, class_name)
    if json_schema is not None:
        check_schema(json_schema)
    case_type.json_schema = json_schema
    audit.record(session, "casetype.schema_changed", actor=actor, subject=class_name)
    return case_type


def check_schema(json_schema: dict[str, Any]) -> None:
    try:
        Draft202012Validator.check_schema(json_schema)
    except SchemaError as exc:
        raise Invalid("schema", f"not a valid JSON Schema: {exc.message[:200]}") from exc
    # a $ref is only resolved when content reaches it: one that cannot be resolved would
    # make case creation fail with 500 later, so it is refused now
    ref = _unresolvable(DRAFT202012.create_resource(json_schema))
    if ref is not None:
        raise Invalid("schema", f"$ref {ref[:200]} does not resolve within the schema "
                                "(other documents are never fetched)")
    # a $ref loop that consumes nothing ({"$ref": "#"}) recurses on any content at all
    validator = Draft202012Validator(json_schema, registry=LOCAL_ONLY)
    try:
        samples: tuple[object, ...] = ({}, [], "", 0, None)
        for sample in samples:
            next(iter(validator.iter_errors(sample)), None)
    except RecursionError as exc:
        raise Invalid("schema", "its $refs loop without end") from exc


def _unresolvable(root: Resource[Any]) -> str | None:
    """The first $ref or $dynamicRef in the schema that does not resolve, if any."""
    pending = [(LOCAL_ONLY.resolver_with_root(root), root)]
    while pending:
        resolver, resource = pending.pop()
        contents = resource.contents
        for keyword in ("$ref", "$dynamicRef"):
            ref = contents.get(keyword) if isinstance(contents, dict) else None
            if isinstance(ref, str):
                try:
                    resolver.lookup(ref)
                except Unresolvable:
                    return ref
        # each subschema resolves against its own base URI ($id)
        pending.extend((resolver.in_subresource(sub), sub) for sub in resource.subresources())
    return None


def content_error(json_schema: dict[str, Any] | None, content: dict[str, Any]) -> str | None:
    """The first way content fails a case type's schema, naming the field; None if fine."""
    if json_schema is None:
        return None
    validator = Draft202012Validator(json_schema, registry=LOCAL_ONLY)
    try:
        error = next(iter(validator.iter_errors(content)), None)
    except RecursionError:  # content nested deeper than the schema's recursion can follow
        return "content is nested too deeply for the case type's schema"
    return None if error is None else describe(error)


def describe(error: ValidationError) -> str:
    where = ".".join(["content", *map(str, error.absolute_path)])
    if error.validator == "required":
        required = cast(list[str], error.validator_value)
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [p for p in required if p not in present]
        return f"{where}.{missing[0] if missing else ''} is required"
    if error.validator == "additionalProperties":
        return f"{where} has a property the case type does not define"
    # the schema's own words, never the value that was sent
    return f"{where} fails the case type's rule {error.validator}: {error.validator_value}"[:300]


def get(session: Session, class_name: str) -> CaseType:
    return get_or_raise(session, CaseType, class_name, "case type")


def list_all(session: Session) -> list[CaseType]:
    return list(session.scalars(select(CaseType).order_by(CaseType.id)))
