"""Data for the service-order tests, made through the real operations."""
import datetime as dt

from plugins.exhibitors import operations as exhibitor_ops
from plugins.suppliers import operations as ops
from tests.factories import make_show, make_user


def approved_exhibitor(show, name="宁波家电有限公司", name_en=""):
    exhibitor_ops.set_required_documents(show, [])
    ex = exhibitor_ops.create_exhibitor(show, name_zh=name, name_en=name_en, status="under_review")
    return exhibitor_ops.change_status(ex, "approved")


def official_supplier(show, name="上海会展服务有限公司", categories="rental utilities", appoint=True):
    sup = ops.create_supplier(name_zh=name, categories=categories)
    if appoint:
        ops.appoint(show, sup, categories)
    return sup


def item(show, sup, *, name_zh="折叠椅", name_en="Folding chair", category="rental", price=3000, surcharge=30,
         early=None, final=None, **kw):
    return ops.add_item(show, sup, name_zh=name_zh, name_en=name_en, category=category, unit=kw.pop("unit", "把"),
                        price_minor=price, late_surcharge_pct=surcharge, early_order_deadline=early,
                        final_order_deadline=final, **kw)


def service_show(days_ahead=40):
    """A show starting ``days_ahead`` days after today (in the show's timezone)."""
    probe = make_show()
    today = ops.show_today(probe)
    return make_show(start=today + dt.timedelta(days=days_ahead)), today


def portal_users(ex, sup):
    return make_user("exhibitor", org=ex.organization), make_user("supplier", org=sup.organization)
