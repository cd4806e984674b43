"""Import of suppliers (`crm-expo import suppliers FILE --show S`): each row is a company,
its service categories, and optionally its appointment as an official contractor of the
show. One transaction per batch; re-importing a file adds nothing."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import insert, select

from crm_expo.contacts import importing
from crm_expo.contacts.importing import Column, ImportReport, RowProblem, cli_importer, parse_email, parse_phone
from crm_expo.database import transaction
from crm_expo.extensions import db
from crm_expo.models import audit

from . import operations as ops
from .models import Appointment, Supplier

# zh labels users write in their own sheets → our codes
CATEGORY_ALIASES = {"设计安装": "design", "物品租赁": "rental", "运输仓储": "transport", "广告宣传": "advertising",
                    "后勤保障": "logistics", "餐饮": "catering", "安保": "security", "水电网络": "utilities",
                    "清洁": "cleaning", "印刷": "printing", "礼仪": "hostesses"}


def parse_categories(raw: str) -> str:
    parts = [p.strip() for p in raw.replace("，", ",").replace(";", ",").replace("、", ",").split(",") if p.strip()]
    return ops.clean_categories([CATEGORY_ALIASES.get(p, p) for p in parts])


def parse_yes(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "y", "yes", "true", "是"):
        return True
    if value in ("0", "n", "no", "false", "否"):
        return False
    raise ValueError(_("%(value)s is not one of: %(allowed)s", value=raw, allowed="yes, no, 是, 否"))


COLUMNS = (
    Column("name_zh", importing.ORG_NAME_HEADERS),
    Column("name_en", importing.ORG_NAME_EN_HEADERS),
    Column("categories", ("服务类别", "服务类型", "服务项目", "服务范围", "categories", "category", "services"),
           parse=parse_categories),
    Column("email", importing.EMAIL_HEADERS, parse=parse_email),
    Column("phone", importing.PHONE_HEADERS, parse=parse_phone),
    Column("appointed", ("指定服务商", "是否指定", "主场服务商", "official contractor", "appointed"), parse=parse_yes),
)


def apply_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    report = ImportReport()
    with transaction(dry_run=dry_run):
        new_suppliers, new_appointments = [], []
        for rownum, values in rows:
            if not (values.get("name_zh") or values.get("name_en")):
                report.problems.append(RowProblem(rownum, "", _("A supplier needs a company name.")))
                report.rejected += 1
                continue
            try:
                with transaction(savepoint=True):   # a refused row leaves the batch as it was
                    org = ops._find_or_create_organization({"name_zh": values.get("name_zh", ""),
                                                            "name_en": values.get("name_en", ""),
                                                            "email": values.get("email", ""),
                                                            "phone": values.get("phone", "")})
            except ops.SupplierError as exc:
                report.problems.append(RowProblem(rownum, "", str(exc)))
                report.rejected += 1
                continue
            sup = ops.supplier_for_organization(org.id)
            changed = False
            if sup is None and org.id not in {s["organization_id"] for s in new_suppliers}:
                new_suppliers.append({"organization_id": org.id, "categories": values.get("categories", ""), "notes": ""})
                changed = True
            if values.get("appointed") is True:
                if sup is None or ops.appointment_for(show, sup) is None:
                    new_appointments.append((org.id, values.get("categories", "")))
                    changed = True
            if changed:
                report.imported += 1
            else:
                report.unchanged += 1
        if new_suppliers:
            db.session.execute(insert(Supplier), new_suppliers)
        if new_appointments:
            by_org = dict(db.session.execute(select(Supplier.organization_id, Supplier.id).where(
                Supplier.organization_id.in_([o for o, _c in new_appointments]))).all())
            seen = set()
            rows_ = []
            for org_id, cats in new_appointments:
                if by_org[org_id] not in seen:
                    seen.add(by_org[org_id])
                    rows_.append({"show_id": show.id, "supplier_id": by_org[org_id], "categories": cats})
            db.session.execute(insert(Appointment), rows_)
        if new_suppliers or new_appointments:
            audit("supplier.import", None, show_id=show.id, object_type="Show", object_id=show.id,
                  after={"suppliers": len(new_suppliers), "appointments": len(new_appointments)})
    return report


importer = cli_importer("suppliers", COLUMNS, apply_rows)
