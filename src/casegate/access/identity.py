"""An identity mapping turns a verified assertion into an operator: the one it names, or,
when there is none yet and the mapping allows it, one made just in time from a model
operator (seed 004: a person with no operator yet "simply works")."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casegate import audit
from casegate.access import operators
from casegate.errors import CasegateError
from casegate.storage.models import IdentityMapping, Operator

# the operator fields a claims or attribute mapping row may set
FIELDS = ("name", "accessgroup", "email")
LIMITS = {"name": 200, "accessgroup": 128, "email": 320}


class IdentityRefused(CasegateError):
    """The assertion was valid, but names no operator casegate may use; safe to show."""


def mapped_fields(mapping: dict[str, str], values: dict[str, object]) -> dict[str, str]:
    """claim/attribute -> field rows applied to the assertion's values (first of a list)."""
    fields: dict[str, str] = {}
    for source, target in mapping.items():
        value = values.get(source)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            text = str(value).strip()
            if len(text) > LIMITS[target] or not text.isprintable():
                raise IdentityRefused(f"the mapped {target} is too long or not printable")
            fields[target] = text
    return fields


def allowed_groups(mapping: IdentityMapping, model: Operator) -> list[str]:
    return [model.access_group, *mapping.allowed_groups]


def chosen_group(mapping: IdentityMapping, model: Operator, fields: dict[str, str],
                 current: str) -> str:
    """The access group a mapped claim asks for, only among the allowed ones: an identity
    provider must never be able to grant itself an administrator's group."""
    asked = fields.get("accessgroup")
    if asked is None:
        return current
    if asked not in allowed_groups(mapping, model):
        raise IdentityRefused("the access group the assertion names is not one the identity "
                              "mapping allows")
    return asked


def check_subject(subject: str) -> str:
    if not subject or len(subject) > 128 or not subject.isprintable() or subject != subject.strip():
        raise IdentityRefused("the assertion's subject is not a usable operator ID")
    return subject


def model_of(session: Session, mapping: IdentityMapping) -> Operator:
    model = session.get(Operator, mapping.model_operator or "")
    if model is None:
        raise IdentityRefused("the identity mapping's model operator no longer exists")
    return model


def provision(session: Session, mapping: IdentityMapping, subject: str,
              fields: dict[str, str], via: str) -> Operator:
    """A new operator from the model: its kind and access group (or an allowed mapped one),
    enabled, in the transaction that issues the token."""
    model = model_of(session, mapping)
    group = chosen_group(mapping, model, fields, model.access_group)
    try:
        with session.begin_nested():  # a racing request may create the same operator
            operator = operators.create_operator(
                session, subject, model.kind, group, name=fields.get("name", ""),
                email=fields.get("email"), provisioned_by=mapping.name, actor=via)
            session.flush()
    except IntegrityError as exc:
        raise IdentityRefused("the operator was being created by another request; "
                              "retry") from exc
    audit.record(session, "operator.provisioned", actor=via, subject=subject,
                 identity_mapping=mapping.name, model_operator=model.id, access_group=group)
    return operator


def update(session: Session, mapping: IdentityMapping, operator: Operator,
           fields: dict[str, str], via: str) -> None:
    """Later assertions keep the mapped fields current, only on operators this mapping made."""
    changes: dict[str, str] = {}
    if "accessgroup" in fields:
        group = chosen_group(mapping, model_of(session, mapping), fields, operator.access_group)
        if group != operator.access_group:
            operator.access_group = changes["accessgroup"] = group
    if "name" in fields and fields["name"] != operator.name:
        operator.name = changes["name"] = fields["name"]
    if "email" in fields and fields["email"] != operator.email:
        operator.email = changes["email"] = fields["email"]
    if changes:
        audit.record(session, "operator.updated", actor=via, subject=operator.id,
                     identity_mapping=mapping.name, fields=sorted(changes))


def map_operator(session: Session, mapping: IdentityMapping, subject: str,
                 fields: dict[str, str], via: str) -> Operator:
    """The operator an assertion's subject names (made just in time when allowed)."""
    operator = session.get(Operator, check_subject(subject))
    if operator is None:
        if not mapping.provision:
            raise IdentityRefused("no operator is associated with the assertion's subject")
        operator = provision(session, mapping, subject, fields, via)
    elif operator.provisioned_by == mapping.name:
        update(session, mapping, operator, fields, via)
    if not operator.enabled:
        raise IdentityRefused("the operator is disabled")
    return operator
