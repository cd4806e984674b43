import pytest


@pytest.fixture
def request_ctx(app):
    with app.test_request_context():
        yield
