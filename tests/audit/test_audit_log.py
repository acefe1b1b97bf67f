"""Every operation that matters reaches the audit log, and no secret does."""

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from casegate.app import create_app
from casegate.settings import Settings
from fixtures.factories import CASES_PATH, REVOKE_PATH, SEED_BODY, TOKEN_PATH, bearer, get_token
from fixtures.served import cli


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
    return env | {"CASEGATE_HOME": str(settings.home), "CASEGATE_DATABASE_URL": settings.db_url}


def test_tokens_cases_and_revocations_are_audited_without_secrets(
        settings: Settings, demo: dict[str, Any]) -> None:
    client_id, secret = demo["client_id"], demo["client_secret"]
    with TestClient(create_app(settings), base_url="https://127.0.0.1:8443") as http:
        token = get_token(http, client_id, secret)["access_token"]
        created = http.post(CASES_PATH, json=SEED_BODY, headers=bearer(token)).json()
        http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(client_id, "wrong-secret-Zq9"))
        http.post(REVOKE_PATH, data={"token": token}, auth=(client_id, secret))
    # leaving the client shuts the app down, which flushes the batched audit writer

    result = cli(cli_env(settings), "audit", "--json", "--limit", "100")
    events = json.loads(result.stdout)
    seen = {(e["event"], e["outcome"]) for e in events}
    assert ("token.issued", "ok") in seen
    assert ("token.refused", "refused") in seen
    assert ("token.revoked", "ok") in seen
    case_event = next(e for e in events if e["event"] == "case.created")
    assert case_event["actor"] == "cityservices-api@casegate"
    assert case_event["subject"] == created["ID"]
    assert case_event["detail"]["client_id"] == client_id
    assert secret not in result.stdout
    assert token not in result.stdout
    assert "wrong-secret-Zq9" not in result.stdout


def test_audit_before_init_says_to_run_init(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEGATE_")}
    env["CASEGATE_HOME"] = str(tmp_path / "empty")
    result = cli(env, "audit", check=False)
    assert result.returncode != 0
    assert "casegate init" in result.stderr
    assert "Traceback" not in result.stderr
