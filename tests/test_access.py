"""Every route declares who may use it, and the rules hold."""
import pytest

from crm_expo.access import access_rule
from tests.factories import make_show, make_user

# Routes that Flask adds itself; static files are public by nature.
EXEMPT = {"static"}


def test_every_route_has_an_access_rule(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        if access_rule(app.view_functions[rule.endpoint]) is None:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, "routes without an access rule: " + ", ".join(sorted(missing))


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/admin/shows")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_pages_refuse_the_wrong_role(client):
    make_show()
    client.login(make_user("desk"))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/shows").status_code == 403
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Traceback" not in page and "403" in page


def test_error_pages_have_no_traceback(client, app):
    assert client.get("/no/such/page").status_code == 404
    assert "Traceback" not in client.get("/no/such/page").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/auth/login"])
def test_security_headers(client, path):
    resp = client.get(path)
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_no_external_assets_in_pages(client):
    make_show()
    client.login(make_user("admin"))
    for path in ("/", "/admin/shows", "/admin/users"):
        page = client.get(path).get_data(as_text=True)
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page, path
