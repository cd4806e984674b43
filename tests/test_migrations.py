"""One Alembic environment, a branch per plugin; the migrated schema equals the models."""
import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from crm_expo.extensions import db
from crm_expo.migrations import alembic_config, pending_heads, upgrade


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, db.metadata)


def test_empty_database_upgraded_to_heads_equals_the_models(make_app, tmp_path, is_postgres, app):
    if is_postgres:
        # The session fixture upgraded an empty PostgreSQL schema to heads; compare it.
        target = app
    else:
        target = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        upgrade(target)
    with target.app_context():
        assert pending_heads(target) == set()
        diff = _diff(db.engine)
    assert diff == [], f"schema differs from the models: {diff}"


def test_each_plugin_with_tables_has_its_own_branch(app):
    script = ScriptDirectory.from_config(alembic_config(app))
    labels = set()
    for rev in script.walk_revisions():
        labels |= set(rev.branch_labels or ())
    assert "core" in labels
    for plugin in app.extensions["crm_expo_plugins"].values():
        versions = plugin.migrations_path
        files = [f for f in os.listdir(versions) if f.endswith(".py")] if os.path.isdir(versions) else []
        if files:
            assert plugin.name in labels, f"{plugin.name} migrations are not a branch labelled {plugin.name}"


def test_database_behind_on_migrations_answers_503_naming_the_fix(make_app, tmp_path):
    behind = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    resp = behind.test_client().get("/auth/login")
    assert resp.status_code == 503
    assert "crm-expo db upgrade" in resp.get_data(as_text=True)
    api = behind.test_client().get("/api/v1/shows")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "schema_outdated"


def test_the_core_branch_has_one_head_even_where_plugins_depend_on_it(app):
    """`crm-expo db revision` for the core continues the core branch: its head is found even
    though Alembic stops calling it a head once plugin branches depend on it."""
    from crm_expo.migrations import _core_heads
    script = ScriptDirectory.from_config(alembic_config(app))
    heads = _core_heads(script)
    assert len(heads) == 1
    core_revs = [r for r in script.walk_revisions() if "core" in (r.branch_labels or ()) or
                 os.path.dirname(r.path).endswith(os.path.join("migrations", "versions"))
                 and "plugins" not in r.path]
    assert heads[0] in {r.revision for r in core_revs}
    assert not any(heads[0] in (r._all_down_revisions or ()) for r in core_revs)
