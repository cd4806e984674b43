"""Booths (展位): Floor plan, published price list, bookings, contracts and payments."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="booths",
    title=_l("Booths"),
    blueprint=bp,
    models="plugins.booths.models",
    requires=('exhibitors',),
    nav=(NavItem(_l("Booths"), "booths.index", roles=('admin', 'organizer', 'account_manager')),),
)
