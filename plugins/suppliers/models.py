"""Tables of the suppliers plugin (every table name starts with 'suppliers_').

A supplier (服务商) is a core Organization offering services at shows; it is appointed an
official contractor of a show for some categories, and publishes a catalogue of priced items
for that show. Money is integer minor units + currency."""
from __future__ import annotations

import datetime as dt

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_expo.database import utcnow
from crm_expo.extensions import db
from crm_expo.models import Organization, Person
from crm_expo.models.audit import audit_fields
from crm_expo.titles import extend, register
from plugins.exhibitors.models import Exhibitor  # the plugin requires exhibitors (service orders)

# DOMAIN.md §6, the service categories (code → zh/en label through the catalogue).
CATEGORIES = {
    "design": _l("Design & installation"),
    "rental": _l("Rental"),
    "transport": _l("Transport & storage"),
    "advertising": _l("Advertising"),
    "logistics": _l("Logistics support"),
    "catering": _l("Catering"),
    "security": _l("Security"),
    "utilities": _l("Power & internet"),
    "cleaning": _l("Cleaning"),
    "printing": _l("Printing"),
    "hostesses": _l("Hostesses"),
}


def split_categories(value: str | None) -> list[str]:
    return [c for c in (value or "").split() if c]


class Supplier(db.Model):
    __tablename__ = "suppliers_supplier"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    # Space-separated category codes ("design rental"): filterable with LIKE on any database.
    categories: Mapped[str] = mapped_column(String(400), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    organization: Mapped[Organization] = relationship()
    contacts: Mapped[list[SupplierContact]] = relationship(back_populates="supplier",
                                                             cascade="all, delete-orphan")

    @property
    def name(self) -> str:
        return self.organization.name

    @property
    def category_list(self) -> list[str]:
        return split_categories(self.categories)

    def __repr__(self):
        return f"<Supplier {self.id} org={self.organization_id}>"


class SupplierContact(db.Model):
    __tablename__ = "suppliers_contact"
    __table_args__ = (UniqueConstraint("supplier_id", "person_id", name="uq_suppliers_contact"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers_supplier.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(100), default="")
    supplier: Mapped[Supplier] = relationship(back_populates="contacts")
    person: Mapped[Person] = relationship()


class Appointment(db.Model):
    """The supplier is an official contractor of the show, for these categories."""
    __tablename__ = "suppliers_appointment"
    __table_args__ = (UniqueConstraint("show_id", "supplier_id", name="uq_suppliers_appointment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers_supplier.id", ondelete="CASCADE"),
                                             index=True)
    categories: Mapped[str] = mapped_column(String(400), default="")
    appointed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    supplier: Mapped[Supplier] = relationship()

    @property
    def category_list(self) -> list[str]:
        return split_categories(self.categories)


class CatalogueItem(db.Model):
    """A priced service a supplier offers at a show. Ordered after ``early_order_deadline``
    the price rises by ``late_surcharge_pct``; after ``final_order_deadline`` it cannot be
    ordered at all."""
    __tablename__ = "suppliers_catalogue_item"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("late_surcharge_pct >= 0", name="surcharge_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency"),
        CheckConstraint("name_zh <> '' OR name_en <> ''", name="has_name"),
        CheckConstraint("early_order_deadline IS NULL OR final_order_deadline IS NULL "
                        "OR early_order_deadline <= final_order_deadline", name="deadlines_in_order"),
        Index("ix_suppliers_catalogue_item_show_category", "show_id", "category"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers_supplier.id", ondelete="CASCADE"),
                                             index=True)
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32), default="")
    price_minor: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    early_order_deadline: Mapped[dt.date | None] = mapped_column(Date, default=None)
    late_surcharge_pct: Mapped[int] = mapped_column(default=0)
    final_order_deadline: Mapped[dt.date | None] = mapped_column(Date, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    supplier: Mapped[Supplier] = relationship()

    @property
    def name(self) -> str:
        en = str(get_locale() or "zh").startswith("en")
        return (self.name_en or self.name_zh) if en else (self.name_zh or self.name_en)

    @property
    def category_title(self):
        return CATEGORIES.get(self.category, self.category)


# --- exhibitor service orders (issue #5) ------------------------------------------------------------
ORDER_STATUSES = ("placed", "confirmed", "delivered", "cancelled")
ORDER_STATUS_TITLES = {"placed": _l("Placed"), "confirmed": _l("Confirmed by the supplier"),
                       "delivered": _l("Delivered"), "cancelled": _l("Cancelled")}
# placed → confirmed → delivered; cancelled from placed (exhibitor or organizer) or confirmed
# (organizer only: the supplier has already planned the work).
ORDER_TRANSITIONS = {"placed": {"confirmed", "cancelled"}, "confirmed": {"delivered", "cancelled"},
                     "delivered": set(), "cancelled": set()}


def _sql_in(values) -> str:
    return ",".join(f"'{v}'" for v in values)


class ServiceOrder(db.Model):
    """An exhibitor's order to ONE official supplier of the show (a basket spanning several
    suppliers is split into one order per supplier when placed): each supplier confirms and
    delivers its own order, so its status has a single owner."""
    __tablename__ = "suppliers_order"
    __table_args__ = (
        CheckConstraint(f"status IN ({_sql_in(ORDER_STATUSES)})", name="status"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency"),
        CheckConstraint("status <> 'cancelled' OR (cancel_reason <> '' AND cancelled_at IS NOT NULL)",
                        name="cancel_has_reason"),
        CheckConstraint("status NOT IN ('confirmed', 'delivered') OR confirmed_at IS NOT NULL",
                        name="confirmed_has_time"),
        CheckConstraint("status <> 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_time"),
        Index("ix_suppliers_order_show_supplier_status", "show_id", "supplier_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), index=True)
    exhibitor_id: Mapped[int] = mapped_column(ForeignKey("exhibitors_exhibitor.id", ondelete="CASCADE"),
                                              index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers_supplier.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="placed")
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")   # booth number, delivery time …
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    placed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    supplier: Mapped[Supplier] = relationship()
    exhibitor: Mapped[Exhibitor] = relationship()
    lines: Mapped[list[ServiceOrderLine]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                           order_by="ServiceOrderLine.id")

    @property
    def status_title(self):
        return ORDER_STATUS_TITLES.get(self.status, self.status)


class ServiceOrderLine(db.Model):
    """One catalogue item in an order, priced when ordered: the catalogue price, the late
    surcharge and the charged unit price are copied, so a later catalogue change does not
    rewrite the order."""
    __tablename__ = "suppliers_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("list_price_minor >= 0 AND unit_price_minor >= 0", name="price_not_negative"),
        CheckConstraint("surcharge_pct >= 0", name="surcharge_not_negative"),
        # 64-bit product: a large quantity × price must not overflow inside the check itself
        CheckConstraint("line_total_minor = CAST(quantity AS BIGINT) * unit_price_minor", name="line_total"),
        UniqueConstraint("order_id", "item_id", name="uq_suppliers_order_line_item"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("suppliers_order.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("suppliers_catalogue_item.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(32), default="")
    quantity: Mapped[int] = mapped_column()
    list_price_minor: Mapped[int] = mapped_column()      # the catalogue price on the order date
    surcharge_pct: Mapped[int] = mapped_column(default=0)  # 0 when ordered before the early deadline
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)   # charged per unit (may exceed 32 bits when late)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)
    late: Mapped[bool] = mapped_column(default=False)     # ordered after the early-order deadline
    order: Mapped[ServiceOrder] = relationship(back_populates="lines")

    @property
    def name(self) -> str:
        en = str(get_locale() or "zh").startswith("en")
        return (self.name_en or self.name_zh) if en else (self.name_zh or self.name_en)


extend("audit.action", {
    "supplier.create": _l("Supplier added"), "supplier.update": _l("Supplier changed"),
    "supplier.import": _l("Suppliers imported"), "supplier.appoint": _l("Supplier appointed"),
    "supplier.contact.add": _l("Contact added"), "supplier.contact.remove": _l("Contact removed"),
    "supplier.item.create": _l("Catalogue item added"), "supplier.item.update": _l("Catalogue item changed"),
    "supplier.order.place": _l("Service order placed"), "supplier.order.confirmed": _l("Service order confirmed"),
    "supplier.order.delivered": _l("Service order delivered"), "supplier.order.cancelled": _l("Service order cancelled"),
})
extend("audit.object", {"Supplier": _l("Supplier"), "Appointment": _l("Appointment"),
                        "CatalogueItem": _l("Catalogue item"), "ServiceOrder": _l("Service order"),
                        "SupplierContact": _l("Supplier contact")})
register("suppliers.order", ORDER_STATUS_TITLES)
audit_fields("ServiceOrder", {"status": (_l("Status"), "suppliers.order")})
