"""Consents people gave to clients: listed, and withdrawn with every token they led to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from casegate import audit
from casegate.errors import NotFound
from casegate.oauth import families
from casegate.storage.models import Consent


def list_consents(session: Session, operator_id: str | None = None) -> list[Consent]:
    query = select(Consent).order_by(Consent.operator_id, Consent.client_id)
    if operator_id is not None:
        query = query.where(Consent.operator_id == operator_id)
    return list(session.scalars(query))


def withdraw(session: Session, operator_id: str, client_id: str, actor: str = "") -> int:
    """The client must ask again, and its refresh and access tokens for the person die.
    Returns how many grants were revoked."""
    consent = session.get(Consent, (operator_id, client_id))
    if consent is None:
        raise NotFound("consent", f"{operator_id} → {client_id}")
    session.delete(consent)
    revoked = families.revoke_between(session, operator_id, client_id, "consent withdrawn")
    actor = actor or session.info.get(audit.ACTOR) or operator_id
    audit.record(session, "consent.withdrawn", actor=actor, subject=client_id,
                 operator=operator_id)
    return revoked


def describe(consent: Consent) -> dict[str, object]:
    return {"operator": consent.operator_id, "client_id": consent.client_id,
            "scopes": list(consent.scopes), "granted_at": consent.granted_at}
