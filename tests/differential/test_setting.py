"""CASEGATE_FAST_PATHS=off takes the fast fronts out of the ASGI stack (so the differential
test's second server really runs the full stack for every request)."""

from pathlib import Path

import pytest

from casegate.app import create_app
from casegate.settings import Settings, load_settings
from casegate.web.fast_path import FastPath


def fronts(settings: Settings) -> list[str]:
    app = create_app(settings)
    layer = app.build_middleware_stack()
    found = []
    while layer is not None:  # each middleware holds the next one as .app
        if isinstance(layer, FastPath):
            found.append(layer.PATH)
        layer = getattr(layer, "app", None)
    return found


def test_fast_fronts_are_on_by_default_and_off_when_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'casegate.db'}"
    monkeypatch.setenv("CASEGATE_SECRET_KEY", "k" * 43)
    assert fronts(load_settings({"home": tmp_path, "database_url": url})) == [
        "/prweb/PRRestService/oauth2/v1/token/introspect", "/prweb/api/v1/cases",
        "/prweb/PRRestService/oauth2/v1/token"]
    monkeypatch.setenv("CASEGATE_FAST_PATHS", "off")
    monkeypatch.setenv("CASEGATE_HOME", str(tmp_path))
    monkeypatch.setenv("CASEGATE_DATABASE_URL", url)
    settings = load_settings()
    assert settings.fast_paths is False
    assert fronts(settings) == []
