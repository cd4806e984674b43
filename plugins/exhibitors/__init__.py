"""Exhibitors (参展商): applications, qualification review and the exhibitor record of each show,
plus the organization page that remembers the customer across shows."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin
from crm_expo.settings import SettingSpec

from .api import api_bp
from .generate import demo, generate
from .importing import importer
from .models import DOCUMENT_TITLES
from .operations import (
    DEFAULT_REQUIRED_DOCUMENTS,
    REQUIRED_DOCUMENTS_KEY,
    exhibitor_for_organization,
    on_collect_customer_history,
)
from .views import bp, site_bp


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


def _history(organization):
    """customer.history hook (the handler keeps its older append-to-a-list form)."""
    entries: list = []
    on_collect_customer_history(organization, entries)
    return entries


def _privacy_export(person):
    from .privacy import export
    return export(person)


plugin = Plugin(
    name="exhibitors",
    title=_l("Exhibitors"),
    blueprint=bp,
    site_blueprint=site_bp,
    takes_part=lambda show, organization_id: exhibitor_for_organization(show, organization_id) is not None,
    api_blueprint=api_bp,
    models="plugins.exhibitors.models",
    requires=(),
    nav=(NavItem(_l("Exhibitors"), "exhibitors.index", permissions=("exhibitors.view",)),
         NavItem(_l("My company"), "exhibitors_site.portal", permissions=("exhibitors.portal",))),
    default_settings={REQUIRED_DOCUMENTS_KEY: SettingSpec(
        "list", DEFAULT_REQUIRED_DOCUMENTS, _l("Required documents"),
        _l("Documents an exhibitor must have accepted before its application can be approved."),
        choices=tuple(DOCUMENT_TITLES.items()))},
    generate=generate,
    demo=demo,
    importers={"exhibitors": importer},
    hooks={"customer.history": _history, "show.copy": _copy_show, "privacy.export": _privacy_export},
)
