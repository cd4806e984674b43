"""Visitors in bulk: the import (``crm-expo import visitors FILE``, the upload page) and the
synthetic data generator. Both end in :func:`bulk_register`: a few IN queries and multi-row
INSERTs per batch, never a query per row."""
from __future__ import annotations

import functools
import json
import random
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm_expo import signals
from crm_expo.contacts import duplicates, importing, keys, normalise
from crm_expo.contacts.importing import (
    Column,
    ImportReport,
    RowProblem,
    choice,
    cli_importer,
    parse_date,
)
from crm_expo.database import driver_datetime, executemany, new_ids, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.i18n import (
    gettext_anywhere as core_message,  # the importer's own messages (core catalogue)
)
from crm_expo.i18n import str_anywhere
from crm_expo.models import Consent, audit

from .models import BADGE_CODE_MAX, BADGE_CODE_MIN, CATEGORIES, BadgeCode, Registration
from .operations import new_badge_codes, normalize_code


# Longer than its column, a cell would fail the whole batch on PostgreSQL (SQLite would store
# it whole): refused as a row problem instead. Sizes of Person / Organization columns.
def _at_most(limit: int):
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise ValueError(core_message("is longer than %(n)d characters", n=limit))
        return raw
    return parse


def _parse_email(raw: str) -> str:
    return _at_most(200)(normalise.normalize_email(raw))


def _parse_phone(raw: str) -> str:
    return normalise.normalize_phone(raw)


# What people write in a visitor list's type column → our category codes (DOMAIN.md §1: trade
# visitors 专业观众, the public 公众, media 媒体, VIP guests; exhibitor staff are no visitors).
CATEGORY_ALIASES = {
    "专业观众": "trade", "专业": "trade", "专业买家": "trade", "采购商": "trade", "买家": "trade", "商务观众": "trade",
    "trade visitor": "trade", "trade visitors": "trade", "professional": "trade", "buyer": "trade",
    "公众": "public", "普通观众": "public", "公众观众": "public", "大众": "public", "市民": "public",
    "消费者": "public", "普通": "public", "散客": "public", "general public": "public", "visitor": "public",
    "consumer": "public",
    "媒体": "media", "记者": "media", "媒体记者": "media", "press": "media", "journalist": "media",
    "贵宾": "vip", "嘉宾": "vip", "vip嘉宾": "vip", "vip guest": "vip", "guest": "vip",
    "参展商工作人员": "exhibitor_staff", "展商工作人员": "exhibitor_staff", "展商人员": "exhibitor_staff",
    "参展商": "exhibitor_staff", "展商": "exhibitor_staff", "exhibitor staff": "exhibitor_staff",
    "exhibitor": "exhibitor_staff",
}
CATEGORY_HEADERS = ("观众类型", "观众类别", "类别", "类型", "身份", "观众身份", "参观者类型", "参观者类别",
                    "人员类型", "人员类别", "category", "type", "visitor type", "visitor category")

_PRINTED_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\- ]*$")


def _parse_badge_code(raw: str) -> str:
    """A code a registration system already printed on a badge: 6 to 64 letters, digits or
    hyphens; stored as the desk reads it (upper case, hyphens and spaces dropped)."""
    code = normalize_code(raw)
    if not _PRINTED_CODE.match(raw.strip()) or not BADGE_CODE_MIN <= len(code) <= BADGE_CODE_MAX \
            or not code.isascii():
        # the checking process has no request: the message in the default language
        raise ValueError(str_anywhere(_l("a badge code is 6 to 64 letters, digits or hyphens: %(value)s",
                                         value=raw[:70])))
    return code


