"""Page hooks: plugins add pieces to pages they do not own, in order, only when loaded."""
import logging
from importlib.metadata import EntryPoint

import pytest

from crm_expo import PluginError, hooks
from crm_expo.plugins import load_plugins
from tests.factories import make_org, make_user
from tests.plugins_for_tests import hooked


@pytest.fixture
def with_plugins(app):
    """Load extra plugin objects into the app for one test (the absent one never)."""
    loaded = app.extensions["crm_expo_plugins"]
    saved = dict(loaded)

    def add(*plugins):
        for p in plugins:
            loaded[p.name] = p
    yield add
    loaded.clear()
    loaded.update(saved)


def _org_page(client):
    org = make_org("钩子公司")
    client.login(make_user("organizer"))
    return client.get(f"/exhibitors/organizations/{org.id}")


def test_two_plugins_add_sections_to_the_organization_page_in_order(client, with_plugins):
    with_plugins(hooked.late, hooked.early)
    resp = _org_page(client)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "early for 钩子公司" in html and "late for 钩子公司" in html
    assert html.index("from-early") < html.index("from-late")
    assert "a plugin that is not loaded" not in html


def test_values_hook_joins_the_loaded_plugins_pieces(app, with_plugins):
    org = make_org()
    with_plugins(hooked.late)
    pieces = hooks.values("customer.history", organization=org)
    assert [{"kind": "late"}] in pieces
    assert all(isinstance(piece, list) for piece in pieces)


def test_a_plugin_that_is_not_loaded_contributes_nothing(app, with_plugins):
    with_plugins(hooked.early)
    org = make_org("甲")
    with app.test_request_context():
        html = str(hooks.render("organization.sections", org=org))
    assert "from-early" in html                       # hooked.absent's handler would raise


def test_a_failing_section_fails_the_test_but_not_the_page_in_production(client, app, with_plugins, caplog):
    with_plugins(hooked.early, hooked.broken)
    org = make_org()
    with pytest.raises(RuntimeError, match="this section is broken"):
        hooks.values("organization.sections", org=org)
    assert _org_page(client).status_code == 500        # the app's error page, not a page without it
    app.config["TESTING"] = False
    try:
        with caplog.at_level(logging.ERROR, logger="crm_expo.hooks"):
            resp = _org_page(client)
    finally:
        app.config["TESTING"] = True
    assert resp.status_code == 200 and "from-early" in resp.get_data(as_text=True)
    assert any("broken_section" in r.getMessage() and r.exc_info for r in caplog.records)


def test_an_unknown_hook_name_is_refused_at_load():
    eps = {"unknown_hook": EntryPoint(name="unknown_hook", value="tests.plugins_for_tests.hooked:unknown_hook",
                                      group="crm_expo.plugins")}
    with pytest.raises(PluginError, match="unknown hook 'no.such.page'"):
        load_plugins(["unknown_hook"], eps)


def test_the_show_dashboard_has_its_hook(client, app, with_plugins):
    from markupsafe import Markup

    from crm_expo.plugins import Plugin
    with_plugins(Plugin(name="dash", title="Dash", hooks={
        "show.dashboard": lambda show: Markup("<section id='dash'>%s</section>") % (show.slug if show else "-")}))
    client.login(make_user("organizer"))
    assert "<section id='dash'>-</section>" in client.get("/").get_data(as_text=True)
