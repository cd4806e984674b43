"""Suppliers (服务商): official contractors, their service catalogues and prices."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .api import api_bp
from .generate import demo, generate
from .importing import importer
from .operations import appointment_for, on_collect_customer_history, supplier_for_organization
from .views import bp, site_bp


def _appointed(show, organization_id) -> bool:
    """A supplier takes part in the shows it is an official contractor of."""
    supplier = supplier_for_organization(organization_id)
    return supplier is not None and appointment_for(show, supplier) is not None



def _history(organization):
    """customer.history hook (the handler keeps its older append-to-a-list form)."""
    entries: list = []
    on_collect_customer_history(organization, entries)
    return entries


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


def _privacy_export(person):
    from .privacy import export
    return export(person)


plugin = Plugin(
    name="suppliers",
    title=_l("Suppliers"),
    blueprint=bp,
    site_blueprint=site_bp,
    takes_part=_appointed,
    api_blueprint=api_bp,
    models="plugins.suppliers.models",
    requires=("exhibitors",),
    nav=(NavItem(_l("Suppliers"), "suppliers.index", permissions=("suppliers.view",)),
         NavItem(_l("My catalogue"), "suppliers_site.portal", permissions=("suppliers.portal",)),
         NavItem(_l("Orders to us"), "suppliers.portal_orders", permissions=("suppliers.portal",)),
         NavItem(_l("Order services"), "suppliers_site.services_home", permissions=("suppliers.order",))),
    generate=generate,
    demo=demo,
    importers={"suppliers": importer},
    hooks={"customer.history": _history, "show.copy": _copy_show, "privacy.export": _privacy_export},
)
