import pytest


@pytest.fixture(autouse=True)
def _request_context(request):
    """Operations are called here as a view would call them: inside a request, so that
    flask_babel can pick a locale (the core's select_locale reads the session)."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
