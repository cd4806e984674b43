"""Suppliers (服务商): official contractors, their service catalogues and prices."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .api import api_bp
from .generate import demo, generate
from .importing import importer
from .operations import on_collect_customer_history
from .views import bp


def _history(organization):
    """customer.history hook (the handler keeps its older append-to-a-list form)."""
    entries: list = []
    on_collect_customer_history(organization, entries)
    return entries


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


plugin = Plugin(
    name="suppliers",
    title=_l("Suppliers"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.suppliers.models",
    requires=("exhibitors",),
    nav=(NavItem(_l("Suppliers"), "suppliers.index", roles=("admin", "organizer", "account_manager", "service_agent")),
         NavItem(_l("My catalogue"), "suppliers.portal", roles=("supplier",)),
         NavItem(_l("Orders to us"), "suppliers.portal_orders", roles=("supplier",)),
         NavItem(_l("Order services"), "suppliers.services_home", roles=("exhibitor",))),
    generate=generate,
    demo=demo,
    importers={"suppliers": importer},
    hooks={"customer.history": _history, "show.copy": _copy_show},
)
