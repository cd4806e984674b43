"""The crm-expo command, run for real in a subprocess (as users and scripts run it)."""
import os
import subprocess
import sys

import pytest

from crm_expo.config import ALL_PLUGINS


@pytest.fixture
def cli(database, test_root, tmp_path):
    url, _reset = database

    def run(*args, input=None, env=None, db_url=None):
        e = dict(os.environ, CRM_EXPO_DATABASE_URL=db_url or url, CRM_EXPO_INSTANCE_PATH=str(tmp_path),
                 CRM_EXPO_SECRET_KEY="x", CRM_EXPO_PLUGINS=",".join(ALL_PLUGINS), CRM_EXPO_DEFAULT_LOCALE="en")
        e.update(env or {})
        return subprocess.run([sys.executable, "-m", "crm_expo", *args], input=input, env=e,
                              capture_output=True, text=True, timeout=120)
    return run


def test_shows_users_tokens_plugins(cli, app):
    r = cli("shows", "create", "wine-2027", "--name", "2027广东酒类博览会", "--start", "2027-03-01", "--days", "3")
    assert r.returncode == 0, r.stderr
    assert "wine-2027" in cli("shows", "list").stdout
    r = cli("users", "create", "boss@example.com", "--role", "organizer", input="a long password\n")
    assert r.returncode == 0, r.stderr
    r = cli("tokens", "create", "--role", "desk", "--show", "wine-2027")
    assert r.returncode == 0 and r.stdout.strip().startswith("ce_")
    token = r.stdout.strip()
    resp = app.test_client().get("/api/v1/shows", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["items"][0]["slug"] == "wine-2027"
    out = cli("plugins").stdout
    for name in ALL_PLUGINS:
        assert name in out


@pytest.mark.parametrize("args,message", [
    (("shows", "create", "Bad Slug", "--name", "x", "--start", "2027-01-01"), "show code"),
    (("shows", "create", "ok-slug", "--name", "x", "--start", "01/02/2027"), "--start must be a date"),
    (("tokens", "create", "--role", "desk", "--show", "nosuch"), "no show with the code 'nosuch'"),
    (("users", "create", "not-an-email", "--role", "organizer"), "Not a valid email"),
    (("users", "create", "x@example.com", "--role", "wizard"), "Unknown role wizard"),
    (("users", "create", "x@example.com", "--role", "exhibitor"), "needs an organization"),
    (("import", "nonsense", "file.csv", "--show", "x"), "unknown import kind 'nonsense'"),
])
def test_errors_are_one_clear_line_and_non_zero(cli, args, message):
    r = cli(*args, input="a long password\n")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_short_password_from_stdin_is_refused(cli):
    r = cli("users", "create", "y@example.com", "--role", "organizer", input="short\n")
    assert r.returncode == 2 and "at least 10 characters" in r.stderr


def test_unknown_plugin_in_configuration(cli):
    r = cli("plugins", env={"CRM_EXPO_PLUGINS": "visitors,nosuch"})
    assert r.returncode == 2 and "unknown plugin 'nosuch'" in r.stderr


def test_unreachable_database(cli):
    r = cli("db", "upgrade", db_url="postgresql://nobody@127.0.0.1:1/nothing")
    assert r.returncode == 2
    assert "cannot connect to the database postgresql+psycopg://nobody@127.0.0.1:1/nothing" in r.stderr


def test_database_behind_on_migrations(cli, tmp_path):
    empty = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    r = cli("db", "check", db_url=empty)
    # Never migrated: said as such (a database part-way through says "behind on migrations").
    assert r.returncode == 1 and "not set up" in r.stderr and "crm-expo db upgrade" in r.stderr
    r = cli("serve", "--port", "1", db_url=empty)
    assert r.returncode == 2 and "not set up" in r.stderr
    assert cli("db", "upgrade", db_url=empty).returncode == 0
    assert cli("db", "check", db_url=empty).returncode == 0


def test_flask_cli_reaches_the_same_commands(database, tmp_path):
    url, _ = database
    env = dict(os.environ, CRM_EXPO_DATABASE_URL=url, CRM_EXPO_INSTANCE_PATH=str(tmp_path), CRM_EXPO_SECRET_KEY="x")
    r = subprocess.run([sys.executable, "-m", "flask", "--app", "crm_expo", "plugins"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "visitors" in r.stdout


# Arguments that get each command past its own option checks to the point where it needs the
# tables; a command missing here fails the test, so a new command is tried too.
FRESH_INSTALL_ARGS = {
    "shows create": ("x-2027", "--name", "x", "--start", "2027-01-01"),
    "shows list": (),
    "shows copy": ("a", "b", "--start", "2027-01-01"),
    "users create": ("a@example.com", "--role", "organizer"),
    "tokens create": ("--role", "desk", "--show", "x"),
    "generate": ("--show", "x"),
    "import": ("visitors", "f.csv", "--show", "x"),
    "report": ("booths", "--show", "x", "-o", "x.pdf"),
    "booths expire-holds": (),
    "booths offer-previous": ("--show", "x"),
    "worker": (),
    "audit verify": (),
    "loyalty recompute": ("--show", "x"),
    "backup": ("-o", "x.backup"),
    "privacy export": ("--email", "a@example.com", "-o", "x.zip"),
    "privacy erase": ("--email", "a@example.com", "--reason", "asked"),
}


def _schema_commands(group, prefix=()):
    import click
    for name, cmd in group.commands.items():
        if getattr(cmd, "needs_schema", True) is False:
            continue
        if isinstance(cmd, click.Group):
            yield from _schema_commands(cmd, prefix + (name,))
        else:
            yield " ".join(prefix + (name,))


def test_every_command_on_a_fresh_database_says_how_to_set_it_up(cli, app, tmp_path):
    commands = sorted(_schema_commands(app.cli))
    assert set(commands) <= set(FRESH_INSTALL_ARGS), "add the new command to FRESH_INSTALL_ARGS"
    empty = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    for command in commands:
        r = cli(*command.split(), *FRESH_INSTALL_ARGS[command], db_url=empty, input="a long password\n")
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, (command, r.stderr)
        assert "not set up" in r.stderr and "crm-expo db upgrade" in r.stderr, (command, r.stderr)


def test_a_token_can_be_made_to_expire(app, tmp_path):
    import datetime as dt

    from sqlalchemy import select

    from crm_expo.database import utcnow
    from crm_expo.extensions import db
    from crm_expo.models import ApiToken
    from tests.factories import make_show
    show = make_show()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "--role", "desk", "--show", show.slug, "--expires-days", "3"])
    assert result.exit_code == 0, result.output
    token = db.session.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
    left = token.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
    assert dt.timedelta(days=2, hours=23) < left <= dt.timedelta(days=3)
    bad = runner.invoke(args=["tokens", "create", "--role", "desk", "--show", show.slug, "--expires-days", "0"])
    assert bad.exit_code == 2 and "--expires-days" in bad.output