COLUMNS = (
    Column("name_zh", importing.PERSON_NAME_HEADERS, parse=_at_most(100)),
    Column("name_en", importing.PERSON_NAME_EN_HEADERS, parse=_at_most(100)),
    Column("email", importing.EMAIL_HEADERS, parse=_parse_email, unique=True),
    Column("phone", importing.PHONE_HEADERS, parse=_parse_phone, unique=True),
    Column("company", importing.COMPANY_HEADERS, parse=_at_most(200)),
    Column("job_title", importing.JOB_TITLE_HEADERS, parse=_at_most(100)),
    # Without a category a row is a trade visitor (pending verification, so held at the
    # desk): the report says how many rows took that default.
    Column("category", CATEGORY_HEADERS, parse=choice(*CATEGORIES, aliases=CATEGORY_ALIASES),
           default="trade", default_label=_l("trade visitors (to be verified)")),
    Column("birth_date", importing.BIRTH_DATE_HEADERS, parse=parse_date),
    Column("consent_marketing", ("同意营销", "营销同意", "同意接收营销信息", "marketing consent", "marketing"),
           parse=importing.yes_no),
    Column("consent_share", ("同意分享给参展商", "同意分享", "share consent", "share with exhibitors"),
           parse=importing.yes_no),
    # a registration system that printed badges already: its codes are kept (unique in the file
    # here, and not used by any badge in the database: checked per batch in bulk_register)
    Column("badge_code", ("badge_code", "证件号", "胸卡号", "badge code", "badge", "胸卡编号", "证件编号"),
           parse=_parse_badge_code, unique=True),
    Column("keys", derive=lambda v: keys.person_keys(v.get("name_zh") or "", v.get("name_en") or "")),
)


def _organization_ids(names: set[str]) -> dict[str, int]:
    """Company name → organization id, creating the missing ones (the core's bulk form)."""
    pairs = {n: keys.split_name(n) for n in names if n}
    ids = duplicates.bulk_organizations(pairs.values())
    return {n: ids[pair] for n, pair in pairs.items() if pair in ids}


def _registered(show_id: int, person_ids: list[int]) -> set[int]:
    """Those of ``person_ids`` already registered for the show: one query for the batch."""
    if not person_ids:
        return set()
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        sql = "SELECT person_id FROM visitors_registration WHERE show_id = %s AND person_id = ANY(%s)"
        return set(conn.exec_driver_sql(sql, (show_id, sorted(set(person_ids)))).scalars())
    sql = ("SELECT r.person_id FROM json_each(?) AS j CROSS JOIN visitors_registration AS r "
           "WHERE r.show_id = ? AND r.person_id = j.value")
    return set(conn.exec_driver_sql(sql, (json.dumps(sorted(set(person_ids))), show_id)).scalars())


