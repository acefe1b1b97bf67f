"""`casegate role …`, `casegate accessgroup …`, `casegate casetype …`: who may do what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from casegate.access import groups
from casegate.access.privileges import ALL
from casegate.cases import case_types
from casegate.cli import context
from casegate.cli.deleting import delete_command
from casegate.cli.output import emit, emit_rows, errors
from casegate.errors import Invalid
from casegate.storage.models import AccessGroup, CaseType, Role

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
roles = typer.Typer(help="Roles: privileges on case types.", no_args_is_help=True)
accessgroups = typer.Typer(help="Access groups: roles, and the scopes tokens may carry.",
                           no_args_is_help=True)
casetypes = typer.Typer(help="Case types: class name, ID prefix, processes, content schema.",
                        no_args_is_help=True)


def describe_role(role: Role) -> dict[str, Any]:
    return {"role": role.name, "privileges": list(role.privileges),
            "case_types": list(role.case_types), "read_all": role.read_all}


def describe_group(group: AccessGroup) -> dict[str, Any]:
    return {"access_group": group.name, "roles": list(group.roles), "scopes": list(group.scopes)}


def describe_case_type(case_type: CaseType) -> dict[str, Any]:
    return {"case_type": case_type.id, "name": case_type.name, "prefix": case_type.prefix,
            "class_group": case_type.class_group, "processes": list(case_type.processes),
            "next_number": case_type.next_number, "schema": case_type.json_schema}


@roles.command("create")
def create_role(
    name: str,
    privilege: Annotated[list[str], typer.Option(
        "--privilege", help=f"Repeatable: {', '.join(ALL)}.")],
    case_type: Annotated[list[str] | None, typer.Option(
        "--case-type", help="Repeatable class name; default: every case type (*).")] = None,
    read_own: Annotated[bool, typer.Option(
        "--read-own", help="pxGetCases/pxUpdateCase reach only the operator's own cases.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Create a role."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            role = groups.create_role(session, name, privilege, case_type or ["*"],
                                      read_all=not read_own)
            data = describe_role(role)
        emit(data, as_json)


@roles.command("list")
def list_roles(as_json: Json = False) -> None:
    """List roles."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [describe_role(r) for r in groups.list_roles(session)]
        emit_rows(rows, as_json)


@accessgroups.command("create")
def create_group(
    name: str,
    role: Annotated[list[str], typer.Option("--role", help="Repeatable role name, e.g. "
                                            f"{groups.PEGA_API_ROLE}.")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="Repeatable; default: the case API's scopes "
                        f"({' '.join(groups.API_SCOPES)}).")] = None,
    as_json: Json = False,
) -> None:
    """Create an access group."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = describe_group(groups.create_group(session, name, role, scope))
        emit(data, as_json)


@accessgroups.command("list")
def list_groups(as_json: Json = False) -> None:
    """List access groups."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [describe_group(g) for g in groups.list_groups(session)]
        emit_rows(rows, as_json)


@accessgroups.command("show")
def show_group(name: str, as_json: Json = False) -> None:
    """Show one access group."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            data = describe_group(groups.get_group(session, name))
        emit(data, as_json)


def _schema(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        text = path.read_text()
    except (OSError, ValueError) as exc:
        raise Invalid("schema", f"cannot read a JSON document from {path}") from exc
    schema = case_types.parse_schema(text)
    if schema is None:
        raise Invalid("schema", f"{path} is empty")
    return schema


@casetypes.command("create")
def create_case_type(
    class_name: Annotated[str, typer.Argument(help="e.g. Cnow-connectnow-Work-Request")],
    prefix: Annotated[str, typer.Option("--prefix", help="Business ID prefix, e.g. REQ.")],
    name: Annotated[str, typer.Option("--name")] = "",
    process: Annotated[list[str] | None, typer.Option(
        "--process", help="Repeatable starting process; default pyStartCase.")] = None,
    schema: Annotated[Path | None, typer.Option(
        "--schema", help="A JSON Schema file that case content must satisfy.")] = None,
    first_number: Annotated[int, typer.Option("--first-number")] = 1,
    as_json: Json = False,
) -> None:
    """Create a case type."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            case_type = case_types.create(session, class_name, prefix, name=name,
                                          processes=process, json_schema=_schema(schema),
                                          first_number=first_number)
            session.flush()
            data = describe_case_type(case_type)
        emit(data, as_json)


@casetypes.command("list")
def list_case_types(as_json: Json = False) -> None:
    """List case types."""
    with errors():
        cfg = context.settings()
        with context.database(cfg) as session:
            rows = [describe_case_type(c) for c in case_types.list_all(session)]
        emit_rows(rows, as_json)


roles.command("delete")(delete_command("role", groups.delete_role))
accessgroups.command("delete")(delete_command("access group", groups.delete_group))
