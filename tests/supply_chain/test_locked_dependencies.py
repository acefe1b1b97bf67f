"""No locked dependency has a known vulnerability (pip-audit against every package uv.lock
pins, from PyPI's advisory data). When the advisory service cannot be reached the test says
so and is skipped with that reason: an offline machine is not a vulnerable one."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
UNREACHABLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Max retries",
               "Name or service not known", "Temporary failure in name resolution",
               "Network is unreachable", "ServiceError", "Connection refused")


def locked_requirements() -> list[str]:
    """name==version for every package the lock file takes from a registry."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return sorted(f"{p['name']}=={p['version']}" for p in lock["package"]
                  if "registry" in p.get("source", {}))


def test_the_lock_file_pins_every_package() -> None:
    pinned = locked_requirements()
    names = {line.split("==")[0] for line in pinned}
    assert {"cryptography", "sqlalchemy", "prometheus-client", "pip-audit"} <= names


def audit(pins: list[str], folder: Path) -> list[tuple[str, str, list[str]]]:
    """pip-audit's findings for these pins: (name, version, advisory IDs) of each vulnerable
    one. Skips, saying why, when the advisory service cannot be reached."""
    requirements = folder / "requirements.txt"
    requirements.write_text("\n".join(pins) + "\n")
    report = folder / "audit.json"
    result = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--requirement", str(requirements), "--no-deps",
         "--disable-pip", "--format", "json", "--output", str(report),
         "--progress-spinner", "off", "--timeout", "20"],
        capture_output=True, text=True, timeout=600)
    if not report.exists() or not report.read_text().strip():
        if any(sign in result.stderr for sign in UNREACHABLE):
            last = result.stderr.strip().splitlines()[-1]
            pytest.skip(f"advisory database unreachable, dependencies not audited: {last}")
        raise AssertionError(f"pip-audit failed: {result.stderr}")
    dependencies = json.loads(report.read_text())["dependencies"]
    found = [(dep["name"], dep["version"], [v["id"] for v in dep["vulns"]])
             for dep in dependencies if dep.get("vulns")]
    # a package pip-audit could not look up (PyPI's JSON API unreachable) was not audited
    unaudited = [dep["name"] for dep in dependencies if dep.get("skip_reason")]
    if unaudited and not found:
        pytest.skip(f"advisory database unreachable, {len(unaudited)} of {len(dependencies)} "
                    f"packages not audited (first: {unaudited[0]})")
    return found


def test_no_locked_dependency_has_a_known_vulnerability(tmp_path: Path) -> None:
    found = audit(locked_requirements(), tmp_path)
    assert found == [], f"known-vulnerable locked packages: {found}"


def test_the_audit_does_find_a_known_vulnerable_pin(tmp_path: Path) -> None:
    """The control: Jinja2 2.10 has published advisories (sandbox escapes, ReDoS)."""
    found = audit(["jinja2==2.10"], tmp_path)
    assert [name.lower() for name, _, _ in found] == ["jinja2"] and found[0][2]
