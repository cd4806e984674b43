"""On site (现场服务): Registration desk, badges, lead scanning and the one-stop service centre."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .views import bp

plugin = Plugin(
    name="onsite",
    title=_l("On site"),
    blueprint=bp,
    models="plugins.onsite.models",
    requires=('visitors', 'exhibitors', 'suppliers'),
    nav=(NavItem(_l("On site"), "onsite.index", roles=('admin', 'organizer', 'service_agent', 'desk')),),
)
