"""`casegate tokenprofile …` and `casegate identitymapping …`: trusting outside identities
for the JWT bearer and SAML 2.0 bearer grants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer

from casegate.access import identity, trust
from casegate.cli import context
from casegate.cli.deleting import delete_command
from casegate.cli.output import emit, emit_rows, errors, read_text
from casegate.errors import Invalid
from casegate.oauth import metadata
from casegate.settings import Settings

profiles = typer.Typer(help="Token profiles: trusted JWT issuers (keys, algorithms, "
                            "audiences, claims validation and mapping).", no_args_is_help=True)
mappings = typer.Typer(help="Identity mappings: how a JWT or SAML assertion becomes an "
                            "operator, made just in time when allowed.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Repeated = list[str] | None
FIELDS = ", ".join(identity.FIELDS)
T = TypeVar("T")


def default_audiences(cfg: Settings) -> list[str]:
    return [cfg.base_url + metadata.TOKEN, cfg.base_url]


pairs = trust.pairs  # CLAIM=VALUE rows of a repeatable option
PROFILE_LISTS = ("audience", "claim-check", "require-claim", "claim-map")
MAPPING_LISTS = ("audience", "attribute-map", "allowed-access-group", "subject")


def given(value: T | None, current: T) -> T:
    """An update's option: what was given, else what the record has (a repeatable option
    not given arrives empty)."""
    return current if value is None or value == [] else value


def cleared_lists(names: list[str] | None, allowed: tuple[str, ...]) -> set[str]:
    for name in names or []:
        if name not in allowed:
            raise Invalid("clear", f"{name!r}: clear one of {', '.join(allowed)}")
    return set(names or [])


@profiles.command("create")
def create_profile(
    name: Annotated[str, typer.Argument(help="The token profile's name.")],
    issuer: Annotated[str, typer.Option("--issuer", help="The `iss` the JWTs carry.")],
    jwks_file: Annotated[Path | None, typer.Option(
        "--jwks-file", help="The issuer's public keys (JWKS).")] = None,
    jwks_url: Annotated[str | None, typer.Option(
        "--jwks-url", help="Where the issuer publishes its keys (https, verified; cached, "
                           "refetched for an unknown kid at most once a minute).")] = None,
    cacert: Annotated[Path | None, typer.Option(
        "--cacert", help="With --jwks-url: the CA (PEM) its certificate chains to, when not "
                         "the system's (another casegate's self-signed certificate).")] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="The issuer's public key (PEM).")] = None,
    audience: Annotated[Repeated, typer.Option(
        "--audience", help="An accepted `aud`; repeatable (default: the token endpoint URL "
                           "and the issuer URL).")] = None,
    algorithm: Annotated[Repeated, typer.Option(
        "--algorithm", help="An allowed algorithm; repeatable (default RS256, ES256, PS256; "
                            "never none or HMAC).")] = None,
    max_assertion_lifetime: Annotated[int, typer.Option(
        "--max-assertion-lifetime", help="Longest exp - iat accepted, seconds.")] = 300,
    claim_check: Annotated[Repeated, typer.Option(
        "--claim-check", help="CLAIM=VALUE: the claim must equal VALUE; repeatable.")] = None,
    require_claim: Annotated[Repeated, typer.Option(
        "--require-claim", help="A claim that must be present; repeatable.")] = None,
    claim_map: Annotated[Repeated, typer.Option(
        "--claim-map", help=f"CLAIM=FIELD: the claim sets an operator field ({FIELDS}); "
                            "repeatable.")] = None,
    allow_without_client: Annotated[bool, typer.Option(
        "--allow-without-client", help="Also accept the JWT bearer grant with no client "
                                       "authentication (RFC 7523 §3.1); the token's "
                                       "client_id is then the issuer.")] = False,
    as_json: Json = False,
) -> None:
    """Trust a JWT issuer (the JWT bearer grant)."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            profile = trust.create_profile(
                session, name, issuer=issuer, jwks=read_text(jwks_file), jwks_url=jwks_url,
                public_key=read_text(public_key), cacert=read_text(cacert), audiences=audience,
                algorithms=algorithm, max_assertion_lifetime=max_assertion_lifetime,
                claim_checks=pairs(claim_check, "claim-check"), required_claims=require_claim,
                claim_map=pairs(claim_map, "claim-map"),
                allow_without_client=allow_without_client)
            data = trust.describe_profile(profile, default_audiences(cfg))
        emit(data, as_json)