def bulk_register(show, rows: list[tuple[int, dict]], source: str) -> ImportReport:
    """Register many people at once; each row: name_zh/name_en, email, phone (normalised),
    company, job_title, category, birth_date, consent_marketing/consent_share (bool or "").
    People are deduplicated against the database; people already registered for the show
    are counted as unchanged. A handful of queries and multi-row INSERTs per batch, never a
    query per row. Runs inside the caller's ``transaction()`` (a writer's: SQLite takes the
    write lock before reading what exists); the ids of the new registrations are in
    ``report.registration_ids`` (announce them with :func:`announce` after the commit)."""
    duplicates.lock_persons_exclusive()   # PostgreSQL: parallel imports find-or-create one at a time
    report = ImportReport(kind="visitors")
    report.registration_ids = []
    good: list[tuple[int, dict]] = []
    given = sorted({r["badge_code"] for _n, r in rows if r.get("badge_code")})
    taken = set()
    for i in range(0, len(given), 2000):
        taken.update(db.session.scalars(select(BadgeCode.code).where(BadgeCode.code.in_(given[i:i + 2000]))))
    for rownum, r in rows:
        if not (r.get("name_zh") or r.get("name_en")):
            report.problems.append(RowProblem(rownum, "", _("a name (Chinese or English) is required")))
            report.rejected += 1
            continue
        if r.get("badge_code") in taken:
            report.problems.append(RowProblem(rownum, "badge_code", _(
                "badge code %(code)s is already used by another badge", code=r["badge_code"])))
            report.rejected += 1
            continue
        good.append((rownum, r))
    org_ids = _organization_ids({r.get("company") or "" for _n, r in good})
    # The rows are person records already (name_zh, email, … and the worker's ``keys``).
    records = [dict(r, organization_id=org_ids.get(r.get("company") or "")) for _n, r in good]
    person_ids = [pid for pid, _created in duplicates.bulk_get_or_create_persons(records)] if records else []
    already = _registered(show.id, person_ids)
    now = driver_datetime(utcnow())
    regs, consents, seen = [], [], set()
    source_label = f"visitors:{source}"
    for r, pid in zip(records, person_ids, strict=False):
        if pid in already or pid in seen:
            report.unchanged += 1
            continue
        seen.add(pid)
        regs.append((pid, r.get("category") or "trade", (r.get("company") or "")[:200], r.get("badge_code") or ""))
        marketing, share = r.get("consent_marketing"), r.get("consent_share")
        if marketing is True or marketing is False:
            consents.append((pid, "marketing", marketing, now, source_label))
        if share is True or share is False:
            consents.append((pid, "share_with_exhibitors", share, now, source_label))
    # Ids drawn first (sequence / after the maximum under the write lock), so registrations,
    # their code history and consents go in as plain executemany INSERTs, no RETURNING.
    reg_ids = new_ids(Registration.__table__, len(regs))
    fresh = iter(new_badge_codes(sum(1 for reg in regs if not reg[3])))
    codes = [reg[3] or next(fresh) for reg in regs]
    answers = "{}"
    show_id = show.id
    executemany(
        Registration.__table__,
        ["id", "show_id", "person_id", "category", "verification", "verification_note", "evidence_company",
         "concession", "badge_code", "answers", "source", "created_at", "updated_at"],
        [(rid, show_id, pid, cat, "pending" if cat == "trade" else "not_required", "", company, "", code, answers,
          source, now, now) for rid, code, (pid, cat, company, _given) in zip(reg_ids, codes, regs, strict=False)],
        ready=("created_at", "updated_at"))
    executemany(BadgeCode.__table__, ["code", "registration_id", "show_id", "issued_at", "revoke_reason"],
                          [(code, rid, show_id, now, "") for rid, code in zip(reg_ids, codes, strict=False)], ready=("issued_at",))
    executemany(Consent.__table__, ["person_id", "purpose", "granted", "at", "source"], consents,
                          ready=("at",))
    report.imported = len(regs)
    report.registration_ids = reg_ids
    if regs:
        audit("visitors.bulk_register", None, show_id=show.id, object_type="Show", object_id=show.id,
              after={"source": source, "registrations": len(regs), "unchanged": report.unchanged})
    return report


def announce(registration_ids: list[int], source: str) -> None:
    """Send ``visitor_registered`` for each registration (after the commit, so receivers see
    it). Costs nothing when no plugin listens; otherwise the registrations are loaded in
    chunks and sent one by one, as a single registration is."""
    if not registration_ids or not signals.visitor_registered.receivers:
        return
    for i in range(0, len(registration_ids), 1000):
        chunk = registration_ids[i:i + 1000]
        for reg in db.session.scalars(select(Registration).where(Registration.id.in_(chunk))
                                      .order_by(Registration.id)):
            signals.visitor_registered.send(reg, source=source)


def apply_rows(show, rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport:
    with transaction(dry_run=dry_run):
        report = bulk_register(show, rows, "import")
    if not dry_run:
        announce(report.registration_ids, "import")
    return report


# 20,000 rows per transaction: 100,000 rows in five commits (the upload page may pass it too).
BATCH_SIZE = 20000
importer = cli_importer("visitors", COLUMNS, apply_rows, batch_size=BATCH_SIZE)


# --- synthetic data ---------------------------------------------------------------------------
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "志强", "晓明", "海燕", "文博", "子涵", "雨桐", "浩然", "思远", "嘉怡",
         "俊杰", "欣怡", "宇航", "梓萱", "一鸣", "佳琪", "天宇", "婷婷"]
