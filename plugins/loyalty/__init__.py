"""Loyalty (客户忠诚): each customer's history across the editions of a series, the segment
models by name with their reasons, and the lifecycle stage with the work to do."""
from flask_babel import lazy_gettext as _l

from crm_expo import signals
from crm_expo.contacts.importing import cli_importer
from crm_expo.plugins import NavItem, Plugin

from . import operations as ops
from .api import api_bp
from .cli import cli
from .views import bp, organization_section


def _history_importer():
    importer = cli_importer("history", ops.HISTORY_COLUMNS, ops.apply_history_rows)
    importer.scope = "series"      # `crm-expo import history FILE --series SLUG`
    return importer


def _demo(show, orgs, rng):
    from .demo import demo
    demo(show, orgs, rng)


plugin = Plugin(
    name="loyalty",
    title=_l("Loyalty"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.loyalty.models",
    requires=('exhibitors',),
    nav=(NavItem(_l("Loyalty"), "loyalty.index", permissions=("loyalty.view",)),),
    default_settings=ops.SETTINGS,
    cli=cli,
    demo=_demo,
    importers={"history": _history_importer()},
    signal_handlers=((signals.show_status_changed, ops.on_show_status_changed),),
    hooks={"organization.sections": organization_section},
)
