"""Sign-in, sessions, CSRF, throttling and audit."""
import re

import pytest
import requests
from sqlalchemy import func, select

from crm_expo.extensions import db
from crm_expo.models import AuditEntry, User
from crm_expo.operations import set_user_active
from tests.factories import PASSWORD, make_show, make_user


def _audits(action):
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_login_logout_and_audit(client):
    make_show()
    user = make_user("organizer")
    client.login(user)
    assert client.get("/").status_code == 200
    assert _audits("login") == 1
    client.form_post("/auth/logout")
    assert client.get("/").status_code == 302
    assert _audits("logout") == 1


def test_wrong_password_is_refused_and_audited(client):
    user = make_user("organizer")
    resp = client.form_post("/auth/login", {"email": user.email, "password": "wrong password!"})
    assert resp.status_code == 401
    assert "Wrong email or password" in resp.get_data(as_text=True)
    assert _audits("login.failed") == 1


def test_old_cookie_is_dead_after_logout(client, app):
    make_show()
    user = make_user("organizer")
    client.login(user)
    cookie = client.get_cookie("session").value
    client.form_post("/auth/logout")
    other = app.test_client()
    other.set_cookie("session", cookie)
    assert other.get("/").status_code == 302      # replayed cookie: not signed in


def test_disabled_user_is_signed_out_and_cannot_sign_in(client):
    make_show()
    admin = make_user("admin")
    user = make_user("organizer")
    client.login(user)
    set_user_active(db.session.get(User, user.id), False, user=admin)
    assert client.get("/").status_code == 302
    resp = client.form_post("/auth/login", {"email": user.email, "password": PASSWORD})
    assert resp.status_code == 401


def test_forged_csrf_token_is_refused(client):
    user = make_user("organizer")
    resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_passwords_are_argon2id_at_owasp_strength(app):
    from crm_expo.models.users import _hasher
    h = _hasher.hash("some password")
    assert h.startswith("$argon2id$")
    m, t, p = (int(x) for x in re.findall(r"m=(\d+),t=(\d+),p=(\d+)", h)[0])
    assert m >= 19456 and t >= 2 and p >= 1


def test_session_cookie_is_hardened(client):
    user = make_user("organizer")
    resp = client.form_post("/auth/login", {"email": user.email, "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_failed_logins_lock_the_account_across_server_processes(served, app):
    """Two gunicorn workers, one database: the lock-out counts failures from both."""
    user = make_user("organizer")
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = []
    for _ in range(limit + 2):
        s = requests.Session()      # a new connection each time: any worker may answer
        s.headers["Accept-Language"] = "en"
        page = s.get(served + "/auth/login").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        r = s.post(served + "/auth/login", data={"email": user.email, "password": "wrong!", "csrf_token": token},
                   allow_redirects=False)
        statuses.append(r.status_code)
    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429, 429]
    # Now even the right password is refused while the lock holds.
    s = requests.Session()
    s.headers["Accept-Language"] = "en"
    page = s.get(served + "/auth/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = s.post(served + "/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
               allow_redirects=False)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text


def test_every_visitor_of_the_served_app_gets_a_csrf_token_of_their_own(served):
    tokens = set()
    for _ in range(4):
        page = requests.get(served + "/auth/login").text
        tokens.add(re.search(r'name="csrf-token" content="([^".]+)', page).group(1))
    assert len(tokens) == 4


def test_no_default_accounts_outside_the_demo(app):
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_open_redirect_after_login_is_refused(client):
    user = make_user("organizer")
    token = client.csrf_token()
    resp = client.post("/auth/login?next=//evil.example/x",
                       data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/%09/evil.example/path", "/%5Cevil.example", "%2F%2Fevil.example",
                                    "https://evil.example/", "/%0D%0A/evil.example", "javascript:alert(1)"])
def test_a_next_that_a_browser_reads_as_another_site_goes_home(client, target):
    user = make_user("organizer")
    resp = client.post(f"/auth/login?next={target}",
                       data={"email": user.email, "password": PASSWORD, "csrf_token": client.csrf_token()})
    assert resp.headers["Location"] == "/", target


def test_a_local_next_is_followed_after_sign_in(client):
    user = make_user("organizer")
    resp = client.post("/auth/login?next=/admin/settings%3Fscope%3Dglobal",
                       data={"email": user.email, "password": PASSWORD, "csrf_token": client.csrf_token()})
    assert resp.headers["Location"] == "/admin/settings?scope=global"


def test_every_sign_in_failure_checks_one_password_hash(app, monkeypatch):
    """Unknown email, wrong password and disabled account cost the same: one hash check each,
    so the answer's timing does not tell which accounts exist (ASVS 5.0 V6.3)."""
    from argon2 import PasswordHasher

    from crm_expo.auth.operations import authenticate
    user = make_user("organizer")
    disabled = make_user("organizer")
    disabled.active = False
    db.session.commit()
    calls = []
    real = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(1) or real(self, h, p))
    for email, password in (("nobody@example.org", PASSWORD), (user.email, "wrong password"),
                            (disabled.email, PASSWORD), (user.email, PASSWORD)):
        calls.clear()
        outcome = authenticate(email, password, "192.0.2.1")
        assert len(calls) == 1, email
        assert (outcome is not None) == (email == user.email and password == PASSWORD)


def test_signed_in_pages_and_api_answers_are_not_cached_but_static_assets_are(client, app):
    from crm_expo.operations import create_token
    assert "no-store" not in client.get("/auth/login").headers.get("Cache-Control", "")
    client.login(make_user("organizer"))
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")
    _, token = create_token(make_show(), "organizer")
    assert client.get("/api/v1/shows", headers={"Authorization": f"Bearer {token}"}).headers[
        "Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in client.get("/").headers   # plain HTTP: no HSTS
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/auth/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_instance_folder_and_the_sqlite_file_are_the_owners_only(tmp_path):
    import os
    import stat

    from crm_expo import create_app
    folder = tmp_path / "inst"
    create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": "x", "PLUGINS": "", "DATABASE_URL": ""})
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "crm-expo.sqlite3").st_mode) == 0o600
    from crm_expo.jobs import queue_for
    app = create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": "x", "PLUGINS": "", "DATABASE_URL": ""})
    queue_for(app)
    assert stat.S_IMODE(os.stat(folder / "crm-expo-jobs.sqlite3").st_mode) == 0o600


def test_behind_a_trusted_proxy_failed_logins_count_per_client_not_per_proxy(app, make_app):
    """Security review finding 5: behind nginx every user had the proxy's address, so one
    person's failures locked everyone out. With PROXY_COUNT=1 the client's address counts."""
    from tests.fixtures import Client
    proxied = make_app(PROXY_COUNT=1)
    proxied.test_client_class = Client
    with proxied.app_context():
        client = proxied.test_client()
        for _ in range(3):
            client.post("/auth/login", data={"email": "nobody@example.org", "password": "x",
                                             "csrf_token": client.csrf_token()},
                        headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        addresses = set(db.session.scalars(select(AuditEntry.address).where(AuditEntry.action == "login.failed")))
        assert addresses == {"198.51.100.7"}
        db.session.remove()