@profiles.command("update")
def update_profile(
    name: Annotated[str, typer.Argument(help="The token profile's name.")],
    issuer: Annotated[str | None, typer.Option("--issuer", help="The `iss` the JWTs carry.")
                      ] = None,
    jwks_file: Annotated[Path | None, typer.Option(
        "--jwks-file", help="New public keys (JWKS), in place of the current key source.")
                         ] = None,
    jwks_url: Annotated[str | None, typer.Option(
        "--jwks-url", help="A new URL for the issuer's keys, in place of the current key "
                           "source.")] = None,
    cacert: Annotated[Path | None, typer.Option(
        "--cacert", help="With a --jwks-url (new or current): the CA (PEM) it chains to.")
                      ] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="A new public key (PEM), in place of the current key source.")
                          ] = None,
    audience: Annotated[Repeated, typer.Option(
        "--audience", help="An accepted `aud`; repeatable; replaces the list.")] = None,
    algorithm: Annotated[Repeated, typer.Option(
        "--algorithm", help="An allowed algorithm; repeatable; replaces the list.")] = None,
    max_assertion_lifetime: Annotated[int | None, typer.Option(
        "--max-assertion-lifetime", help="Longest exp - iat accepted, seconds.")] = None,
    claim_check: Annotated[Repeated, typer.Option(
        "--claim-check", help="CLAIM=VALUE; repeatable; replaces the checks.")] = None,
    require_claim: Annotated[Repeated, typer.Option(
        "--require-claim", help="A claim that must be present; repeatable; replaces the "
                                "list.")] = None,
    claim_map: Annotated[Repeated, typer.Option(
        "--claim-map", help=f"CLAIM=FIELD ({FIELDS}); repeatable; replaces the mapping.")
                         ] = None,
    clear: Annotated[Repeated, typer.Option(
        "--clear", help="Empty a list: audience (back to the default), claim-check, "
                        "require-claim or claim-map; repeatable.")] = None,
    allow_without_client: Annotated[bool | None, typer.Option(
        "--allow-without-client/--require-client", help="Accept the JWT bearer grant with no "
                                                        "client authentication, or no more.",
        show_default=False)] = None,
    as_json: Json = False,
) -> None:
    """Change a token profile: only what is given changes."""
    with errors():
        cleared = cleared_lists(clear, PROFILE_LISTS)
        cfg = context.settings()
        with context.database(cfg) as session:
            now = trust.get_profile(session, name)
            profile = trust.update_profile(
                session, name, issuer=given(issuer, now.issuer), jwks=read_text(jwks_file),
                jwks_url=jwks_url, public_key=read_text(public_key), cacert=read_text(cacert),
                audiences=[] if "audience" in cleared else given(audience, now.audiences),
                algorithms=given(algorithm, now.algorithms),
                max_assertion_lifetime=given(max_assertion_lifetime,
                                             now.max_assertion_lifetime),
                claim_checks={} if "claim-check" in cleared else given(
                    pairs(claim_check, "claim-check") if claim_check else None, now.claim_checks),
                required_claims=[] if "require-claim" in cleared else given(
                    require_claim, now.required_claims),
                claim_map={} if "claim-map" in cleared else given(
                    pairs(claim_map, "claim-map") if claim_map else None, now.claim_map),
                allow_without_client=given(allow_without_client, now.allow_without_client))
            data = trust.describe_profile(profile, default_audiences(cfg))
        emit(data, as_json)


@profiles.command("list")
def list_profiles(as_json: Json = False) -> None:
    """List token profiles."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [trust.describe_profile(p, default_audiences(cfg))
                    for p in trust.list_profiles(session)]
        emit_rows(rows, as_json)


@profiles.command("show")
def show_profile(name: str, as_json: Json = False) -> None:
    """Show one token profile."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = trust.describe_profile(trust.get_profile(session, name), default_audiences(cfg))
        emit(data, as_json)


@mappings.command("create")
def create_mapping(
    name: Annotated[str, typer.Argument(help="The identity mapping's name.")],
    type: Annotated[str, typer.Option("--type", help="jwt or saml.")],
    token_profile: Annotated[str | None, typer.Option(
        "--token-profile", help="jwt: the token profile that verifies the JWT.")] = None,
    subject_claim: Annotated[str | None, typer.Option(
        "--subject-claim", help="jwt: the claim naming the operator (default sub).")] = None,
    issuer: Annotated[str | None, typer.Option(
        "--issuer", help="saml: the identity provider's entity ID.")] = None,
    certificate: Annotated[list[Path] | None, typer.Option(
        "--certificate", help="saml: the identity provider's signing certificate (PEM), "
                              "pinned; repeatable.")] = None,
    audience: Annotated[Repeated, typer.Option(
        "--audience", help="saml: an accepted Audience; repeatable (default: the token "
                           "endpoint URL and the issuer URL).")] = None,
    subject_attribute: Annotated[str | None, typer.Option(
        "--subject-attribute", help="saml: the attribute naming the operator (default: the "
                                    "NameID).")] = None,
    attribute_map: Annotated[Repeated, typer.Option(
        "--attribute-map", help=f"saml: ATTR=FIELD, the attribute sets an operator field "
                                f"({FIELDS}); repeatable.")] = None,
    provision: Annotated[bool, typer.Option(
        "--provision", help="Create a missing operator just in time from the model "
                            "operator (otherwise: invalid_grant).")] = False,
    model_operator: Annotated[str | None, typer.Option(
        "--model-operator", help="With --provision: the operator whose kind and access group "
                                 "new operators get.")] = None,
    allowed_access_group: Annotated[Repeated, typer.Option(
        "--allowed-access-group", help="With --provision: an access group a mapped "
                                       "accessgroup claim may choose; repeatable.")] = None,
    as_json: Json = False,
) -> None:
    """Map JWT or SAML assertions to operators."""
    with errors():
        if type == "jwt" and (subject_attribute or attribute_map):
            raise Invalid("type", "a jwt mapping uses --subject-claim (claims mapping: "
                                  "tokenprofile --claim-map)")
        if type == "saml" and subject_claim:
            raise Invalid("type", "a saml mapping uses --subject-attribute")
        cfg = context.settings()
        certificates = [read_text(path) or "" for path in certificate or []]
        with context.database(cfg) as session:
            mapping = trust.create_mapping(
                session, name, type=type, token_profile=token_profile, saml_issuer=issuer,
                certificates=certificates, audiences=audience,
                subject=subject_claim or subject_attribute or "",
                attribute_map=pairs(attribute_map, "attribute-map"), provision=provision,
                model_operator=model_operator, allowed_groups=allowed_access_group)
            data = trust.describe_mapping(mapping, default_audiences(cfg))
        emit(data, as_json)


@mappings.command("update")
def update_mapping(
    name: Annotated[str, typer.Argument(help="The identity mapping's name.")],
    token_profile: Annotated[str | None, typer.Option(
        "--token-profile", help="jwt: the token profile that verifies the JWT.")] = None,
    subject_claim: Annotated[str | None, typer.Option(
        "--subject-claim", help="jwt: the claim naming the operator.")] = None,
    issuer: Annotated[str | None, typer.Option(
        "--issuer", help="saml: the identity provider's entity ID.")] = None,
    certificate: Annotated[list[Path] | None, typer.Option(
        "--certificate", help="saml: a signing certificate (PEM) to pin; repeatable; "
                              "replaces the pinned ones.")] = None,
    audience: Annotated[Repeated, typer.Option(
        "--audience", help="saml: an accepted Audience; repeatable; replaces the list.")
                        ] = None,
    subject_attribute: Annotated[str | None, typer.Option(
        "--subject-attribute", help="saml: the attribute naming the operator.")] = None,
    attribute_map: Annotated[Repeated, typer.Option(
        "--attribute-map", help=f"saml: ATTR=FIELD ({FIELDS}); repeatable; replaces the "
                                "mapping.")] = None,
    provision: Annotated[bool | None, typer.Option(
        "--provision/--no-provision", help="Create missing operators just in time, or no "
                                           "more.", show_default=False)] = None,
    model_operator: Annotated[str | None, typer.Option(
        "--model-operator", help="With provisioning: the operator new operators copy.")
                              ] = None,
    allowed_access_group: Annotated[Repeated, typer.Option(
        "--allowed-access-group", help="With provisioning: an access group a mapped "
                                       "accessgroup claim may choose; repeatable; replaces "
                                       "the list.")] = None,
    clear: Annotated[Repeated, typer.Option(
        "--clear", help="Empty a list: audience (back to the default), attribute-map, "
                        "allowed-access-group, or subject (back to sub or the NameID); "
                        "repeatable.")] = None,
    as_json: Json = False,
) -> None:
    """Change an identity mapping: only what is given changes (its type stays)."""
    with errors():
        cleared = cleared_lists(clear, MAPPING_LISTS)
        subject = subject_claim or subject_attribute
        cfg = context.settings()
        with context.database(cfg) as session:
            now = trust.get_mapping(session, name)
            if now.type == "jwt" and (subject_attribute or attribute_map):
                raise Invalid("type", "a jwt mapping uses --subject-claim")
            if now.type == "saml" and subject_claim:
                raise Invalid("type", "a saml mapping uses --subject-attribute")
            keep = given(provision, now.provision)  # provisioning off: its settings go too
            mapping = trust.update_mapping(
                session, name, token_profile=given(token_profile, now.token_profile),
                saml_issuer=given(issuer, now.saml_issuer),
                certificates=[read_text(path) or "" for path in certificate or []],
                audiences=[] if "audience" in cleared else given(audience, now.audiences),
                subject="" if "subject" in cleared else given(subject, now.subject),
                attribute_map={} if "attribute-map" in cleared else given(
                    pairs(attribute_map, "attribute-map") if attribute_map else None,
                    now.attribute_map),
                provision=keep,
                model_operator=given(model_operator, now.model_operator if keep else None),
                allowed_groups=[] if "allowed-access-group" in cleared else given(
                    allowed_access_group, now.allowed_groups if keep else []))
            data = trust.describe_mapping(mapping, default_audiences(cfg))
        emit(data, as_json)


@mappings.command("list")
def list_mappings(as_json: Json = False) -> None:
    """List identity mappings."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [trust.describe_mapping(m, default_audiences(cfg))
                    for m in trust.list_mappings(session)]
        emit_rows(rows, as_json)


@mappings.command("show")
def show_mapping(name: str, as_json: Json = False) -> None:
    """Show one identity mapping."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = trust.describe_mapping(trust.get_mapping(session, name), default_audiences(cfg))
        emit(data, as_json)


profiles.command("delete")(delete_command("token profile", trust.delete_profile))
mappings.command("delete")(delete_command("identity mapping", trust.delete_mapping))
