"""Shared pytest fixtures for the core and plugin tests.

Every test starts from a clean, migrated database:
- SQLite (always): a template database is migrated once per session and copied per test;
- PostgreSQL (when CRM_EXPO_TEST_DATABASE_URL is set): migrated once, then every table is
  truncated before each test.
Tests commit for real (concurrency and browser tests need other connections to see the
data), so isolation comes from the reset, not from a rollback."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from crm_expo import create_app
from crm_expo.config import ALL_PLUGINS
from crm_expo.extensions import db
from crm_expo.migrations import upgrade

PG_URL = os.environ.get("CRM_EXPO_TEST_DATABASE_URL", "")
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client(FlaskClient):
    """Test client that can fetch a CSRF token the way a browser does (from the page)."""

    def open(self, *args, **kwargs):
        # The `app` fixture keeps an app context pushed (for factories), and Flask reuses it
        # for the client's requests; clear `g` so that each request starts as fresh as in
        # production (locale, current show … are cached there per request). And end the
        # test's own read transaction, as if the request came from another process: paths
        # that work outside the session (the check-in) commit on their own connection, and
        # an SQLite reader keeps the snapshot its transaction began with.
        from flask import g, has_app_context
        if has_app_context():
            db.session.commit()
            for name in list(vars(g)):
                delattr(g, name)
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        page = self.get("/auth/login", follow_redirects=True).get_data(as_text=True)
        match = META_CSRF.search(page)
        assert match, "no csrf meta tag on the page"
        return match.group(1)

    def form_post(self, url, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kw)

    def login(self, user, password=None):
        from tests.factories import PASSWORD
        resp = self.form_post("/auth/login", {"email": user.email, "password": password or PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    def api(self, method, url, token=None, json=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.open(url, method=method, json=json, headers=headers, **kw)


def _base_config(tmp_root: str, db_url: str, plugins=ALL_PLUGINS, **extra) -> dict:
    cfg = {
        "TESTING": True,
        "PASSWORD_HASH_FAST": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": tmp_root,
        "DATABASE_URL": db_url,
        "PLUGINS": ",".join(plugins),
        "DEFAULT_LOCALE": "en",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 8025,
        # Jobs run at once in the caller, except in the tests of the queue itself
        # (crm_expo/tests of jobs and mail), which build an app with a real consumer.
        "JOBS_IMMEDIATE": True,
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def test_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("crm-expo"))


@pytest.fixture(scope="session")
def database(test_root):
    """Session-wide: (url, reset) — a migrated database and the function that cleans it."""
    if PG_URL:
        app = create_app(_base_config(test_root, PG_URL))
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(app)
        with app.app_context():
            tables = [t.name for t in reversed(db.metadata.sorted_tables)]
            db.engine.dispose()

        def reset(active_app):
            with active_app.app_context():
                db.session.remove()
                with db.engine.begin() as conn:
                    conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) +
                                      " RESTART IDENTITY CASCADE"))
        yield PG_URL, reset
        return

    template = os.path.join(test_root, "template.sqlite3")
    live = os.path.join(test_root, "test.sqlite3")
    app = create_app(_base_config(test_root, "sqlite:///" + template))
    upgrade(app)
    with app.app_context():
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()

    def reset(active_app):
        with active_app.app_context():
            db.session.remove()
            db.engine.dispose()
        for suffix in ("-wal", "-shm"):
            if os.path.exists(live + suffix):
                os.remove(live + suffix)
        shutil.copyfile(template, live)

    yield "sqlite:///" + live, reset


_apps: dict = {}


@pytest.fixture
def make_app(database, test_root):
    """make_app(plugins=(...), **config) → a fresh app on the test database (already reset)."""
    url, _reset = database
    made = []

    def factory(plugins=ALL_PLUGINS, **config):
        made.append(create_app(_base_config(test_root, url, plugins, **config)))
        return made[-1]
    yield factory
    # Close their connections before the next test replaces the database file.
    for extra in made:
        with extra.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(database, test_root):
    url, reset = database
    key = url
    if key not in _apps:
        _apps[key] = create_app(_base_config(test_root, url))
        _apps[key].test_client_class = Client
    application = _apps[key]
    reset(application)
    application.extensions.pop("crm_expo_schema_ok", None)
    with application.app_context():
        yield application
        db.session.remove()


@pytest.fixture
def client(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def is_postgres(database) -> bool:
    return database[0].startswith("postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The app served by a real threaded HTTP server on loopback (for browser tests and
    parallel requests inside one process). Yields the base URL."""
    from werkzeug.serving import make_server
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def served(app, database, test_root):
    """`crm-expo serve --workers 2` in a subprocess on the test database (several processes,
    as in production). Yields the base URL."""
    url, _ = database
    port = free_port()
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_SECRET_KEY="test-secret",
               CRM_EXPO_INSTANCE_PATH=test_root, CRM_EXPO_PLUGINS=",".join(ALL_PLUGINS))
    db.session.remove()
    proc = subprocess.Popen([sys.executable, "-m", "crm_expo", "serve", "--workers", "2", "--port", str(port),
                             "--no-worker"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import requests
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            proc.kill()
            pytest.fail(f"crm-expo serve did not start: {out[-2000:]}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    """Playwright driving Debian's chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(exe):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def walked_down_to(make_app, tmp_path, is_postgres):
    """For testing what a migration does to existing data: ``walked_down_to(revision)`` makes
    a private SQLite database, migrates it to the heads, walks it back down to ``revision``
    and returns its app, inside its app context for the rest of the test. (On PostgreSQL the
    test is skipped: the suite runs the same DDL there.)"""
    if is_postgres:
        pytest.skip("walks a private SQLite database down and up; PostgreSQL gets the same DDL via the suite")
    from alembic import command

    from crm_expo.migrations import alembic_config, upgrade
    contexts = []

    def down_to(revision: str):
        app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
        upgrade(app)
        ctx = app.app_context()
        ctx.push()
        contexts.append(ctx)
        command.downgrade(alembic_config(app), revision)
        return app

    yield down_to
    for ctx in reversed(contexts):
        ctx.pop()


@pytest.fixture
def english_request(request):
    """Operations called as a view would call them: inside a request in English, so their
    messages translate (and tests can read them). Plugin test folders make it autouse in
    their conftest; a test without the ``app`` fixture gets no request."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield
