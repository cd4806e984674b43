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


def route_matrix(app) -> str:
    """Route × role: which roles each route lets in (the permissions resolved to roles).
    ``*`` = everyone (public), ``+`` = any signed-in user, ``x`` = the role may, ``.`` = not."""
    from crm_expo.models.users import ROLE_VALUES
    lines = ["route".ljust(62) + " " + " ".join(r[:5].ljust(5) for r in ROLE_VALUES) + "  permissions"]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in EXEMPT:
            continue
        view = app.view_functions[rule.endpoint]
        kind, roles = access_rule(view)
        methods = ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        cells = ["*" if kind == "public" else "+" if not roles else ("x" if r in roles else ".")
                 for r in ROLE_VALUES]
        perms = ", ".join(getattr(view, "_permissions", ())) or kind
        lines.append(f"{methods} {rule.rule}"[:62].ljust(62) + " " + " ".join(c.ljust(5) for c in cells)
                     + "  " + perms)
    return "\n".join(lines)


def test_route_role_matrix(app):
    matrix = route_matrix(app)
    print("\n" + matrix)   # pytest -s tests/test_access.py shows who may use what
    rows = {line.split()[1]: line for line in matrix.splitlines()[1:] if len(line.split()) > 1}

    def cells(path):
        return rows[path][62:].split()[:7]
    # admin organizer account_manager service_agent desk exhibitor supplier
    assert cells("/shows/<slug>/booths/booking/<int:booking_id>/<action>") == list("xxx....")
    assert cells("/shows/<slug>/booths/booth/<code>") == list("xxx..x.")
    assert cells("/shows/<slug>/visitors/<int:registration_id>/verify") == list("xx.....")
    assert cells("/shows/<slug>/onsite/desk") == list("xx..x..")
    assert cells("/shows/<slug>/onsite/service") == list("xx.xx..")
    assert cells("/shows/<slug>/suppliers/orders/<int:order_id>") == list("xxxx.xx")
    assert cells("/admin/users") == list("x......")
    assert cells("/shows/<slug>/visitors/register") == list("*******")
    assert cells("/auth/logout") == list("+++++++")
    assert "booths.sell" in rows["/shows/<slug>/booths/booking/<int:booking_id>/<action>"]


def test_an_unknown_permission_fails_when_the_view_is_defined():
    from crm_expo.access import require
    from crm_expo.api import api_require
    from crm_expo.permissions import UnknownPermission
    from crm_expo.plugins import NavItem
    with pytest.raises(UnknownPermission, match="booths.sel"):
        require("booths.sel")
    with pytest.raises(UnknownPermission):
        api_require("admin")           # a role is not a permission
    with pytest.raises(UnknownPermission):
        NavItem("x", "booths.index", permissions=("booths.nope",))


def test_permissions_name_known_roles_and_views_keep_their_names():
    from crm_expo.models.users import ROLE_VALUES
    from crm_expo.permissions import PERMISSIONS, roles_for
    assert all(set(roles) <= set(ROLE_VALUES) for roles in PERMISSIONS.values())
    assert roles_for("suppliers.edit", "suppliers.order") == ("admin", "organizer", "exhibitor")
