import pytest


@pytest.fixture(autouse=True)
def _request_context(english_request):
    """Every test here runs its operations inside an English request (tests/fixtures.py)."""
    yield
