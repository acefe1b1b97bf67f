import pytest

from casegate.oauth import jwks_fetch


@pytest.fixture(autouse=True)
def _fresh_jwks_cache() -> None:
    """The JWKS cache is per process: each test starts as a new process would."""
    jwks_fetch.CACHE.clear()
