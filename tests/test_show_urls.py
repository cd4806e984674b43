"""Show-scoped URLs (/shows/<slug>/<plugin>/…): old paths redirect, an unknown show is a 404
before anything runs, a portal user sees only the shows its company takes part in, and the
show switcher keeps the page."""
import re

import pytest
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, Organization
from crm_expo.show_urls import is_show_rule
from tests.factories import make_org, make_show, make_user

# a value for each kind of URL argument, to turn a rule into a path
SAMPLE = {"int": "7", "default": "A1"}
NAMED = {"fmt": "csv", "name": "desk.js", "action": "confirm"}


def sample_path(rule, slug: str) -> str:
    path = rule.rule.replace("<slug>", slug)
    for arg in rule.arguments - {"slug"}:
        conv = type(rule._converters[arg]).__name__.lower().replace("converter", "")
        value = NAMED.get(arg) or SAMPLE.get("int" if conv == "integer" else "default")
        path = re.sub(rf"<(?:[a-z]+:)?{arg}>", value, path)
    return path


def show_rules(app):
    return [r for r in app.url_map.iter_rules() if is_show_rule(r.rule)]


def _legacy(app, path) -> bool:
    from werkzeug.routing import RequestRedirect
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method="GET")
    except RequestRedirect:
        return False
    return endpoint.startswith("legacy_")


@pytest.fixture
def two_shows(client):
    old, current = make_show("fair-2026"), make_show("fair-2027")
    client.login(make_user("admin"))
    with client.session_transaction() as session:
        session["show"] = current.slug      # the switcher's choice
    return old, current


def test_every_old_session_path_redirects_to_the_current_show(app, client, two_shows):
    _old, current = two_shows
    walked = 0
    for rule in show_rules(app):
        new = sample_path(rule, current.slug)
        old_path = new.replace(f"/shows/{current.slug}", "", 1)
        if not _legacy(app, old_path):
            continue   # a page outside /shows has this path (/suppliers/services/ …)
        for method in sorted(rule.methods & {"GET", "POST"}):
            resp = client.open(old_path, method=method)
            assert resp.status_code == (302 if method == "GET" else 307), (method, old_path)
            assert resp.headers["Location"] == new, (method, old_path)
            walked += 1
    assert walked > 80


OLD_PATHS_NAMING_THE_SHOW = [
    ("/exhibitors/fair-2026/", "/shows/fair-2026/exhibitors/"),
    ("/exhibitors/fair-2026/12", "/shows/fair-2026/exhibitors/12"),
    ("/exhibitors/fair-2026/12/documents/3", "/shows/fair-2026/exhibitors/12/documents/3"),
    ("/exhibitors/fair-2026/settings", "/shows/fair-2026/exhibitors/settings"),
    ("/exhibitors/fair-2026/export.csv?status=approved", "/shows/fair-2026/exhibitors/export.csv?status=approved"),
    ("/visitors/register/fair-2026", "/shows/fair-2026/visitors/register"),
    ("/visitors/register/fair-2026/done", "/shows/fair-2026/visitors/register/done"),
    ("/suppliers/fair-2026/orders", "/shows/fair-2026/suppliers/orders"),
    ("/suppliers/fair-2026/orders/5", "/shows/fair-2026/suppliers/orders/5"),
    ("/suppliers/fair-2026/orders/export.xlsx?status=placed", "/shows/fair-2026/suppliers/orders/export.xlsx?status=placed"),
    ("/suppliers/fair-2026/import", "/shows/fair-2026/suppliers/import"),
    ("/suppliers/fair-2026/services", "/shows/fair-2026/suppliers/services"),
    ("/suppliers/fair-2026/services/orders", "/shows/fair-2026/suppliers/services/orders"),
    ("/suppliers/9?show=fair-2026", "/shows/fair-2026/suppliers/9"),
    ("/suppliers/portal/orders?show=fair-2026&status=placed", "/shows/fair-2026/suppliers/portal/orders?status=placed"),
]


@pytest.mark.parametrize("old, new", OLD_PATHS_NAMING_THE_SHOW)
def test_old_paths_naming_a_show_move_for_good(client, two_shows, old, new):
    resp = client.get(old)
    assert resp.status_code == 301 and resp.headers["Location"] == new


def test_old_form_posts_keep_their_method(client, two_shows):
    resp = client.post("/suppliers/portal/fair-2026/items", data={"name_zh": "x"})
    assert resp.status_code == 308 and resp.headers["Location"] == "/shows/fair-2026/suppliers/portal/items"
    resp = client.post("/visitors/12/verify", data={"decision": "verified"})
    assert resp.status_code == 307 and resp.headers["Location"] == "/shows/fair-2027/visitors/12/verify"


