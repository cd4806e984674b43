"""Booths (展位): Floor plan, published price list, bookings, contracts and payments."""
from flask_babel import lazy_gettext as _l

from crm_expo.contacts.importing import Column, choice, cli_importer
from crm_expo.plugins import NavItem, Plugin
from crm_expo.settings import SettingSpec

from . import operations as ops
from .api import api_bp
from .cli import cli
from .models import BOOTH_TYPES
from .views import bp


def _metres(raw: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError as exc:
        raise ValueError(f"not a number of metres: {raw}") from exc
    if value < 0:
        raise ValueError(f"must not be negative: {raw}")
    return value


def _sides(raw: str) -> int:
    if raw.strip() not in ("1", "2", "3", "4"):
        raise ValueError(f"open sides must be 1 to 4, not {raw}")
    return int(raw)


BOOTH_COLUMNS = (
    Column("code", ("code", "展位号", "展位编号", "展位", "booth", "booth no", "booth number", "stand", "stand no"),
           required=True, unique=True),
    Column("hall", ("hall", "展馆", "馆号", "展厅", "hall no"), required=True),
    Column("x", ("x",), required=True, parse=_metres),
    Column("y", ("y",), required=True, parse=_metres),
    Column("width", ("width", "宽", "宽度", "宽(米)", "width (m)"), required=True, parse=_metres),
    Column("depth", ("depth", "深", "深度", "进深", "深(米)", "depth (m)"), required=True, parse=_metres),
    # Without a type a booth is a shell scheme booth with one open side: the report says so.
    Column("type", ("type", "类型", "展位类型", "booth type", "stand type"), parse=choice(*BOOTH_TYPES, aliases={
        "标准展位": "shell", "标摊": "shell", "光地": "raw", "角位": "corner", "半岛": "peninsula", "岛位": "island"}),
        default="shell", default_label=_l("shell scheme booths (标准展位)")),
    Column("open_sides", ("open_sides", "开口", "开口数", "open sides"), parse=_sides, default=1,
           default_label=_l("one open side")),
)


def _history(organization):
    """customer.history hook; operations.customer_history keeps its append-to-a-list form."""
    entries: list = []
    ops.customer_history(organization, entries)
    return entries


def _exhibitor_bookings(**kw):
    from .sections import exhibitor_bookings
    return exhibitor_bookings(**kw)


def _participation(show_ids=None):
    from .operations.figures import participation
    return participation(show_ids)


def _copy_show(**kw):
    from .copying import copy_show
    copy_show(**kw)


# The PDF module (and ReportLab) is loaded when a report is printed, not by every command.
def _booths_report(show):
    from .pdf import booths_report
    return booths_report(show)


def _report_section(show):
    from .pdf import report_section
    return report_section(show)


# The defaults stay in operations.DEFAULT_SETTINGS; these say what each one is.
SETTINGS = {
    "booths.hold_minutes": SettingSpec(
        "int", ops.DEFAULT_SETTINGS["booths.hold_minutes"], _l("Hold time (minutes)"),
        _l("How long a held booth stays held for an exhibitor before it is released."), min=1, max=60 * 24 * 90),
    "booths.offer_minutes": SettingSpec(
        "int", ops.DEFAULT_SETTINGS["booths.offer_minutes"], _l("Rebooking offer time (minutes)"),
        _l("How long a returning exhibitor's previous booth is offered to it before it is released."),
        min=1, max=60 * 24 * 90),
}

def _privacy_erase(person, idents, report):
    from .privacy import erase
    erase(person, idents, report)


plugin = Plugin(
    name="booths",
    title=_l("Booths"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.booths.models",
    requires=('exhibitors',),
    nav=(NavItem(_l("Booths"), "booths.index", permissions=("booths.sell", "booths.portal")),),
    default_settings=SETTINGS,
    cli=cli,
    generate=ops.generate,
    importers={"booths": cli_importer("booths", BOOTH_COLUMNS, ops.import_rows)},
    reports={"booths": _booths_report},
    report_sections={"post-show": _report_section},
    hooks={"customer.history": _history, "show.copy": _copy_show, "exhibitor.sections": _exhibitor_bookings,
           "customer.participation": _participation, "privacy.erase": _privacy_erase},
)
