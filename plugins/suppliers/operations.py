"""Domain logic of the suppliers plugin: plain functions, no request object.

Refusals raise :class:`SupplierError` with a message naming the problem; every change is one
transaction and audited."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from crm_expo.customers import get_or_create_organization
from crm_expo.database import write_transaction
from crm_expo.extensions import db
from crm_expo.models import Organization, Person, Show, audit
from crm_expo.search import fold_query

from .models import CATEGORIES, Appointment, CatalogueItem, Supplier, SupplierContact


class SupplierError(ValueError):
    """A request the suppliers plugin refuses, with a message naming the problem."""


def _clean(value) -> str:
    return "" if value is None else str(value).strip()


def clean_categories(values: Iterable[str] | str) -> str:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    codes = list(dict.fromkeys(_clean(v).lower() for v in values if _clean(v)))
    unknown = [c for c in codes if c not in CATEGORIES]
    if unknown:
        raise SupplierError(_("Unknown service category: %(codes)s (known: %(known)s)",
                              codes=", ".join(unknown), known=", ".join(CATEGORIES)))
    return " ".join(codes)


# --- suppliers --------------------------------------------------------------------------------
def supplier_for_organization(organization_id) -> Supplier | None:
    if organization_id is None:
        return None
    return db.session.scalar(select(Supplier).where(Supplier.organization_id == organization_id))


def get_supplier(supplier_id) -> Supplier | None:
    try:
        return db.session.get(Supplier, int(supplier_id))
    except (TypeError, ValueError):
        return None


def _find_or_create_organization(fields: dict) -> Organization:
    """One Organization per company (DOMAIN.md §1), through the core's deduplication."""
    try:
        org, _created = get_or_create_organization(dict(fields))
    except ValueError as exc:   # a malformed email or phone, named by the core
        db.session.rollback()
        raise SupplierError(str(exc))
    return org
    conditions = []
    if fields.get("name_zh"):
        conditions.append(Organization.name_zh == fields["name_zh"])
    if fields.get("name_en"):
        conditions.append(func.lower(Organization.name_en) == fields["name_en"].lower())
    org = db.session.scalar(select(Organization).where(or_(*conditions)).order_by(Organization.id).limit(1))
    if org is None:
        org = Organization(**{k: v for k, v in fields.items() if v})
        org.refresh_keys()
        db.session.add(org)
        db.session.flush()
    return org


def create_supplier(*, organization: Organization | None = None, name_zh: str = "", name_en: str = "",
                    categories: Iterable[str] | str = (), email: str = "", phone: str = "", website: str = "",
                    notes: str = "", user=None) -> Supplier:
    name_zh, name_en = _clean(name_zh), _clean(name_en)
    codes = clean_categories(categories)
    if organization is None and not (name_zh or name_en):
        raise SupplierError(_("A supplier needs a company name."))
    if len(name_zh) > 200 or len(name_en) > 200:
        raise SupplierError(_("A company name has at most 200 characters."))
    write_transaction()
    if organization is None:
        organization = _find_or_create_organization({"name_zh": name_zh, "name_en": name_en, "email": _clean(email),
                                                     "phone": _clean(phone), "website": _clean(website)})
    existing = supplier_for_organization(organization.id)
    if existing is not None:
        db.session.rollback()
        raise SupplierError(_("%(name)s is already a supplier (supplier %(id)d).", name=existing.name, id=existing.id))
    supplier = Supplier(organization_id=organization.id, categories=codes, notes=_clean(notes))
    db.session.add(supplier)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SupplierError(_("This company is already a supplier."))
    audit("supplier.create", supplier, user=user,
          after={"organization_id": organization.id, "categories": codes})
    db.session.commit()
    return supplier


