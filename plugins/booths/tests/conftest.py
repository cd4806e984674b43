import pytest


@pytest.fixture(autouse=True)
def _request_context(app):
    # Operations translate their messages; flask_babel needs a request to pick the locale.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