def test_old_session_paths_keep_the_query(client, two_shows):
    resp = client.get("/onsite/desk?gate=North")
    assert resp.headers["Location"] == "/shows/fair-2027/onsite/desk?gate=North"
    assert client.get("/booths/list?hall=A").headers["Location"] == "/shows/fair-2027/booths/list?hall=A"
    # a code that is not ASCII comes back encoded
    assert client.get("/booths/booth/%E5%B1%95A1").headers["Location"] == "/shows/fair-2027/booths/booth/%E5%B1%95A1"


def test_pages_outside_shows_stay(client, two_shows):
    assert client.get("/exhibitors/organizations/999").status_code == 404   # the page itself, no redirect
    assert client.get("/suppliers/portal/").status_code == 403            # a supplier's page, no redirect


def test_login_redirects_to_the_login_page(client):
    resp = client.get("/login?next=/admin/shows")
    assert resp.status_code in (301, 302)
    assert resp.headers["Location"].startswith("/auth/login") and "next=" in resp.headers["Location"]
    assert client.get(resp.headers["Location"]).status_code == 200


def test_old_path_without_any_show_is_not_found(client):
    client.login(make_user("admin"))
    assert client.get("/visitors/").status_code == 404


def test_an_unknown_show_is_not_found_on_every_page_and_nothing_is_written(app, client, two_shows):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    plugins_seen = set()
    for rule in show_rules(app):
        path = sample_path(rule, "no-such-show")
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": client.csrf_token()} if method == "POST" else None
            resp = client.open(path, method=method, data=data)
            assert resp.status_code == 404, (method, path)
            plugins_seen.add(rule.endpoint.split(".")[0])
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert plugins_seen >= {"exhibitors", "visitors", "booths", "onsite", "suppliers", "loyalty"}


def test_public_registration_of_an_unknown_show_is_not_found(client):
    assert client.get("/shows/nope/visitors/register").status_code == 404


def test_portal_user_sees_only_the_shows_its_company_takes_part_in(app, client):
    from plugins.exhibitors.operations import create_exhibitor
    mine, other = make_show("mine-2027"), make_show("other-2027")
    org = make_org("参展公司")
    with app.test_request_context():
        ex = create_exhibitor(mine, organization=org)
        theirs = create_exhibitor(other, name_zh="别家公司")
    client.login(make_user("exhibitor", org=db.session.get(Organization, org.id)))
    assert client.get(f"/shows/mine-2027/exhibitors/{ex.id}").status_code == 200
    assert client.get("/shows/mine-2027/booths/").status_code == 200
    for path in (f"/shows/other-2027/exhibitors/{theirs.id}", "/shows/other-2027/booths/",
                 "/shows/other-2027/booths/portal", "/shows/other-2027/onsite/portal",
                 "/shows/other-2027/suppliers/services", "/shows/other-2027/visitors/"):
        assert client.get(path).status_code == 404, path
    # a staff page of its own show is refused, not hidden
    assert client.get("/shows/mine-2027/visitors/").status_code == 403
    # the navigation points at its own show, not the latest one
    home = client.get("/").get_data(as_text=True)
    assert "/shows/mine-2027/booths/" in home and "other-2027/booths" not in home


def test_staff_navigation_follows_the_show_of_the_page(client, two_shows):
    page = client.get("/shows/fair-2026/visitors/").get_data(as_text=True)
    assert 'href="/shows/fair-2026/booths/"' in page and 'href="/shows/fair-2026/exhibitors/"' in page
    home = client.get("/").get_data(as_text=True)
    assert 'href="/shows/fair-2027/booths/"' in home


@pytest.mark.parametrize("page, expected", [
    ("/shows/fair-2026/visitors/?sort=name", "/shows/fair-2027/visitors/?sort=name"),
    ("/shows/fair-2026/booths/prices", "/shows/fair-2027/booths/prices"),
    ("/shows/fair-2026/suppliers/orders", "/shows/fair-2027/suppliers/orders"),
    # a record of the other show: the plugin's index instead
    ("/shows/fair-2026/visitors/12", "/shows/fair-2027/visitors/"),
    ("/shows/fair-2026/exhibitors/5/edit", "/shows/fair-2027/exhibitors/"),
    # not about one show: stays
    ("/admin/shows", "/admin/shows"),
])
def test_the_switcher_keeps_the_page(client, two_shows, page, expected):
    resp = client.form_post("/show", {"show": "fair-2027", "next": page})
    assert resp.status_code == 302 and resp.headers["Location"] == expected
    with client.session_transaction() as session:
        assert session["show"] == "fair-2027"


def test_the_switcher_refuses_an_unknown_show(client, two_shows):
    resp = client.form_post("/show", {"show": "nope", "next": "/shows/fair-2026/visitors/"}, follow_redirects=True)
    assert "No show with the code nope" in resp.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["show"] == "fair-2027"
