"""The plugin contract and its loader.

A plugin is one :class:`Plugin` object exported as ``plugin`` by a package and registered
under the entry-point group ``crm_expo.plugins``. The loader imports the plugins named in
``CRM_EXPO_PLUGINS``, checks them (blueprint name = plugin name, site blueprint name =
``<name>_site``, API blueprint name = ``<name>_api``, tables prefixed with the plugin name,
every nav permission known, every requirement enabled), orders them so that a plugin comes after what it
requires, and raises :class:`PluginError` — never skips — when anything is wrong.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import click
from flask import Blueprint, Flask

ENTRY_POINT_GROUP = "crm_expo.plugins"


class PluginError(RuntimeError):
    """A plugin is unknown, broken, or its requirements are not met."""


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation: ``endpoint`` of one of the plugin's blueprints (a show
    page's link goes to the current show), a lazy title, and who sees it: the holders of
    any of ``permissions`` (empty = every signed-in user). An unknown
    permission fails at import."""
    title: Any
    endpoint: str
    permissions: tuple[str, ...] = ()
    icon: str = ""

    def __post_init__(self):
        from .permissions import check
        check(*self.permissions)


@dataclass
class Plugin:
    name: str
    title: Any                                   # lazy_gettext string
    version: str = "0.1.0"
    # Pages about one show, registered at /shows/<slug>/<name>: the core loads the show
    # into g.show and takes `slug` out of the view's arguments (crm_expo/show_urls.py).
    blueprint: Blueprint | None = None
    # Pages not about one show (portal homes, …), registered at /<name>, named '<name>_site'.
    site_blueprint: Blueprint | None = None
    # takes_part(show, organization_id) -> bool: does the organization take part in the
    # show through this plugin (an exhibitor, an appointed supplier)? A portal user sees the
    # pages of a show only if some loaded plugin says yes.
    takes_part: Callable | None = None
    api_blueprint: Blueprint | None = None       # JSON endpoints, registered under /api/v1
    models: str | None = None                    # module that defines the plugin's tables
    requires: tuple[str, ...] = ()
    nav: tuple[NavItem, ...] = ()
    default_settings: dict[str, Any] = field(default_factory=dict)
    cli: click.Group | None = None               # registered as `crm-expo <name> …`
    # generate(show, counts: dict, rng: random.Random) -> None; called by `crm-expo generate`
    # in `requires` order, e.g. the visitors plugin makes N visitors.
    generate: Callable | None = None
    # demo(show, orgs, rng) -> None: add this plugin's part of the demo show; orgs holds the
    # demo logins' companies ({'exhibitor': Organization, 'supplier': Organization}).
    demo: Callable | None = None
    # importers: {kind: callable(show, path, dry_run: bool, echo) -> ImportReport} for
    # `crm-expo import KIND FILE --show SLUG`; the plugin also offers an upload page.
    importers: dict[str, Callable] = field(default_factory=dict)
    # reports: {kind: callable(show) -> PDF bytes} for `crm-expo report KIND --show SLUG`.
    reports: dict[str, Callable] = field(default_factory=dict)
    # report_sections: {report kind: callable(show) -> list of ReportLab flowables}; the core
    # assembles e.g. the post-show report from every loaded plugin's sections.
    report_sections: dict[str, Callable] = field(default_factory=dict)
    # ((signal, handler), …): the core connects each handler so that it runs only in apps
    # where this plugin is enabled (tests build apps with different plugin subsets).
    signal_handlers: tuple = ()
    # hooks: {hook name: handler or (handler, priority)}: this plugin's pieces of other
    # plugins' pages and of the core's (crm_expo/hooks.py lists every hook name).
    hooks: dict[str, Any] = field(default_factory=dict)
    # init_app(app): anything else the plugin must set up on the app.
    init_app: Callable[[Flask], None] | None = None
    package: str = ""                            # filled by the loader
    path: str = ""                               # filled by the loader

    @property
    def migrations_path(self) -> str:
        return os.path.join(self.path, "migrations", "versions")

    @property
    def translations_path(self) -> str:
        return os.path.join(self.path, "translations")

    @property
    def table_prefix(self) -> str:
        return f"{self.name}_"