def update_supplier(supplier: Supplier, fields: dict, user=None) -> Supplier:
    allowed = {"name_zh", "name_en", "email", "phone", "website", "categories", "notes"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise SupplierError(_("These fields cannot be changed here: %(fields)s", fields=", ".join(unknown)))
    codes = clean_categories(fields["categories"]) if "categories" in fields else supplier.categories
    write_transaction()
    org = supplier.organization
    before = {"name_zh": org.name_zh, "name_en": org.name_en, "email": org.email, "phone": org.phone,
              "website": org.website, "categories": supplier.categories, "notes": supplier.notes}
    for f in ("name_zh", "name_en", "email", "phone", "website"):
        if f in fields:
            value = _clean(fields[f])
            if len(value) > 200:
                db.session.rollback()
                raise SupplierError(_("%(field)s has at most 200 characters.", field=f))
            setattr(org, f, value)
    if not (org.name_zh or org.name_en):
        db.session.rollback()
        raise SupplierError(_("A supplier needs a company name."))
    supplier.categories = codes
    if "notes" in fields:
        supplier.notes = _clean(fields["notes"])
    org.refresh_keys()
    after = {"name_zh": org.name_zh, "name_en": org.name_en, "email": org.email, "phone": org.phone,
             "website": org.website, "categories": supplier.categories, "notes": supplier.notes}
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit("supplier.update", supplier, user=user, before={k: before[k] for k in changed},
              after={k: after[k] for k in changed})
    db.session.commit()
    return supplier


def add_contact(supplier: Supplier, *, name_zh: str = "", name_en: str = "", email: str = "", phone: str = "",
                role: str = "", user=None) -> SupplierContact:
    name_zh, name_en = _clean(name_zh), _clean(name_en)
    if not (name_zh or name_en):
        raise SupplierError(_("A contact needs a name."))
    write_transaction()
    fields = {"name_zh": name_zh, "name_en": name_en, "email": _clean(email).lower(), "phone": _clean(phone),
              "organization_id": supplier.organization_id}
    try:
        from crm_expo.customers import get_or_create_person
    except ImportError:
        get_or_create_person = None
    if get_or_create_person is not None:
        try:
            person, _created = get_or_create_person(fields)
        except ValueError as exc:
            db.session.rollback()
            raise SupplierError(str(exc))
    else:
        person = Person(**fields)
        db.session.add(person)
        db.session.flush()
        person.refresh_keys()
    contact = SupplierContact(supplier_id=supplier.id, person_id=person.id, role=_clean(role))
    db.session.add(contact)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SupplierError(_("This person is already a contact of the supplier."))
    audit("supplier.contact.add", supplier, user=user, after={"person_id": person.id, "role": contact.role})
    db.session.commit()
    return contact


# --- appointments (official contractors of a show) ---------------------------------------------
def appointment_for(show: Show, supplier: Supplier) -> Appointment | None:
    return db.session.scalar(select(Appointment).where(Appointment.show_id == show.id,
                                                       Appointment.supplier_id == supplier.id))


def appoint(show: Show, supplier: Supplier, categories: Iterable[str] | str = (), user=None) -> Appointment:
    """Make the supplier an official contractor of the show (or change its categories)."""
    codes = clean_categories(categories) or supplier.categories
    write_transaction()
    appointment = appointment_for(show, supplier)
    before = {"categories": appointment.categories} if appointment else None
    if appointment is None:
        appointment = Appointment(show_id=show.id, supplier_id=supplier.id, categories=codes)
        db.session.add(appointment)
    else:
        appointment.categories = codes
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise SupplierError(_("The supplier was appointed meanwhile; reload the page."))
    audit("supplier.appoint", appointment, user=user, show_id=show.id, before=before,
          after={"supplier_id": supplier.id, "categories": codes})
    db.session.commit()
    return appointment


def appointments_for_show(show: Show) -> list[Appointment]:
    return list(db.session.scalars(
        select(Appointment).join(Supplier).join(Organization, Organization.id == Supplier.organization_id)
        .where(Appointment.show_id == show.id).order_by(Organization.sort_name)))


# --- catalogue ------------------------------------------------------------------------------------
def catalogue_for_show(show: Show, category: str | None = None, *, supplier_id=None,
                       include_inactive: bool = False) -> list[CatalogueItem]:
    stmt = select(CatalogueItem).where(CatalogueItem.show_id == show.id)
    if category:
        stmt = stmt.where(CatalogueItem.category == category)
    if supplier_id is not None:
        stmt = stmt.where(CatalogueItem.supplier_id == supplier_id)
    if not include_inactive:
        stmt = stmt.where(CatalogueItem.active.is_(True))
    return list(db.session.scalars(stmt.order_by(CatalogueItem.category, CatalogueItem.name_zh, CatalogueItem.id)))


def get_item(show: Show, item_id) -> CatalogueItem | None:
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(CatalogueItem).where(CatalogueItem.id == item_id,
                                                         CatalogueItem.show_id == show.id))


def item_price(item: CatalogueItem, order_date: dt.date) -> tuple[int, bool]:
    """(unit price in minor units, late?) for an order placed on ``order_date``.

    After the early-order deadline the late surcharge applies (rounded half up to a whole
    minor unit, in integers: no float); after the final deadline the item cannot be ordered."""
    if isinstance(order_date, dt.datetime):
        order_date = order_date.date()
    if not item.active:
        raise SupplierError(_("%(item)s is no longer offered.", item=item.name))
    if item.final_order_deadline is not None and order_date > item.final_order_deadline:
        raise SupplierError(_("%(item)s can no longer be ordered: the final order deadline was %(date)s.",
                              item=item.name, date=item.final_order_deadline.isoformat()))
    late = item.early_order_deadline is not None and order_date > item.early_order_deadline
    if not late:
        return item.price_minor, False
    return (item.price_minor * (100 + item.late_surcharge_pct) + 50) // 100, True


