"""Suppliers (服务商): Official contractors, their service catalogues and prices."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="suppliers",
    title=_l("Suppliers"),
    blueprint=bp,
    models="plugins.suppliers.models",
    requires=(),
    nav=(NavItem(_l("Suppliers"), "suppliers.index", roles=('admin', 'organizer', 'account_manager', 'service_agent')),),
)