def available() -> dict[str, Any]:
    """Entry points of every installed plugin, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_one(name: str, eps: dict) -> Plugin:
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise PluginError(f"unknown plugin '{name}' (available: {known})")
    try:
        obj = eps[name].load()
    except Exception as exc:
        raise PluginError(f"plugin '{name}' failed to load: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, Plugin):
        raise PluginError(f"plugin '{name}': entry point {eps[name].value} is not a crm_expo Plugin")
    if obj.name != name:
        raise PluginError(f"plugin '{name}': declares the name '{obj.name}'")
    module = importlib.import_module(eps[name].module)
    obj.package = eps[name].module
    obj.path = os.path.dirname(module.__file__)
    if obj.models:
        try:
            importlib.import_module(obj.models)
        except Exception as exc:
            raise PluginError(f"plugin '{name}': models module {obj.models} failed to import: {exc}") from exc
    for bp, what, expected in ((obj.blueprint, "blueprint", name),
                               (obj.site_blueprint, "site blueprint", f"{name}_site")):
        if bp is not None and bp.name != expected:
            raise PluginError(f"plugin '{name}': its {what} is named '{bp.name}', must be '{expected}'")
    if obj.api_blueprint is not None and obj.api_blueprint.name != f"{name}_api":
        raise PluginError(f"plugin '{name}': its API blueprint must be named '{name}_api'")
    from .hooks import HOOK_NAMES
    for hook_name in obj.hooks:
        if hook_name not in HOOK_NAMES:
            raise PluginError(f"plugin '{name}': unknown hook '{hook_name}' (known: {', '.join(HOOK_NAMES)})")
    return obj


def order_by_requires(plugins: dict[str, Plugin]) -> list[Plugin]:
    ordered: list[Plugin] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise PluginError("plugins require each other in a cycle: " + " -> ".join(chain + (name,)))
        state[name] = "visiting"
        for req in plugins[name].requires:
            if req not in plugins:
                raise PluginError(f"plugin '{name}' requires '{req}', which is not enabled "
                                  f"(add it to CRM_EXPO_PLUGINS)")
            visit(req, chain + (name,))
        state[name] = "done"
        ordered.append(plugins[name])

    for name in plugins:   # configured order, moved only as far as `requires` demands
        visit(name, ())
    return ordered


def load_plugins(names: list[str], eps: dict | None = None) -> list[Plugin]:
    eps = available() if eps is None else eps
    seen: dict[str, Plugin] = {}
    for name in names:
        if name in seen:
            continue
        seen[name] = _load_one(name, eps)
    return order_by_requires(seen)


def check_tables(plugins: list[Plugin], metadata) -> None:
    """Every table a plugin's models module defines starts with '<plugin>_'."""
    for p in plugins:
        if not p.models:
            continue
        module = importlib.import_module(p.models)
        for value in vars(module).values():
            table = getattr(value, "__table__", None)
            if table is None or getattr(value, "__module__", None) != p.models:
                continue
            if not table.name.startswith(p.table_prefix):
                raise PluginError(f"plugin '{p.name}': table '{table.name}' must start with '{p.table_prefix}'")


def parse_names(value: str | list | tuple) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [v.strip() for v in value if v.strip()]
    return [v.strip() for v in value.split(",") if v.strip()]


_connected: dict[tuple, Callable] = {}


def connect_signal_handlers(plugin: Plugin) -> None:
    from flask import current_app, has_app_context

    for signal, handler in plugin.signal_handlers:
        key = (plugin.name, signal.name, handler.__module__, handler.__qualname__)
        if key in _connected:
            continue

        def receiver(sender, _handler=handler, _name=plugin.name, **kwargs):
            if has_app_context() and _name in current_app.extensions.get("crm_expo_plugins", {}):
                return _handler(sender, **kwargs)
            return None

        _connected[key] = receiver
        signal.connect(receiver, weak=False)
