"""Trust records made with the CLI of a served casegate, for the console's pages to show."""

import json
from pathlib import Path

from fixtures.assertions import jwks_of, new_key
from fixtures.factories import unique
from fixtures.served import Served, cli


def trusted_issuer(served: Served, folder: Path) -> tuple[str, str]:
    """A token profile and the identity mapping that uses it: (profile, mapping)."""
    profile, mapping = unique("profile"), unique("mapping")
    keys = folder / f"{profile}.jwks"
    keys.write_text(json.dumps(jwks_of(new_key("EC"))))
    cli(served.env, "tokenprofile", "create", profile, "--issuer",
        f"https://{profile}.example", "--jwks-file", str(keys))
    cli(served.env, "identitymapping", "create", mapping, "--type", "jwt", "--token-profile",
        profile)
    return profile, mapping


def remote_system(served: Served, folder: Path) -> str:
    name = unique("producer")
    credentials = folder / f"{name}.txt"
    credentials.write_text("Client ID: 12345\nClient Secret: kept-out-of-sight\n")
    cli(served.env, "remotesystem", "create", name, "--url", "https://producer.example:9443",
        "--credentials-file", str(credentials))
    return name
