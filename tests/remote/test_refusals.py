"""The producer's access model decides, and its refusals reach the consumer's caller as the
same Pega errors; broken credentials and a producer that is down are clear errors, never a
500 or a stack trace."""

from pathlib import Path

import httpx
import pytest

from fixtures.remote import CASES, PERMIT, PERMIT_BODY, Pair, secret_in

SQLITE = pytest.mark.parametrize("pair", ["sqlite"], indirect=True)


def create(pair: Pair, operator: str) -> httpx.Response:
    with pair.as_operator(operator) as consumer:
        return consumer.post(CASES, json=PERMIT_BODY)


def refused(response: httpx.Response, status: int, pega_id: str, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["pxObjClass"] == "Pega-API" and body["errors"][0]["ID"] == pega_id
    message = str(body["errors"][0]["message"])
    for word in words:
        assert word in message
    assert "Traceback" not in response.text
    return message


def test_operator_without_the_privilege_on_the_producer_gets_its_403(pair: Pair) -> None:
    pair.producer.run("role", "create", "PermitReader", "--privilege", "pxGetCases",
                      "--case-type", PERMIT)
    pair.producer.run("accessgroup", "create", "Permits:Readers", "--role", "PermitReader")
    pair.operator_on_both("carol@city", "Permits:Readers")
    refused(create(pair, "carol@city"), 403, "Pega_API_Forbidden",
            "carol@city", "pxCreateCase", PERMIT, "Permits:Readers")


def test_operator_unknown_on_the_producer_is_refused_then_provisioned(
        pair: Pair, tmp_path: Path) -> None:
    pair.operator_on_both("bob@city")  # on the consumer only
    refused(create(pair, "bob@city"), 403, "Pega_API_Forbidden", "Producer", "bob@city",
            "invalid_grant")
    # a client registration whose identity mapping provisions operators just in time
    pair.producer.run("identitymapping", "create", "ConsumerJIT", "--type", "jwt",
                      "--token-profile", "Consumer", "--provision",
                      "--model-operator", "alice@city")
    jit = tmp_path / "jit.txt"
    pair.producer_credentials("RemoteCaseTypesJIT", "ConsumerJIT", jit)
    original = pair.tmp / "producer-credentials.txt"
    pair.consumer.run("remotesystem", "update", "Producer", "--credentials-file", str(jit))
    try:
        created = create(pair, "bob@city")
        assert created.status_code == 201, created.text
        operators = pair.producer.json("operator", "list")
        bob = next(o for o in operators if o.get("operator", o.get("id")) == "bob@city")
        assert "Permits:Clerks" in str(bob)  # the model operator's access group
    finally:
        pair.consumer.run("remotesystem", "update", "Producer", "--credentials-file",
                          str(original))


@SQLITE
def test_disabled_client_is_a_clear_error_until_enabled(pair: Pair) -> None:
    pair.operator_on_both("dan@city", "Permits:Clerks")
    assert create(pair, "dan@city").status_code == 201
    client_id = pair.remote_client["client_id"]
    pair.producer.run("client", "disable", client_id)
    try:
        refused(create(pair, "dan@city"), 503, "Pega_API_ServiceUnavailable", "Producer",
                "client credentials", "remotesystem update")
    finally:
        pair.producer.run("client", "enable", client_id)
    assert create(pair, "dan@city").status_code == 201


@SQLITE
def test_regenerated_secret_recovers_after_remotesystem_update(pair: Pair) -> None:
    pair.operator_on_both("eve@city", "Permits:Clerks")
    assert create(pair, "eve@city").status_code == 201
    credentials = pair.tmp / "producer-credentials.txt"
    # a new secret, written to the same file (the old one stops working, tokens revoked)
    pair.producer.run("client", "credentials", pair.remote_client["client_id"],
                      "-o", str(credentials))
    refused(create(pair, "eve@city"), 503, "Pega_API_ServiceUnavailable", "Producer",
            "invalid_client", "remotesystem update Producer --credentials-file")
    pair.consumer.run("remotesystem", "update", "Producer", "--credentials-file",
                      str(credentials))
    assert create(pair, "eve@city").status_code == 201
    pair.remote_client["client_secret"] = secret_in(credentials)


@SQLITE
def test_producer_down_is_503_with_retry_after_naming_it(pair: Pair) -> None:
    pair.producer.stop()
    try:
        response = create(pair, "alice@city")
        refused(response, 503, "Pega_API_ServiceUnavailable", "remote system Producer",
                "unavailable")
        assert int(response.headers["retry-after"]) > 0
    finally:
        pair.producer.start()
    assert create(pair, "alice@city").status_code == 201


def test_unknown_remote_case_id_is_the_producers_404(pair: Pair) -> None:
    with pair.as_operator("alice@city") as consumer:
        response = consumer.get(CASES + "/ACME-PERMITS-WORK%20PRM-999999")
    refused(response, 404, "Pega_API_NotFound")
