"""The deny-list API over HTTPS on a served casegate: an administrator's token adds a token,
which then fails at the next request; another operator's token gets 403."""

import json
import uuid

from fixtures.served import Served, cli

DENYLIST = "/prweb/api/oauth2/v1/token/denylist"
TOKEN = "/prweb/PRRestService/oauth2/v1/token"


def token(served: Served, client_id: str, secret: str) -> str:
    with served.client() as web:
        answer = web.post(TOKEN, data={"grant_type": "client_credentials"},
                          auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_deny_list_api_over_https(served: Served) -> None:
    operator = f"security-{uuid.uuid4().hex[:6]}@casegate"
    cli(served.env, "operator", "create", operator, "--service", "--access-group",
        "casegate:Administrators")
    made = json.loads(cli(served.env, "client", "create", "--name", f"Security {operator}",
                          "--operator", operator, "--json").stdout)
    admin = token(served, made["client_id"], made["client_secret"])
    other = token(served, served.demo["client_id"], served.demo["client_secret"])
    with served.client() as web:
        seed = {"caseTypeID": "Cnow-connectnow-Work-CityServicesRequest",
                "processID": "pyStartCase", "content": {"RequestID": "FT123"}}
        assert web.post("/prweb/api/v1/cases", json=seed, headers={
            "Authorization": f"Bearer {other}"}).status_code == 201
        refused = web.get(DENYLIST, headers={"Authorization": f"Bearer {other}"})
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["ID"] == "Pega_API_Forbidden"
        added = web.post(DENYLIST, json={"token": other, "reason": "phished"},
                         headers={"Authorization": f"Bearer {admin}"})
        assert added.status_code == 201, added.text
        assert web.post("/prweb/api/v1/cases", json=seed, headers={
            "Authorization": f"Bearer {other}"}).status_code == 401
        listed = web.get(DENYLIST, headers={"Authorization": f"Bearer {admin}"}).json()
        assert {"jti": added.json()["jti"], "reason": "phished", "by": operator}.items() <= {
            e["jti"]: e for e in listed["tokens"]}[added.json()["jti"]].items()
