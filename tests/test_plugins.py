"""The plugin contract: loading, checks, ordering, subsets."""
from importlib.metadata import EntryPoint

import pytest

from crm_expo import PluginError
from crm_expo.plugins import available, load_plugins
from tests.factories import make_show, make_user


def _ep(name, value):
    return EntryPoint(name=name, value=value, group="crm_expo.plugins")


def test_the_six_builtin_plugins_are_registered():
    assert {"exhibitors", "visitors", "suppliers", "booths", "onsite", "loyalty"} <= set(available())


def test_requires_orders_plugins():
    order = [p.name for p in load_plugins(["onsite", "booths", "visitors", "exhibitors", "suppliers", "loyalty"])]
    for plugin in load_plugins(order):
        for req in plugin.requires:
            assert order.index(req) < order.index(plugin.name)


def test_unknown_plugin_fails_loudly(make_app):
    with pytest.raises(PluginError, match="unknown plugin 'nosuch'"):
        make_app(plugins=("visitors", "nosuch"))


def test_missing_requirement_is_named(make_app):
    with pytest.raises(PluginError, match="'booths' requires 'exhibitors', which is not enabled"):
        make_app(plugins=("booths",))


def test_broken_plugin_fails_loudly():
    eps = {"broken": _ep("broken", "tests.plugins_for_tests.broken:plugin")}
    with pytest.raises(PluginError, match="plugin 'broken' failed to load: ImportError: No module named 'leftover_dependency'"):
        load_plugins(["broken"], eps)


def test_blueprint_must_carry_the_plugin_name():
    eps = {"misnamed": _ep("misnamed", "tests.plugins_for_tests.misnamed:plugin")}
    with pytest.raises(PluginError, match="its blueprint is named 'other_name', must be 'misnamed'"):
        load_plugins(["misnamed"], eps)


def test_site_blueprint_must_carry_the_plugin_name():
    eps = {"misnamed": _ep("misnamed", "tests.plugins_for_tests.misnamed:site_misnamed")}
    with pytest.raises(PluginError, match="its site blueprint is named 'misnamed_portal', must be 'misnamed_site'"):
        load_plugins(["misnamed"], eps)


def test_requirement_cycle_is_refused():
    eps = {"chicken": _ep("chicken", "tests.plugins_for_tests.cycle:chicken"),
           "egg": _ep("egg", "tests.plugins_for_tests.cycle:egg")}
    with pytest.raises(PluginError, match="cycle"):
        load_plugins(["chicken", "egg"], eps)


@pytest.mark.parametrize("subset", [
    ("visitors",),
    ("exhibitors", "booths"),
    ("exhibitors", "loyalty"),
    ("visitors", "exhibitors", "suppliers", "onsite"),
])
def test_app_works_with_a_subset_of_plugins(make_app, app, subset):
    make_show()
    user = make_user("admin")
    sub = make_app(plugins=subset)
    from tests.fixtures import Client
    sub.test_client_class = Client
    client = sub.test_client()
    with sub.app_context():
        client.login(user)
        home = client.get("/").get_data(as_text=True)
        for name in ("exhibitors", "visitors", "suppliers", "booths", "onsite", "loyalty"):
            assert (f'data-plugin="{name}"' in home) == (name in subset), name
            status = client.get(f"/{name}/", follow_redirects=True).status_code
            assert (status == 200) if name in subset else (status == 404), (name, status)
