"""casegate's app for granian, as `casegate serve --http` would build it (bench/run.py's
`servers` section: the same app on uvicorn and on granian, side by side).

  granian --interface asgi --factory bench.granian_app:app   (CASEGATE_* in the environment)
"""

from __future__ import annotations

from typing import Any

from casegate import logs
from casegate.app import create_app
from casegate.settings import load_settings


def app() -> Any:
    settings = load_settings()
    logs.configure(settings.log_format)
    return create_app(settings)
