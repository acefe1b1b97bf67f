"""Unit tests of the identity mapping's dense rules (access/identity.py), on both databases:
mapped fields, the allowed access groups, and which operators a mapping may update."""

import pytest
from sqlalchemy.orm import Session, sessionmaker

from casegate.access import identity, trust
from casegate.access.identity import IdentityRefused
from casegate.settings import Settings
from casegate.storage.db import transaction
from fixtures.assertions import Issuer, trust_issuer
from fixtures.factories import DEMO_GROUP, make_group, make_operator


def test_mapped_fields_take_the_first_value_and_refuse_oversized_ones() -> None:
    rows = {"displayName": "name", "mail": "email", "role": "accessgroup"}
    assert identity.mapped_fields(rows, {"displayName": ["Ann", "Anne"], "mail": " a@b.c ",
                                         "role": [], "other": "x"}) == {
        "name": "Ann", "email": "a@b.c"}
    with pytest.raises(IdentityRefused, match="mapped name"):
        identity.mapped_fields(rows, {"displayName": "x" * 201})
    with pytest.raises(IdentityRefused, match="mapped email"):
        identity.mapped_fields(rows, {"mail": "a\nb@c.d"})


@pytest.mark.parametrize("subject", ["", " padded", "x" * 129, "tab\there"])
def test_a_subject_that_cannot_be_an_operator_id_is_refused(subject: str) -> None:
    with pytest.raises(IdentityRefused, match="usable operator ID"):
        identity.check_subject(subject)


def test_provisioning_and_updates(db: sessionmaker[Session], settings: Settings) -> None:
    allowed = make_group(db, ["pxGetCases"], ["cases"])
    other = make_group(db, ["pxGetCases"], ["cases"])
    trusted = trust_issuer(db, settings, Issuer(), allowed_groups=[allowed])
    existing = make_operator(db)
    with transaction(db) as session:
        mapping = trust.get_mapping(session, trusted.mapping)
        made = identity.map_operator(session, mapping, "new@x", {"accessgroup": allowed}, "c")
        assert (made.access_group, made.provisioned_by) == (allowed, mapping.name)
        # back to the model's group: always allowed
        identity.map_operator(session, mapping, "new@x", {"accessgroup": DEMO_GROUP}, "c")
        assert made.access_group == DEMO_GROUP
        with pytest.raises(IdentityRefused, match="not one the identity mapping allows"):
            identity.map_operator(session, mapping, "new@x", {"accessgroup": other}, "c")
        # an operator the mapping did not make is used as it is
        kept = identity.map_operator(session, mapping, existing, {"accessgroup": allowed,
                                                                  "name": "Renamed"}, "c")
        assert (kept.access_group, kept.name) == (DEMO_GROUP, existing)
