import pytest


@pytest.fixture
def request_ctx(app):
    """Operations called outside a request still translate their messages (need a locale)."""
    with app.test_request_context():
        yield
