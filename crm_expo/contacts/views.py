"""The organization page (everything we know about a customer, across shows and plugins)
and its merge page. Core pages, outside any show: they work whatever plugins are loaded."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, require
from ..extensions import csrf, db
from ..models import Organization
from ..permissions import can
from .duplicates import CustomerError, find_duplicate_organizations
from .forms import MergeForm
from .history import customer_history
from .merge import merge_organizations

bp = Blueprint("contacts", __name__, template_folder="templates")

def _organization_or_404(organization_id: int) -> Organization:
    org = db.session.get(Organization, organization_id)
    if org is None:
        abort(404)
    return org


def _duplicates(org: Organization) -> list[Organization]:
    return find_duplicate_organizations(org.name_zh, org.name_en, org.licence_no, exclude_id=org.id)


@bp.route("/organizations/<int:organization_id>")
@require("organizations.view")
def organization(organization_id):
    org = _organization_or_404(organization_id)
    can_merge = can("organizations.merge")
    return render_template("contacts/organization.html", org=org, history=customer_history(org),
                           duplicates=_duplicates(org), can_merge=can_merge,
                           form=MergeForm(formdata=None) if can_merge else None)


@bp.route("/organizations/<int:organization_id>/merge", methods=["GET", "POST"])
@require("organizations.merge")
def merge(organization_id):
    """Merge a duplicate into this organization: every record of the duplicate (exhibitor
    applications, people, users, orders …) moves here; the audit keeps what moved."""
    org = _organization_or_404(organization_id)
    form = MergeForm()
    if form.validate_on_submit():
        raw = (form.other_id.data or "").strip().lstrip("#")
        other = db.session.get(Organization, int(raw)) if raw.isdigit() else None
        if other is None or other.id == org.id:
            flash(_("No other company with the id %(id)s.", id=form.other_id.data), "error")
        else:
            try:
                merge_organizations(org, other, current_user)
            except CustomerError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash(_("Merged: every record of the duplicate now belongs to this company."), "success")
                return redirect(url_for("contacts.organization", organization_id=org.id))
    return render_template("contacts/merge.html", org=org, form=form, duplicates=_duplicates(org))


# The pages lived in the exhibitors plugin: bookmarks keep working (308 keeps a POST a POST).
# Only a redirect, like the other old paths (crm_expo/show_urls.py): the page it leads to
# checks who may see it, and the form's CSRF token when the post arrives.
@bp.route("/exhibitors/organizations/<int:organization_id>", methods=["GET", "POST"])
@csrf.exempt
@public
def old_organization(organization_id):
    if request.method == "POST":
        return redirect(url_for("contacts.merge", organization_id=organization_id), code=308)
    return redirect(url_for("contacts.organization", organization_id=organization_id), code=301)
