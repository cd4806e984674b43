"""Pages of the loyalty plugin: the segment list of a show, its export, the history import,
and the organization page's section (a page hook)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from crm_expo.access import require
from crm_expo.listing import ListRequestError, position_from

from . import operations as ops
from .models import MODEL_TITLES, MODELS, SEGMENT_TITLES
from .reasons import money, reason_lines

bp = Blueprint("loyalty", __name__, template_folder="templates")

def _sort_titles():
    return {"-score": _("Score, highest first"), "-amount": _("Amount paid, highest first"),
            "amount": _("Amount paid, lowest first"), "-editions": _("Most editions first")}


@bp.route("/")
@require("loyalty.view")
def index():
    show = g.show
    try:
        window = ops.window_of(show)
        missing = ""
    except ops.LoyaltyError as exc:
        window, missing = None, str(exc)
    filters = ops.clean_filters(request.args)
    sort = request.args.get("sort", "-score")
    if sort not in ops.ORDERS:
        sort = "-score"
    computed = ops.last_computed(show) if window else None
    page = names = counts = None
    if computed is not None:
        try:
            page, names = ops.segment_page(show, filters, position_from(request.args), sort)
        except ListRequestError as exc:
            abort(400, description=str(exc))
        counts = ops.segment_counts(show, filters)
    args = {k: v for k, v in request.args.items() if k not in ("page", "after", "before", "last") and v}
    editions = []
    if window:
        from crm_expo.extensions import db
        from crm_expo.models import Show
        editions = [db.session.get(Show, sid) for sid in window.ids]
    return render_template("loyalty/index.html", show=show, missing=missing, window=window, editions=editions,
                           computed=computed, page=page, names=names or {}, counts=counts, filters=filters,
                           sort=sort, sorts=_sort_titles(), args=args, models=MODELS, model_titles=MODEL_TITLES,
                           segment_titles=SEGMENT_TITLES, money=money, reason_lines=reason_lines)


@bp.route("/recompute", methods=["POST"])
@require("loyalty.manage")
def recompute():
    try:
        result = ops.recompute(g.show, user=current_user)
    except ops.LoyaltyError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Segments computed for %(n)s customers; %(changed)s changed segment.", n=result["customers"],
                changed=result["changed"]), "success")
    return redirect(url_for("loyalty.index", slug=g.show.slug))


def export_rows(show, filters):
    from crm_expo.extensions import db
    from crm_expo.models import Organization

    from .models import Segment
    stmt = (ops.segment_query(show, filters).add_columns(Organization.name_zh, Organization.name_en)
            .join(Organization, Organization.id == Segment.organization_id)
            .order_by(Segment.score.desc(), Segment.organization_id))
    for seg, zh, en in db.session.execute(stmt):
        lines = reason_lines(seg, show.currency)
        yield ([seg.organization_id, zh, en] + [str(SEGMENT_TITLES[m][getattr(seg, m)]) for m in MODELS]
               + [seg.score, seg.amount_window_minor / 100, seg.editions_window, seg.editions_total,
                  " ".join(lines.values())])


@bp.route("/export.<fmt>")
@require("loyalty.view")
def export(fmt):
    from crm_expo.exports import csv_response, xlsx_response
    if fmt not in ("csv", "xlsx"):
        abort(404)
    show = g.show
    header = ([_("Id"), _("Company name (Chinese)"), _("Company name (English)")]
              + [str(MODEL_TITLES[m]) for m in MODELS]
              + [_("Score"), _("Amount paid in the window (%(cur)s)", cur=show.currency), _("Editions in the window"),
                 _("Editions in the series"), _("Why")])
    make = csv_response if fmt == "csv" else xlsx_response
    return make(f"loyalty-{show.slug}.{fmt}", header, export_rows(show, ops.clean_filters(request.args)))


@bp.route("/import", methods=["GET", "POST"])
@require("loyalty.manage")
def import_page():
    """Upload a series' history → dry run shown as a preview → confirm → the real import."""
    from crm_expo.import_page import import_upload_page
    from plugins.exhibitors.forms import ImportForm
    show = g.show
    if show.series is None:
        flash(_("This show is not part of a series: put it in one (Admin → Shows) before importing its history."),
              "error")
        return redirect(url_for("loyalty.index", slug=show.slug))
    series = show.series

    def apply_rows(_show, rows, dry_run):
        return ops.apply_history_rows(series, rows, dry_run, user=current_user)
    return import_upload_page(
        show, "history", ops.HISTORY_COLUMNS, apply_rows, form=ImportForm(), endpoint="loyalty.import_page",
        title=_("Import the history of %(series)s", series=series.name),
        columns_help=_("Columns: company (公司), edition (届次: the show code, e.g. %(example)s, or its year), "
                       "booth_m2 (展位面积), amount_paid (金额, in %(cur)s), paid_on_time (按时付款: 是/否); "
                       "optional: co_exhibitor_of (联合参展), satisfaction (满意度 1–5), would_recommend "
                       "(推荐意愿 0–10). Editions not in crm-expo yet are created as ended editions of the series. "
                       "CSV (UTF-8 or GB18030) or XLSX.", example=f"{series.slug}-2019", cur=show.currency))


def organization_section(org):
    """organization.sections hook: the customer's segment, stage and reasons for the current
    show, and its editions with m², spend and punctuality."""
    from flask import has_request_context

    from crm_expo.permissions import can
    from crm_expo.web import current_show
    if not has_request_context() or current_user is None or not can("loyalty.view"):
        return None      # a page rendered for no signed-in reader (or one without the right) gets nothing
    show = current_show()
    segment = ops.segment_of(show, org.id) if show is not None else None
    editions = ops.editions_of(org.id)
    return Markup(render_template("loyalty/section.html", org=org, show=show, segment=segment, editions=editions,
                                  lines=reason_lines(segment, show.currency) if segment else {},
                                  models=MODELS, model_titles=MODEL_TITLES, segment_titles=SEGMENT_TITLES,
                                  actions=ops.STAGE_ACTIONS, money=money))
