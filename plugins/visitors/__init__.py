"""Visitors (观众): Visitor registration, trade-visitor verification, admission rules and badge codes."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="visitors",
    title=_l("Visitors"),
    blueprint=bp,
    models="plugins.visitors.models",
    requires=(),
    nav=(NavItem(_l("Visitors"), "visitors.index", roles=('admin', 'organizer', 'account_manager', 'service_agent', 'desk')),),
)
