"""Exhibitors (参展商): Applications, qualification review and the exhibitor record of each show."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="exhibitors",
    title=_l("Exhibitors"),
    blueprint=bp,
    models="plugins.exhibitors.models",
    requires=(),
    nav=(NavItem(_l("Exhibitors"), "exhibitors.index", roles=('admin', 'organizer', 'account_manager', 'service_agent')),),
)
