"""Domain logic of the suppliers plugin: plain functions, no request object.

Refusals raise :class:`SupplierError` with a message naming the problem; every change is one
transaction and audited."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from crm_expo import signals
from crm_expo.contacts import duplicates, search
from crm_expo.contacts.duplicates import get_or_create_organization
from crm_expo.database import transaction, utcnow
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.models import Organization, Show, audit
from plugins.exhibitors.models import Exhibitor

from .models import (
    CATEGORIES,
    ORDER_STATUS_TITLES,
    ORDER_STATUSES,
    ORDER_TRANSITIONS,
    Appointment,
    CatalogueItem,
    ServiceOrder,
    ServiceOrderLine,
    Supplier,
    SupplierContact,
)


class SupplierError(DomainError):
    """A request the suppliers plugin refuses, with a message naming the problem."""

    code = "invalid"


def _clean(value) -> str:
    return "" if value is None else str(value).strip()


def clean_categories(values: Iterable[str] | str) -> str:
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    try:
        values = list(values)
    except TypeError:
        values = [None]
    if not all(isinstance(v, str) for v in values):
        raise SupplierError(_("The service categories are a list of category codes."), field="categories")
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
    except DomainError as exc:   # a malformed email or phone, named by the core
        raise SupplierError(exc.message, field=exc.field) from exc
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
    with transaction(constraint_errors={"uq_suppliers_supplier_organization_id": SupplierError(
            _("This company is already a supplier."))}):
        if organization is None:
            organization = _find_or_create_organization({"name_zh": name_zh, "name_en": name_en, "email": _clean(email),
                                                         "phone": _clean(phone), "website": _clean(website)})
        existing = supplier_for_organization(organization.id)
        if existing is not None:
            raise SupplierError(_("%(name)s is already a supplier (supplier %(id)d).", name=existing.name, id=existing.id))
        supplier = Supplier(organization_id=organization.id, categories=codes, notes=_clean(notes))
        db.session.add(supplier)
        db.session.flush()
        audit("supplier.create", supplier, user=user,
              after={"organization_id": organization.id, "categories": codes})
    return supplier


def update_supplier(supplier: Supplier, fields: dict, user=None) -> Supplier:
    allowed = {"name_zh", "name_en", "email", "phone", "website", "categories", "notes"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise SupplierError(_("These fields cannot be changed here: %(fields)s", fields=", ".join(unknown)))
    codes = clean_categories(fields["categories"]) if "categories" in fields else supplier.categories
    with transaction():
        org = supplier.organization
        before = {"name_zh": org.name_zh, "name_en": org.name_en, "email": org.email, "phone": org.phone,
                  "website": org.website, "categories": supplier.categories, "notes": supplier.notes}
        for f in ("name_zh", "name_en", "email", "phone", "website"):
            if f in fields:
                value = _clean(fields[f])
                if len(value) > 200:
                    raise SupplierError(_("%(field)s has at most 200 characters.", field=f))
                setattr(org, f, value)
        if not (org.name_zh or org.name_en):
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
    return supplier


def add_contact(supplier: Supplier, *, name_zh: str = "", name_en: str = "", email: str = "", phone: str = "",
                role: str = "", user=None) -> SupplierContact:
    name_zh, name_en = _clean(name_zh), _clean(name_en)
    if not (name_zh or name_en):
        raise SupplierError(_("A contact needs a name."))
    with transaction(constraint_errors={"uq_suppliers_contact": SupplierError(
            _("This person is already a contact of the supplier."))}):
        fields = {"name_zh": name_zh, "name_en": name_en, "email": _clean(email), "phone": _clean(phone),
                  "organization_id": supplier.organization_id}
        try:
            person, _created = duplicates.get_or_create_person(fields)
        except DomainError as exc:   # a malformed email or phone
            raise SupplierError(exc.message, field=exc.field) from exc
        contact = SupplierContact(supplier_id=supplier.id, person_id=person.id, role=_clean(role))
        db.session.add(contact)
        db.session.flush()
        audit("supplier.contact.add", supplier, user=user, after={"person_id": person.id, "role": contact.role})
    return contact


# --- appointments (official contractors of a show) ---------------------------------------------
def appointment_for(show: Show, supplier: Supplier) -> Appointment | None:
    return db.session.scalar(select(Appointment).where(Appointment.show_id == show.id,
                                                       Appointment.supplier_id == supplier.id))


def appoint(show: Show, supplier: Supplier, categories: Iterable[str] | str = (), user=None) -> Appointment:
    """Make the supplier an official contractor of the show (or change its categories)."""
    codes = clean_categories(categories) or supplier.categories
    with transaction(constraint_errors={"uq_suppliers_appointment": SupplierError(
            _("The supplier was appointed meanwhile; reload the page."))}):
        appointment = appointment_for(show, supplier)
        before = {"categories": appointment.categories} if appointment else None
        if appointment is None:
            appointment = Appointment(show_id=show.id, supplier_id=supplier.id, categories=codes)
            db.session.add(appointment)
        else:
            appointment.categories = codes
        db.session.flush()
        audit("supplier.appoint", appointment, user=user, show_id=show.id, before=before,
              after={"supplier_id": supplier.id, "categories": codes})
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
               "late_surcharge_pct", "final_order_deadline", "active", "description")


def _check_item(values: dict) -> dict:
    values = dict(values)
    for f in ("name_zh", "name_en", "unit", "description"):
        values[f] = _clean(values.get(f))
    if len(values["description"]) > 4000:
        raise SupplierError(_("The description has at most 4000 characters."))
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
    with transaction():
        item = CatalogueItem(show_id=show.id, supplier_id=supplier.id, **{f: values.get(f) for f in ITEM_FIELDS
                                                                          if f in values})
        db.session.add(item)
        try:
            db.session.flush()
        except IntegrityError as exc:   # defence in depth: _check_item checks what the constraints do
            raise SupplierError(_("The catalogue item was refused by the database: %(why)s",
                                  why=str(exc.orig).splitlines()[0])) from exc
        audit("supplier.item.create", item, user=user, show_id=show.id,
              after={f: getattr(item, f) for f in ITEM_FIELDS})
    return item


def update_item(item: CatalogueItem, user=None, **values) -> CatalogueItem:
    unknown = sorted(set(values) - set(ITEM_FIELDS))
    if unknown:
        raise SupplierError(_("These fields cannot be changed here: %(fields)s", fields=", ".join(unknown)))
    merged = _check_item({f: getattr(item, f) for f in ITEM_FIELDS} | values)
    with transaction():
        before = {f: getattr(item, f) for f in ITEM_FIELDS}
        for f in ITEM_FIELDS:
            setattr(item, f, merged.get(f))
        changed = {f for f in ITEM_FIELDS if getattr(item, f) != before[f]}
        if changed:
            # prices are money: every change is audited with before and after
            audit("supplier.item.update", item, user=user, show_id=item.show_id,
                  before={f: before[f] for f in changed}, after={f: getattr(item, f) for f in changed})
    return item


# --- lists ------------------------------------------------------------------------------------
def supplier_query(*, q: str = "", category: str = "", show: Show | None = None, appointed_only: bool = False,
                   organization_id=None):
    stmt = select(Supplier).join(Organization, Organization.id == Supplier.organization_id)
    if organization_id is not None:
        stmt = stmt.where(Supplier.organization_id == organization_id)
    if q and q.strip():
        stmt = stmt.where(Supplier.organization_id.in_(search.organization_ids_matching(q)))
    if category:
        stmt = stmt.where((" " + Supplier.categories + " ").like(f"% {category} %"))
    if show is not None and appointed_only:
        stmt = stmt.where(Supplier.id.in_(select(Appointment.supplier_id).where(Appointment.show_id == show.id)))
    return stmt.order_by(Organization.sort_name, Supplier.id)


def on_collect_customer_history(organization, entries: list, **_kw) -> None:
    """Our part of the organization page: the shows it served as an official contractor."""
    rows = db.session.execute(
        select(Appointment, Show).join(Show, Show.id == Appointment.show_id).join(Supplier)
        .where(Supplier.organization_id == organization.id)).all()
    for appointment, show in rows:
        labels = ", ".join(str(CATEGORIES.get(c, c)) for c in appointment.category_list)
        entries.append({"show": show, "kind": "suppliers.appointment", "label": _("Official contractor"),
                        "value": labels, "url": None})
    # As an exhibitor: what it spent on services at each show (cancelled orders left out).
    from crm_expo.i18n import money
    spend = db.session.execute(
        select(ServiceOrder.show_id, ServiceOrder.currency, func.count(ServiceOrder.id),
               func.sum(ServiceOrder.total_minor))
        .join(Exhibitor, Exhibitor.id == ServiceOrder.exhibitor_id)
        .where(Exhibitor.organization_id == organization.id, ServiceOrder.status != "cancelled")
        .group_by(ServiceOrder.show_id, ServiceOrder.currency).order_by(ServiceOrder.show_id)).all()
    shows = {s.id: s for s in db.session.scalars(select(Show).where(Show.id.in_({r[0] for r in spend})))}
    for show_id, currency, count, total in spend:
        show = shows[show_id]
        entries.append({"show": show, "kind": "suppliers.service_orders", "label": _("Service orders"),
                        "value": _("Orders: %(n)d · %(total)s", n=count, total=money(int(total or 0), currency)),
                        "url": None})


def remove_contact(supplier: Supplier, contact_id, user=None) -> None:
    """Drop a contact from the supplier (the Person stays: it may have other roles)."""
    try:
        contact_id = int(contact_id)
    except (TypeError, ValueError):
        contact_id = -1
    with transaction():
        contact = db.session.scalar(select(SupplierContact).where(SupplierContact.id == contact_id,
                                                                  SupplierContact.supplier_id == supplier.id))
        if contact is None:
            raise SupplierError(_("No such contact of this supplier."))
        audit("supplier.contact.remove", supplier, user=user, before={"person_id": contact.person_id,
                                                                     "role": contact.role})
        db.session.delete(contact)


# --- exhibitor service orders (issue #5) ------------------------------------------------------------
def show_today(show: Show) -> dt.date:
    """Deadlines are calendar dates at the show: compare with today in the show's timezone."""
    try:
        zone = ZoneInfo(show.timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    return dt.datetime.now(zone).date()


def orderable_catalogue(show: Show, category: str | None = None) -> list[CatalogueItem]:
    """What an exhibitor may order: active items of the show's appointed (official) suppliers."""
    stmt = (select(CatalogueItem).join(Appointment, (Appointment.supplier_id == CatalogueItem.supplier_id)
                                       & (Appointment.show_id == CatalogueItem.show_id))
            .where(CatalogueItem.show_id == show.id, CatalogueItem.active.is_(True)))
    if category:
        stmt = stmt.where(CatalogueItem.category == category)
    return list(db.session.scalars(stmt.order_by(CatalogueItem.category, CatalogueItem.name_zh, CatalogueItem.id)))


def price_today(item: CatalogueItem, today: dt.date) -> dict:
    """The price an order placed today would be charged, or why it cannot be ordered."""
    try:
        unit, late = item_price(item, today)
    except SupplierError as exc:
        return {"orderable": False, "reason": str(exc), "unit_price_minor": None, "late": False}
    return {"orderable": True, "reason": "", "unit_price_minor": unit, "late": late}


def _exhibitor_may_order(show: Show, exhibitor) -> None:
    if exhibitor is None or exhibitor.show_id != show.id:
        raise SupplierError(_("Only an exhibitor of this show can order services."))
    if exhibitor.status != "approved":
        raise SupplierError(_("%(name)s is not an approved exhibitor of this show yet; services can be ordered "
                              "once the application is approved.", name=exhibitor.organization.name))


MAX_QUANTITY = 100_000


def _quantity(raw) -> int:
    if isinstance(raw, bool):
        raise SupplierError(_("The quantity must be a whole number greater than 0."))
    try:
        value = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except (TypeError, ValueError) as exc:
        raise SupplierError(_("The quantity must be a whole number greater than 0: %(value)s", value=raw)) from exc
    if value <= 0:
        raise SupplierError(_("The quantity must be a whole number greater than 0: %(value)s", value=raw))
    if value > MAX_QUANTITY:
        raise SupplierError(_("The quantity %(value)s is more than %(max)d; check it or split the order.",
                              value=raw, max=MAX_QUANTITY))
    return value


def place_order(show: Show, exhibitor, lines: Iterable[tuple], *, notes: str = "", user=None,
                today: dt.date | None = None) -> list[ServiceOrder]:
    """Order catalogue items for an exhibitor: ``lines`` is ``[(item id, quantity) …]``.

    The basket is split into one order per supplier (each supplier confirms and delivers its
    own). Each line is priced now through :func:`item_price` and the prices are copied into the
    line. All or nothing: any bad line (unknown item, item of another show or of a supplier
    that is not an official contractor, quantity ≤ 0, past the final deadline) refuses the
    whole basket with a message naming the item, and nothing is written."""
    _exhibitor_may_order(show, exhibitor)
    today = today or show_today(show)
    if show.end is not None and today > show.end:
        raise SupplierError(_("%(show)s is over; services can no longer be ordered.", show=show.name))
    wanted: dict[int, int] = {}
    for raw_id, raw_qty in lines:
        try:
            item_id = int(raw_id)
        except (TypeError, ValueError) as exc:
            raise SupplierError(_("No catalogue item %(id)s at this show.", id=raw_id)) from exc
        wanted[item_id] = wanted.get(item_id, 0) + _quantity(raw_qty)
        if wanted[item_id] > MAX_QUANTITY:
            raise SupplierError(_("The quantity %(value)s is more than %(max)d; check it or split the order.",
                                  value=wanted[item_id], max=MAX_QUANTITY))
    if not wanted:
        raise SupplierError(_("Choose at least one item and a quantity."))
    notes = _clean(notes)
    if len(notes) > 2000:
        raise SupplierError(_("The notes have at most 2000 characters."))
    with transaction():
        items = {i.id: i for i in db.session.scalars(select(CatalogueItem).where(CatalogueItem.id.in_(wanted)))}
        appointed = set(db.session.scalars(select(Appointment.supplier_id).where(Appointment.show_id == show.id)))
        by_supplier: dict[int, list] = {}
        try:
            for item_id, quantity in wanted.items():
                item = items.get(item_id)
                if item is None or item.show_id != show.id:
                    raise SupplierError(_("No catalogue item %(id)s at this show.", id=item_id))
                if item.supplier_id not in appointed:
                    raise SupplierError(_("%(item)s is offered by %(supplier)s, which is not an official contractor of "
                                          "this show.", item=item.name, supplier=item.supplier.name))
                unit, late = item_price(item, today)
                by_supplier.setdefault(item.supplier_id, []).append((item, quantity, unit, late))
            orders = []
            for supplier_id, priced in by_supplier.items():
                currencies = {item.currency for item, *_rest in priced}
                if len(currencies) > 1:
                    raise SupplierError(_("The items of %(supplier)s are priced in different currencies (%(cur)s); "
                                          "order them separately.", supplier=priced[0][0].supplier.name,
                                          cur=", ".join(sorted(currencies))))
                order = ServiceOrder(show_id=show.id, exhibitor_id=exhibitor.id, supplier_id=supplier_id,
                                     status="placed", currency=currencies.pop(), notes=notes,
                                     placed_by_id=getattr(user, "id", None), placed_at=utcnow())
                for item, quantity, unit, late in priced:
                    order.lines.append(ServiceOrderLine(
                        item_id=item.id, name_zh=item.name_zh, name_en=item.name_en, category=item.category,
                        unit=item.unit, quantity=quantity, list_price_minor=item.price_minor,
                        surcharge_pct=item.late_surcharge_pct if late else 0, unit_price_minor=unit,
                        line_total_minor=unit * quantity, late=late))
                order.total_minor = sum(line.line_total_minor for line in order.lines)
                db.session.add(order)
                orders.append(order)
            db.session.flush()
        except (IntegrityError, DataError) as exc:   # defence in depth: the checks above come first
            raise SupplierError(_("The order was refused by the database: %(why)s",
                                  why=str(exc.orig).splitlines()[0])) from exc
        for order in orders:
            audit("supplier.order.place", order, user=user, show_id=show.id,
                  after={"status": "placed", "exhibitor_id": exhibitor.id, "supplier_id": order.supplier_id,
                         "total_minor": order.total_minor, "currency": order.currency,
                         "lines": [{"item_id": li.item_id, "quantity": li.quantity, "unit_price_minor": li.unit_price_minor,
                                    "late": li.late} for li in order.lines]})
        for order in orders:
            signals.send_after_commit(signals.service_order_placed, order)
    return orders


def _transition(order: ServiceOrder, new: str, *, user=None, reason: str = "", stamp: str) -> ServiceOrder:
    """Move an order, compare-and-swap on its status so that two people acting at once (the
    supplier confirming while the exhibitor cancels) cannot both win."""
    old = order.status
    if new not in ORDER_TRANSITIONS.get(old, set()):
        raise SupplierError(_("Order %(id)d is %(status)s; it cannot become %(new)s.", id=order.id,
                              status=ORDER_STATUS_TITLES[old], new=ORDER_STATUS_TITLES[new]))
    with transaction():
        now = utcnow()
        values = {"status": new, stamp: now}
        if new == "cancelled":
            values["cancel_reason"] = reason
        done = db.session.execute(update(ServiceOrder).where(ServiceOrder.id == order.id, ServiceOrder.status == old)
                                  .values(**values)).rowcount
        if done != 1:
            raise SupplierError(_("Order %(id)d changed meanwhile; reload the page.", id=order.id))
        audit(f"supplier.order.{new}", order, user=user, show_id=order.show_id, before={"status": old},
              after={"status": new, stamp: now, **({"reason": reason} if reason else {})})
    db.session.refresh(order)   # after the commit: the row the update wrote
    return order


def confirm_order(order: ServiceOrder, user=None) -> ServiceOrder:
    return _transition(order, "confirmed", user=user, stamp="confirmed_at")


def deliver_order(order: ServiceOrder, user=None) -> ServiceOrder:
    return _transition(order, "delivered", user=user, stamp="delivered_at")


def cancel_order(order: ServiceOrder, reason: str, *, by_organizer: bool, user=None) -> ServiceOrder:
    """The exhibitor may cancel until the supplier confirms; the organizer also afterwards
    (until delivery). A reason is required."""
    reason = _clean(reason)
    if not reason:
        raise SupplierError(_("Give a reason to cancel the order."))
    if len(reason) > 2000:
        raise SupplierError(_("The reason has at most 2000 characters."))
    if order.status == "confirmed" and not by_organizer:
        raise SupplierError(_("The supplier has already confirmed order %(id)d; ask the organizer to cancel it.",
                              id=order.id))
    return _transition(order, "cancelled", user=user, reason=reason, stamp="cancelled_at")


def order_query(show: Show, *, status: str = "", supplier_id=None, exhibitor_id=None,
                exhibitor_organization_id=None, supplier_organization_id=None, q: str = ""):
    """Orders of the show, newest first. Portal callers pass their own organization id
    (exhibitor or supplier side): the filter is in the query, so other organizations' orders
    are never loaded."""
    stmt = select(ServiceOrder).where(ServiceOrder.show_id == show.id)
    if status in ORDER_STATUSES:
        stmt = stmt.where(ServiceOrder.status == status)
    if supplier_id not in (None, ""):
        stmt = stmt.where(ServiceOrder.supplier_id == _int_or(supplier_id))
    if exhibitor_id not in (None, ""):
        stmt = stmt.where(ServiceOrder.exhibitor_id == _int_or(exhibitor_id))
    if exhibitor_organization_id is not None:
        stmt = stmt.where(ServiceOrder.exhibitor_id.in_(
            select(Exhibitor.id).where(Exhibitor.organization_id == exhibitor_organization_id)))
    if supplier_organization_id is not None:
        stmt = stmt.where(ServiceOrder.supplier_id.in_(
            select(Supplier.id).where(Supplier.organization_id == supplier_organization_id)))
    if q and q.strip():
        ids = search.organization_ids_matching(q)
        stmt = stmt.where(ServiceOrder.exhibitor_id.in_(select(Exhibitor.id).where(Exhibitor.organization_id.in_(ids)))
                          | ServiceOrder.supplier_id.in_(select(Supplier.id).where(Supplier.organization_id.in_(ids))))
    return stmt.order_by(ServiceOrder.placed_at.desc(), ServiceOrder.id.desc())


def with_details(stmt):
    """Load what the order lists show (lines, exhibitor and supplier names) in a few queries
    per page instead of several per row."""
    return stmt.options(selectinload(ServiceOrder.lines),
                        selectinload(ServiceOrder.exhibitor).selectinload(Exhibitor.organization),
                        selectinload(ServiceOrder.supplier).selectinload(Supplier.organization))


def _int_or(value, default=-1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def get_order(show: Show, order_id, **own) -> ServiceOrder | None:
    """One order of the show, restricted like :func:`order_query` (portal callers: own only)."""
    return db.session.scalar(order_query(show, **own).where(ServiceOrder.id == _int_or(order_id)))


def totals_per_supplier(show: Show, **filters) -> list[dict]:
    """Order count and total per supplier and currency (cancelled orders left out), in SQL."""
    filters.pop("status", None)
    orders = order_query(show, **filters).where(ServiceOrder.status != "cancelled").order_by(None).subquery()
    rows = db.session.execute(
        select(Supplier.id, Organization.name_zh, Organization.name_en, orders.c.currency,
               func.count(orders.c.id), func.sum(orders.c.total_minor))
        .join(Supplier, Supplier.id == orders.c.supplier_id)
        .join(Organization, Organization.id == Supplier.organization_id)
        .group_by(Supplier.id, Organization.name_zh, Organization.name_en, orders.c.currency)
        .order_by(func.sum(orders.c.total_minor).desc())).all()
    return [{"supplier_id": r[0], "name": r[1] or r[2], "currency": r[3], "orders": r[4], "total_minor": int(r[5] or 0)}
            for r in rows]


def supplier_choices(show: Show) -> list[tuple[int, str]]:
    """(supplier id, name) of the show's official contractors, for a filter menu: one query."""
    rows = db.session.execute(select(Supplier.id, Organization.name_zh, Organization.name_en)
                              .join(Appointment, Appointment.supplier_id == Supplier.id)
                              .join(Organization, Organization.id == Supplier.organization_id)
                              .where(Appointment.show_id == show.id).order_by(Organization.sort_name)).all()
    return [(sid, zh or en) for sid, zh, en in rows]


def order_export_rows(show: Show, **filters):
    """One row per order line, for the organizer's CSV/XLSX export (joined in SQL)."""
    orders = order_query(show, **filters).order_by(None).subquery()
    ex_org = Organization.__table__.alias("ex_org")
    sup_org = Organization.__table__.alias("sup_org")
    return db.session.execute(
        select(orders.c.id, orders.c.status, orders.c.placed_at, ex_org.c.name_zh, ex_org.c.name_en,
               sup_org.c.name_zh, sup_org.c.name_en, ServiceOrderLine.name_zh, ServiceOrderLine.name_en,
               ServiceOrderLine.category, ServiceOrderLine.quantity, ServiceOrderLine.unit,
               ServiceOrderLine.unit_price_minor, ServiceOrderLine.late, ServiceOrderLine.line_total_minor,
               orders.c.currency, orders.c.notes, orders.c.cancel_reason)
        .join(ServiceOrderLine, ServiceOrderLine.order_id == orders.c.id)
        .join(Exhibitor, Exhibitor.id == orders.c.exhibitor_id).join(ex_org, ex_org.c.id == Exhibitor.organization_id)
        .join(Supplier, Supplier.id == orders.c.supplier_id).join(sup_org, sup_org.c.id == Supplier.organization_id)
        .order_by(orders.c.id, ServiceOrderLine.id))


def order_history(order: ServiceOrder) -> list:
    """The audit trail of an order: who moved it when (oldest first)."""
    from crm_expo.models import AuditEntry
    return db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "ServiceOrder",
                                                       AuditEntry.object_id == str(order.id),
                                                       AuditEntry.action.like("supplier.order.%"))
                              .order_by(AuditEntry.at, AuditEntry.id)).all()
