"""Booths (展位): Floor plan, published price list, bookings, contracts and payments."""
from flask_babel import lazy_gettext as _l

from crm_expo import signals
from crm_expo.imports import Column, choice, cli_importer
from crm_expo.plugins import NavItem, Plugin

from . import operations as ops
from .api import api_bp
from .cli import cli
from .models import BOOTH_TYPES
from .views import bp


def _metres(raw: str) -> float:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(f"not a number of metres: {raw}")
    if value < 0:
        raise ValueError(f"must not be negative: {raw}")
    return value


def _sides(raw: str) -> int:
    if raw.strip() not in ("1", "2", "3", "4"):
        raise ValueError(f"open sides must be 1 to 4, not {raw}")
    return int(raw)


BOOTH_COLUMNS = (
    Column("code", ("code", "展位号", "booth"), required=True, unique=True),
    Column("hall", ("hall", "展馆"), required=True),
    Column("x", ("x",), required=True, parse=_metres),
    Column("y", ("y",), required=True, parse=_metres),
    Column("width", ("width", "宽"), required=True, parse=_metres),
    Column("depth", ("depth", "深"), required=True, parse=_metres),
    Column("type", ("type", "类型"), parse=choice(*BOOTH_TYPES, aliases={
        "标准展位": "shell", "光地": "raw", "角位": "corner", "半岛": "peninsula", "岛位": "island"})),
    Column("open_sides", ("open_sides", "开口"), parse=_sides),
)


def _history(sender, entries, **_kw):
    ops.customer_history(sender, entries)


# The PDF module (and ReportLab) is loaded when a report is printed, not by every command.
def _booths_report(show):
    from .pdf import booths_report
    return booths_report(show)


def _report_section(show):
    from .pdf import report_section
    return report_section(show)


plugin = Plugin(
    name="booths",
    title=_l("Booths"),
    blueprint=bp,
    api_blueprint=api_bp,
    models="plugins.booths.models",
    requires=('exhibitors',),
    nav=(NavItem(_l("Booths"), "booths.index", permissions=("booths.sell", "booths.portal")),),
    default_settings=dict(ops.DEFAULT_SETTINGS),
    cli=cli,
    generate=ops.generate,
    importers={"booths": cli_importer("booths", BOOTH_COLUMNS, ops.import_rows)},
    reports={"booths": _booths_report},
    report_sections={"post-show": _report_section},
    signal_handlers=((signals.collect_customer_history, _history),),
)