ITEM_FIELDS = ("name_zh", "name_en", "category", "unit", "price_minor", "currency", "early_order_deadline",
               "late_surcharge_pct", "final_order_deadline", "active")


def _check_item(values: dict) -> dict:
    values = dict(values)
    for f in ("name_zh", "name_en", "unit"):
        values[f] = _clean(values.get(f))
    if not (values["name_zh"] or values["name_en"]):
        raise SupplierError(_("A catalogue item needs a name."))
    if values.get("category") not in CATEGORIES:
        raise SupplierError(_("Unknown service category: %(codes)s (known: %(known)s)",
                              codes=values.get("category"), known=", ".join(CATEGORIES)))
    for f, label in (("price_minor", _("The price")), ("late_surcharge_pct", _("The late surcharge"))):
        value = values.get(f, 0)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SupplierError(_("%(field)s must be a whole number.", field=label))
        if value < 0:
            raise SupplierError(_("%(field)s cannot be negative.", field=label))
    currency = _clean(values.get("currency")).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise SupplierError(_("Unknown currency: %(cur)s", cur=currency))
    values["currency"] = currency
    early, final = values.get("early_order_deadline"), values.get("final_order_deadline")
    if early and final and early > final:
        raise SupplierError(_("The early-order deadline must not be after the final order deadline."))
    return values


def add_item(show: Show, supplier: Supplier, user=None, **values) -> CatalogueItem:
    values.setdefault("currency", show.currency)
    values.setdefault("active", True)
    values = _check_item(values)
    write_transaction()
    item = CatalogueItem(show_id=show.id, supplier_id=supplier.id, **{f: values.get(f) for f in ITEM_FIELDS
                                                                      if f in values})
    db.session.add(item)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise SupplierError(_("The catalogue item was refused by the database: %(why)s",
                              why=str(exc.orig).splitlines()[0]))
    audit("supplier.item.create", item, user=user, show_id=show.id,
          after={f: getattr(item, f) for f in ITEM_FIELDS})
    db.session.commit()
    return item


def update_item(item: CatalogueItem, user=None, **values) -> CatalogueItem:
    unknown = sorted(set(values) - set(ITEM_FIELDS))
    if unknown:
        raise SupplierError(_("These fields cannot be changed here: %(fields)s", fields=", ".join(unknown)))
    merged = _check_item({f: getattr(item, f) for f in ITEM_FIELDS} | values)
    write_transaction()
    before = {f: getattr(item, f) for f in ITEM_FIELDS}
    for f in ITEM_FIELDS:
        setattr(item, f, merged.get(f))
    changed = {f for f in ITEM_FIELDS if getattr(item, f) != before[f]}
    if changed:
        # prices are money: every change is audited with before and after
        audit("supplier.item.update", item, user=user, show_id=item.show_id,
              before={f: before[f] for f in changed}, after={f: getattr(item, f) for f in changed})
    db.session.commit()
    return item


# --- lists ------------------------------------------------------------------------------------
def supplier_query(*, q: str = "", category: str = "", show: Show | None = None, appointed_only: bool = False,
                   organization_id=None):
    stmt = select(Supplier).join(Organization, Organization.id == Supplier.organization_id)
    if organization_id is not None:
        stmt = stmt.where(Supplier.organization_id == organization_id)
    if q and q.strip():
        stmt = stmt.where(Supplier.organization_id.in_(_matching_organization_ids(q)))
    if category:
        stmt = stmt.where((" " + Supplier.categories + " ").like(f"% {category} %"))
    if show is not None and appointed_only:
        stmt = stmt.where(Supplier.id.in_(select(Appointment.supplier_id).where(Appointment.show_id == show.id)))
    return stmt.order_by(Organization.sort_name, Supplier.id)


def _matching_organization_ids(q: str):
    """Same search as the exhibitors list: a prefix range on the core's token index, in SQL."""
    folded = fold_query(q)
    try:
        from crm_expo.models.contacts import OrganizationSearchToken
        from crm_expo.search import prefix_upper_bound
    except ImportError:
        return select(Organization.id).where(Organization.search_keys.like(f"%{folded}%"))
    return select(OrganizationSearchToken.organization_id).where(
        OrganizationSearchToken.token >= folded, OrganizationSearchToken.token < prefix_upper_bound(folded))


def on_collect_customer_history(organization, entries: list, **_kw) -> None:
    """Our part of the organization page: the shows it served as an official contractor."""
    rows = db.session.execute(
        select(Appointment, Show).join(Show, Show.id == Appointment.show_id).join(Supplier)
        .where(Supplier.organization_id == organization.id)).all()
    for appointment, show in rows:
        labels = ", ".join(str(CATEGORIES.get(c, c)) for c in appointment.category_list)
        entries.append({"show": show, "kind": "suppliers.appointment", "label": _("Official contractor"),
                        "value": labels, "url": None})
