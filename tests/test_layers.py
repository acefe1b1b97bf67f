"""Imports run down the layers and domain code does not know the HTTP framework: the
contracts of pyproject.toml's [tool.importlinter], checked on the code as it is."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def contracts() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    return config


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("import-linter")


def lint(cache: Path, config_file: Path, contract: str | None = None) -> int:
    # the import graph is cached by the files' modification times: built once per run
    return lint_imports(config_filename=str(config_file), cache_dir=str(cache), no_logo=True,
                        limit_to_contracts=(contract,) if contract else ())


def write(path: Path, config: dict[str, Any]) -> Path:
    """The config as TOML (JSON's strings, lists and booleans are TOML's too)."""
    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in config.items()
              if key != "contracts"]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_contracts_are_kept(cache: Path) -> None:
    assert lint(cache, PYPROJECT) == 0


def test_oauth_placed_below_access_breaks_the_layers(
        cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = contracts()
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    oauth, access = layers.index("casegate.oauth"), layers.index("casegate.access")
    layers[oauth], layers[access] = layers[access], layers[oauth]
    assert lint(cache, write(tmp_path / "pyproject.toml", config), "layers") == 1
    # the grants decide with the people's rules: oauth imports access
    assert "casegate.oauth.grants" in capsys.readouterr().out


def test_web_under_the_no_http_rule_breaks_it(
        cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = contracts()
    rule = next(c for c in config["contracts"] if c["id"] == "no-http-in-domain")
    rule["source_modules"].append("casegate.web")
    assert lint(cache, write(tmp_path / "pyproject.toml", config), "no-http-in-domain") == 1
    assert "casegate.web" in capsys.readouterr().out
