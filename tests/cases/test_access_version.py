"""What a process keeps of roles and case types (storage/versions.py) is dropped when another
process changes them: the change is seen at the very next request; a new case, which moves
its case type's counter, drops nothing."""

import json
import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from casegate.settings import Settings
from casegate.storage.models import AccessGroup, Version
from casegate.web import cases_v1
from fixtures.factories import CASES_PATH, DEMO_GROUP, get_token

DEMO_TYPE = "Cnow-connectnow-Work-CityServicesRequest"
BODY = {"caseTypeID": DEMO_TYPE, "processID": "pyStartCase", "content": {"RequestID": "V1"}}

# another process: one UPDATE through the models, committed
CHANGE = r"""
import json, sys
from sqlalchemy import create_engine, update
from casegate.storage.models import CaseType, Role
model = {"roles": Role, "case_types": CaseType}[sys.argv[2]]
engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    conn.execute(update(model).where(model.__table__.primary_key.columns.values()[0]
                                     == sys.argv[3]).values(**json.loads(sys.argv[4])))
engine.dispose()
"""


def elsewhere(settings: Settings, table: str, key: str, **values: Any) -> None:
    subprocess.run([sys.executable, "-c", CHANGE, settings.db_url, table, key,
                    json.dumps(values)], check=True)


def never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the full route ran")


def access_version(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalars(select(Version.value).where(Version.name == "access")).one()


def test_another_process_changing_a_role_or_case_type_is_seen_at_the_next_request(
        http: TestClient, demo: dict[str, Any], db: sessionmaker[Session],
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    token = get_token(http, demo["client_id"], demo["client_secret"])["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def created() -> bool:
        """Answered 201 in front of the full route (web/fast_create.py), which keeps rows."""
        with monkeypatch.context() as patch:
            patch.setattr(cases_v1, "transaction", never)
            return http.post(CASES_PATH, json=BODY, headers=headers).status_code == 201

    with db() as session:
        group = session.get(AccessGroup, DEMO_GROUP)
        assert group is not None
        role = group.roles[0]
    before = access_version(db)
    for _ in range(2):  # what the first read is kept
        assert created()
    assert access_version(db) == before  # the counter of case numbers moved, not this

    elsewhere(settings, "roles", role, privileges=["pxGetCases"])
    refused = http.post(CASES_PATH, json=BODY, headers=headers)
    assert refused.status_code == 403
    assert "pxCreateCase" in refused.text
    elsewhere(settings, "roles", role, privileges=["pxCreateCase", "pxGetCases"])
    assert created()

    elsewhere(settings, "case_types", DEMO_TYPE, processes=["pyOther"])
    refused = http.post(CASES_PATH, json=BODY, headers=headers)
    assert refused.status_code == 400
    assert "processID" in refused.text
    elsewhere(settings, "case_types", DEMO_TYPE, processes=["pyStartCase"])
    assert created()
    assert access_version(db) == before + 4
