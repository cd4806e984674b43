"""Visitors (观众): registration, trade-visitor verification, admission rules and badge codes."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .api import api_bp
from .bulk import generate, importer
from .views import bp


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


plugin = Plugin(
    name="visitors",
    title=_l("Visitors"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.visitors.models",
    requires=(),
    nav=(NavItem(_l("Visitors"), "visitors.index", permissions=("visitors.view",)),),
    generate=generate,
    importers={"visitors": importer},
    hooks={"show.copy": _copy_show},
)
