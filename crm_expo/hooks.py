"""Page hooks: a plugin adds a piece to a page it does not own, without importing it.

A page calls ``{{ hook('organization.sections', org=org) }}`` in its template (or
``hooks.values('customer.history', organization=org)`` in Python); every *loaded* plugin
that declared ``Plugin(hooks={'organization.sections': handler})`` contributes its piece, in
order of the handler's priority (lower first; default 50), then of the plugins' load order.
A handler may be ``handler`` or ``(handler, priority)``; it is called with the page's
keyword arguments and returns its piece (``Markup`` for a template hook, any value for a
values hook) or None for nothing.

A handler that raises fails the request in tests (``TESTING`` or ``HOOKS_RAISE``), so a
broken piece is seen at once; in production the error is logged and the page is shown
without that piece — one plugin's section must not take down another plugin's page.

Every hook name, where it is called, and what its handlers get and return:

=========================  =====================================  ============================================
name                       called from                            keyword arguments → piece
=========================  =====================================  ============================================
``show.dashboard``         templates/home.html (the show's home)  ``show`` (may be None) → Markup
``organization.sections``  the organization page                  ``org`` (Organization) → Markup
``exhibitor.sections``     exhibitors' record page                ``show``, ``exhibitor`` → Markup (booths:
                                                                   the exhibitor's bookings)
``customer.history``       ``crm_expo.contacts.history.           ``organization`` → list of dicts (``show``,
                           customer_history`` (organization page)  ``kind``, ``label``, ``value``, ``url``);
                                                                   the lists are joined
``customer.participation`` plugins/loyalty (operations.history:  ``show_ids`` (list or SELECT of ids, or None)
                           every segment, the organization       → a SELECT of (``exhibitor_id``,
                           page's editions)                       ``booth_m2``, ``amount_paid_minor``,
                                                                   ``paid_on_time`` 1/0/NULL) rows, one per
                                                                   booking or order (booths: its bookings)
``show.copy``              ``crm_expo.copying.copy_show``         ``source``, ``target``, ``report`` → None
                           (``crm-expo shows copy``)              (adds counts to the report)
``privacy.export``         ``crm_expo.privacy.export_data``       ``person`` → dict: section name → list of
                           (``crm-expo privacy export``, the      row dicts (JSON-able values; ``bytes`` are
                           privacy page)                          written as files in the zip)
``privacy.erase``          ``crm_expo.privacy.erase``             ``person``, ``idents`` (the values to remove),
                           (``crm-expo privacy erase``, the       ``report`` (ErasureReport: ``add(kind, n)``,
                           privacy page, the retention job)       ``kept``) → None; redacts the plugin's rows in
                                                                  the caller's transaction, never skipped
=========================  =====================================  ============================================
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from markupsafe import Markup

log = logging.getLogger(__name__)

DEFAULT_PRIORITY = 50
HOOK_NAMES = ("show.dashboard", "organization.sections", "exhibitor.sections", "customer.history",
              "customer.participation", "show.copy", "privacy.export", "privacy.erase")


def handlers(name: str) -> list[tuple[str, Callable]]:
    """(plugin name, handler) of the loaded plugins for this hook, in order. A caller for
    which no piece may be skipped (``show.copy``) calls them itself and lets errors through."""
    found = []
    plugins = current_app.extensions.get("crm_expo_plugins", {})
    for position, plugin in enumerate(plugins.values()):
        entry = plugin.hooks.get(name)
        if entry is None:
            continue
        handler, priority = entry if isinstance(entry, tuple) else (entry, DEFAULT_PRIORITY)
        found.append((priority, position, plugin.name, handler))
    found.sort(key=lambda row: (row[0], row[1]))
    return [(plugin_name, handler) for _p, _pos, plugin_name, handler in found]


def _raises() -> bool:
    return bool(current_app.config.get("TESTING") or current_app.config.get("HOOKS_RAISE"))


def values(name: str, **kwargs: Any) -> list:
    """Every loaded plugin's piece for hook ``name``, in order (None pieces left out)."""
    if name not in HOOK_NAMES:
        raise KeyError(f"unknown hook {name!r} (known: {', '.join(HOOK_NAMES)})")
    pieces = []
    for plugin_name, handler in handlers(name):
        try:
            piece = handler(**kwargs)
        except Exception:
            if _raises():
                raise
            log.exception("hook %s: the handler of plugin %s failed; the page is shown without it",
                          name, plugin_name)
            continue
        if piece is not None:
            pieces.append(piece)
    return pieces


def render(name: str, **kwargs: Any) -> Markup:
    """The Jinja global ``hook(name, **kw)``: the pieces joined, as safe HTML."""
    return Markup("\n").join(values(name, **kwargs))   # a plain str piece is escaped
