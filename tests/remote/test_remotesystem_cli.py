"""`casegate remotesystem …` and `casegate casetype import --remote`: clear answers, clear
one-line refusals, and never the client secret."""

import subprocess
from pathlib import Path

from casegate.settings import Settings
from fixtures.commands import as_json, assert_fails_cleanly, user_shell
from fixtures.served import cli

SECRET = "Zq0p9o8i7u6y5t4r3e2w1q-ABCDEFGHIJKLMNOPQRSTU"


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(user_shell(settings), *args, check=False)


def credentials(tmp_path: Path, secret: str = SECRET) -> Path:
    path = tmp_path / "credentials.txt"
    path.write_text("Client Name: RemoteCaseTypes\nClient ID: 12345678901234567890\n"
                    f"Client Secret: {secret}\n"
                    "Access token endpoint: https://producer.example:8443"
                    "/prweb/PRRestService/oauth2/v1/token\n")
    return path


def test_create_show_update_import_and_never_the_secret(settings: Settings,
                                                        tmp_path: Path) -> None:
    made = run(settings, "remotesystem", "create", "Producer", "--url",
               "https://producer.example:8443/", "--credentials-file",
               str(credentials(tmp_path)), "--json")
    assert made.returncode == 0, made.stderr
    assert as_json(made) == {
        "name": "Producer", "url": "https://producer.example:8443",
        "token_endpoint": "https://producer.example:8443/prweb/PRRestService/oauth2/v1/token",
        "client_id": "12345678901234567890", "cacert": False, "case_types": []}
    imported = run(settings, "casetype", "import", "--remote", "Producer",
                   "Acme-Permits-Work-Permit", "--json")
    assert imported.returncode == 0, imported.stderr
    assert as_json(imported)[0]["remote_system"] == "Producer"
    again = run(settings, "casetype", "import", "--remote", "Producer",
                "Acme-Permits-Work-Permit", "--json")
    assert again.returncode == 0, again.stderr  # already imported: unchanged
    updated = run(settings, "remotesystem", "update", "Producer", "--credentials-file",
                  str(credentials(tmp_path, "another-" + SECRET[8:])), "--json")
    assert updated.returncode == 0, updated.stderr
    shown = run(settings, "remotesystem", "show", "Producer")
    listed = run(settings, "remotesystem", "list", "--json")
    assert "Acme-Permits-Work-Permit" in shown.stdout
    assert [s["name"] for s in as_json(listed)] == ["Producer"]
    for result in (made, imported, updated, shown, listed):
        assert SECRET not in result.stdout + result.stderr
        assert SECRET[8:] not in result.stdout + result.stderr


def test_refusals_are_one_line(settings: Settings, tmp_path: Path) -> None:
    good = str(credentials(tmp_path))
    empty = tmp_path / "empty.txt"
    empty.write_text("Client Name: x\n")
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")
    cases = [
        (("remotesystem", "create", "P", "--url", "http://producer:8443",
          "--credentials-file", good), "https://"),
        (("remotesystem", "create", "P", "--url", "https://producer:8443",
          "--credentials-file", str(empty)), "Client Secret"),
        (("remotesystem", "create", "P", "--url", "https://producer:8443",
          "--credentials-file", good, "--cacert", str(ca)), "cacert"),
        (("remotesystem", "show", "Nope"), "remote system 'Nope' not found"),
        (("remotesystem", "update", "Nope", "--credentials-file", good), "not found"),
        (("casetype", "import", "--remote", "Nope", "Acme-X-Work-Y"), "not found"),
        (("casetype", "import", "Acme-X-Work-Y"), "--remote NAME"),
        (("casetype", "import", "--remote", "Nope", "Acme-X-Work-Y", "--operator", "op"),
         "either CLASS… or --operator"),
    ]
    for args, phrase in cases:
        assert_fails_cleanly(run(settings, *args), phrase)
    existing = run(settings, "casetype", "create", "Acme-Local-Work-Thing", "--prefix", "T")
    assert existing.returncode == 0
    assert run(settings, "remotesystem", "create", "P", "--url", "https://producer:8443",
               "--credentials-file", good).returncode == 0
    assert_fails_cleanly(run(settings, "remotesystem", "create", "P", "--url",
                             "https://producer:8443", "--credentials-file", good),
                         "already exists")
    assert_fails_cleanly(run(settings, "casetype", "import", "--remote", "P",
                             "Acme-Local-Work-Thing"), "already exists here")
