"""Loyalty (客户忠诚): Segments, lifecycle stages and the post-show follow-up queue."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="loyalty",
    title=_l("Loyalty"),
    blueprint=bp,
    models="plugins.loyalty.models",
    requires=('exhibitors',),
    nav=(NavItem(_l("Loyalty"), "loyalty.index", permissions=("loyalty.view",)),),
)