CITIES = [("上海", "Shanghai"), ("北京", "Beijing"), ("广州", "Guangzhou"), ("深圳", "Shenzhen"),
          ("杭州", "Hangzhou"), ("成都", "Chengdu"), ("武汉", "Wuhan"), ("南京", "Nanjing"), ("青岛", "Qingdao"),
          ("厦门", "Xiamen"), ("天津", "Tianjin"), ("西安", "Xi'an")]
WORDS = [("华", "Hua"), ("盛", "Sheng"), ("鑫", "Xin"), ("恒", "Heng"), ("泰", "Tai"), ("瑞", "Rui"), ("佳", "Jia"),
         ("宏", "Hong"), ("德", "De"), ("源", "Yuan"), ("信", "Xin"), ("达", "Da"), ("康", "Kang"), ("丰", "Feng")]
TRADES = [("食品", "Food"), ("酒业", "Wine"), ("贸易", "Trading"), ("进出口", "Import & Export"), ("餐饮管理", "Catering"),
          ("超市", "Supermarkets"), ("供应链", "Supply Chain"), ("酒店", "Hotels"), ("电子商务", "E-commerce")]
JOBS = ["采购经理", "总经理", "市场总监", "销售经理", "采购专员", "品类经理", "创始人", "运营总监", "买手", "质量经理"]
DOMAINS = ["example.com", "example.cn", "example.net", "mail.example.org"]
# Roughly a trade show's mix: mostly trade visitors, some public, a few media / VIP / staff.
CATEGORY_WEIGHTS = [("trade", 60), ("public", 25), ("vip", 3), ("media", 2), ("exhibitor_staff", 10)]


@functools.lru_cache(maxsize=4096)
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin
    return "".join(lazy_pinyin(text))


def generate(show, counts: dict, rng: random.Random) -> None:
    """counts["visitors"] registrations with bilingual names, companies, categories and a
    mix of consents; deterministic for a given rng; bulk inserts in batches."""
    n = int(counts.get("visitors") or 0)
    if n <= 0:
        return
    companies = []
    for _i in range(min(3000, max(1, n // 25))):
        (cz, ce), (w1z, w1e), (w2z, w2e), (tz, te) = (rng.choice(CITIES), rng.choice(WORDS), rng.choice(WORDS),
                                                       rng.choice(TRADES))
        companies.append(f"{cz}{w1z}{w2z}{tz}有限公司" if rng.random() < 0.85 else f"{ce} {w1e}{w2e.lower()} {te} Ltd.")
    cats = [c for c, _w in CATEGORY_WEIGHTS]
    weights = [w for _c, w in CATEGORY_WEIGHTS]
    offset = rng.randrange(10 ** 7)
    prefixes = ["130", "135", "138", "139", "150", "158", "186", "188", "199"]
    batch: list[tuple[int, dict]] = []
    taken: set[tuple[str, str]] = set()   # same name at the same company = the same person
    for i in range(n):
        while True:
            surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            zh = surname + given
            company = rng.choice(companies) if rng.random() < 0.9 else ""
            if (zh, company) not in taken or not company:
                taken.add((zh, company))
                break
        en = f"{_pinyin(given).capitalize()} {_pinyin(surname).capitalize()}"
        serial = (offset + i) % 10 ** 8
        row = {"name_zh": zh, "name_en": en,
               "email": f"{_pinyin(zh)}.{show.id}.{serial}@{rng.choice(DOMAINS)}",
               "phone": f"+86{rng.choice(prefixes)}{serial:08d}",
               "company": company,
               "job_title": rng.choice(JOBS), "category": rng.choices(cats, weights)[0],
               "consent_marketing": rng.random() < 0.6, "consent_share": rng.random() < 0.45}
        batch.append((i + 1, row))
        if len(batch) >= 5000:
            with transaction():
                report = bulk_register(show, batch, "generate")
            announce(report.registration_ids, "generate")
            batch = []
    if batch:
        with transaction():
            report = bulk_register(show, batch, "generate")
        announce(report.registration_ids, "generate")
