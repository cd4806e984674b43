"""On site (现场服务): registration desk and check-in, badges, attendance and the one-stop
service centre."""
from flask_babel import lazy_gettext as _l

from crm_expo.plugins import NavItem, Plugin

from .api import api_bp, init_app
from .gate_import import importer as scan_importer
from .views import bp


def _attendance_report(show):
    from . import operations
    from .pdf import attendance_report
    return attendance_report(show, operations.attendance(show))


def _attendance_json(show) -> bytes:
    import json

    from .attendance import figures, plain
    return json.dumps(plain(figures(show)), ensure_ascii=False, indent=2).encode("utf-8")


def _attendance_xlsx(show) -> bytes:
    from .attendance import figures, xlsx
    return xlsx(figures(show))


# `crm-expo report attendance --format json|xlsx`: the same figures as the PDF.
_attendance_report.formats = {"json": _attendance_json, "xlsx": _attendance_xlsx}


def _customer_history(organization):
    """customer.history hook; operations.customer_history keeps its append-to-a-list form."""
    from .operations import customer_history
    entries: list = []
    customer_history(organization, entries)
    return entries


def _generate(show, counts, rng):
    from .generate import generate
    generate(show, counts, rng)


def _default_settings():
    from crm_expo.settings import SettingSpec

    from .operations import DEFAULT_SETTINGS as D
    from .operations import PRIORITIES
    return {
        "onsite.reentry": SettingSpec("bool", D["onsite.reentry"], _l("Re-entry allowed"),
                                      _l("Off: one admitted entry per person and show day.")),
        "onsite.exit_scans": SettingSpec("bool", D["onsite.exit_scans"], _l("Exit scans"),
                                         _l("Record exit scans at the gates.")),
        "onsite.print_on_checkin": SettingSpec("bool", D["onsite.print_on_checkin"], _l("Print badge at check-in"),
                                               _l("The desk prints a first badge at check-in (first entry, walk-in).")),
        "onsite.sla_minutes": SettingSpec("map", dict(D["onsite.sla_minutes"]), _l("Resolution target (minutes)"),
                                          _l("Minutes from logging a service request to its resolution, per priority."),
                                          min=1, max=60 * 24 * 30, choices=tuple(PRIORITIES.items())),
    }


def _routed_requests(show, organization_id) -> bool:
    """A company that service requests of the show are routed to (a contractor fixing a
    socket) takes part in it, appointed or not."""
    from sqlalchemy import select

    from crm_expo.extensions import db

    from .models import ServiceRequest
    return db.session.scalar(select(ServiceRequest.id).where(
        ServiceRequest.show_id == show.id, ServiceRequest.supplier_organization_id == organization_id).limit(1)) \
        is not None


def _privacy_export(person):
    from .privacy import export
    return export(person)


def _privacy_erase(person, idents, report):
    from .privacy import erase
    erase(person, idents, report)


plugin = Plugin(
    name="onsite",
    title=_l("On site"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.onsite.models",
    requires=("visitors", "exhibitors", "suppliers"),
    nav=(NavItem(_l("On site"), "onsite.index", permissions=("onsite.view",)),
         NavItem(_l("Service requests"), "onsite.supplier_requests", permissions=("onsite.supplier",)),
         NavItem(_l("Suggestions and complaints"), "onsite.portal", permissions=("onsite.portal",)),
         NavItem(_l("Leads"), "onsite.leads", permissions=("onsite.portal",))),
    default_settings=_default_settings(),
    generate=_generate,
    reports={"attendance": _attendance_report},
    importers={"scans": scan_importer},   # a gate system's export (gate_import)
    hooks={"customer.history": _customer_history, "privacy.export": _privacy_export,
           "privacy.erase": _privacy_erase},
    init_app=init_app,
    takes_part=_routed_requests,
)
