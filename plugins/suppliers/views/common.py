"""What the staff, portal and order pages of the suppliers plugin share: the blueprints, the
catalogue-item form handling and adding a contact."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from crm_expo.errors import DomainError
from crm_expo.i18n import parse_money

from .. import operations as ops
from ..forms import ContactForm, ItemForm
from ..models import CatalogueItem

bp = Blueprint("suppliers", __name__, template_folder="../templates")            # /shows/<slug>/suppliers
site_bp = Blueprint("suppliers_site", __name__, template_folder="../templates")  # /suppliers: not about one show

PER_PAGE = 50


def item_values(form: ItemForm, currency: str) -> dict:
    price = parse_money(form.price.data, form.currency.data.upper() or currency, field="price")
    return {"name_zh": form.name_zh.data, "name_en": form.name_en.data, "category": form.category.data,
            "unit": form.unit.data, "price_minor": price, "currency": form.currency.data or currency,
            "early_order_deadline": form.early_order_deadline.data, "late_surcharge_pct": form.late_surcharge_pct.data,
            "final_order_deadline": form.final_order_deadline.data, "active": form.active.data,
            "description": form.description.data}


def add_item_from_form(show, sup) -> None:
    """The posted ItemForm → a new catalogue item of ``sup`` for ``show``; the outcome is flashed
    (staff page and supplier portal alike)."""
    form = ItemForm()
    if form.validate_on_submit():
        try:
            ops.add_item(show, sup, user=current_user, **item_values(form, show.currency))
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Catalogue item saved."), "success")
    else:
        for name, errors in form.errors.items():
            for e in errors:
                flash(f"{getattr(form, name).label.text}: {e}", "error")


def add_contact_from_form(sup) -> None:
    """The posted ContactForm → a new contact of ``sup``; the outcome is flashed."""
    form = ContactForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.add_contact(sup, name_zh=form.name_zh.data, name_en=form.name_en.data, email=form.email.data,
                        phone=form.phone.data, role=form.role.data, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Contact added."), "success")


def item_form(item: CatalogueItem) -> ItemForm:
    from decimal import Decimal

    from crm_expo.i18n import minor_units

    return ItemForm(data=None if request.method == "POST" else {
        "name_zh": item.name_zh, "name_en": item.name_en, "category": item.category, "unit": item.unit,
        "price": str(Decimal(item.price_minor).scaleb(-minor_units(item.currency))), "currency": item.currency,
        "early_order_deadline": item.early_order_deadline, "late_surcharge_pct": item.late_surcharge_pct,
        "final_order_deadline": item.final_order_deadline, "active": item.active, "description": item.description})


def csrf_ok() -> bool:
    from flask_wtf.csrf import ValidationError, validate_csrf

    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except ValidationError:
        return False
