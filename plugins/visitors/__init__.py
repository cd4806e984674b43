"""Visitors (观众): registration, trade-visitor verification, admission rules and badge codes."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin
from crm_expo.settings import SettingSpec

from . import retention  # noqa: F401  (declares the retention job)
from .api import api_bp
from .bulk import generate, importer
from .views import bp


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


def _privacy_export(person):
    from .privacy import export
    return export(person)


def _privacy_erase(person, idents, report):
    from .privacy import erase
    erase(person, idents, report)


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
    default_settings={"visitors.erase_after_days": SettingSpec(
        "int", 0, _l("Erase visitors' personal data (days after the show closes)"),
        _l("That many days after the last day of a closed show, its visitors' names, contacts, ID numbers, "
           "answers and cards are erased; attendance figures stay. 0: kept. Download the data first from the "
           "visitors page."), min=0, max=3650)},
    hooks={"show.copy": _copy_show, "privacy.export": _privacy_export, "privacy.erase": _privacy_erase},
)
