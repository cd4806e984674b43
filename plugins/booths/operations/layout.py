"""Halls and booths: the floor plan, adding, blocking, splitting and merging booths, importing
and generating them."""
from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, update

from crm_expo.database import is_sqlite, transaction, utcnow
from crm_expo.extensions import db
from crm_expo.models import Organization, Show, audit
from plugins.exhibitors.models import Exhibitor

from ..models import (
    ACTIVE_STATES,
    BOOTH_TYPES,
    Booking,
    Booth,
    DocumentCounter,
    Hall,
    PriceList,
    WaitlistEntry,
)
from .common import (
    BoothError,
    _active_booking,
    _announce_expired,
    _expire_stale_holds,
    booth_by_code,
)
from .pricing import (
    quote,
)
from .waitlist import (
    _announce_offers,
    _offer_to_waitlist,
)


def _cm(metres, what: str) -> int:
    if metres is None or str(metres).strip() == "":
        raise BoothError(_("%(what)s: give a number of metres.", what=what), "bad_value")
    try:
        value = round(float(metres) * 100)
    except (TypeError, ValueError) as exc:
        raise BoothError(_("%(what)s must be a number of metres, not %(value)s.", what=what, value=metres),
                         "bad_value") from exc
    return value


def get_or_create_hall(show: Show, code: str, *, name_zh: str = "", name_en: str = "",
                       width_m: float = 100, depth_m: float = 60) -> Hall:
    code = (code or "").strip().upper()
    if not code:
        raise BoothError(_("A hall needs a code."), "bad_value")
    hall = db.session.scalar(select(Hall).where(Hall.show_id == show.id, Hall.code == code))
    if hall is None:
        hall = Hall(show_id=show.id, code=code, name_zh=name_zh or code, name_en=name_en or code,
                    width_cm=_cm(width_m, _("Hall width")), depth_cm=_cm(depth_m, _("Hall depth")))
        db.session.add(hall)
        db.session.flush()
    return hall


def _lock_hall(hall_id: int) -> None:
    # Serialise layout changes of one hall on PostgreSQL (SQLite: BEGIN IMMEDIATE already does).
    if not is_sqlite():
        db.session.execute(select(Hall.id).where(Hall.id == hall_id).with_for_update())


def overlapping_booth(hall_id: int, x: int, y: int, w: int, d: int, exclude_ids=()) -> Booth | None:
    """The booth of the hall whose rectangle overlaps this one (touching edges are fine)."""
    stmt = select(Booth).where(Booth.hall_id == hall_id, Booth.x_cm < x + w, Booth.x_cm + Booth.width_cm > x,
                               Booth.y_cm < y + d, Booth.y_cm + Booth.depth_cm > y)
    if exclude_ids:
        stmt = stmt.where(Booth.id.not_in(list(exclude_ids)))
    return db.session.scalars(stmt.limit(1)).first()


def check_booth_fields(code: str, x_m, y_m, width_m, depth_m, type_: str, open_sides) -> dict:
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        raise BoothError(_("A booth needs a code of at most 16 characters."), "bad_value")
    if type_ not in BOOTH_TYPES:
        raise BoothError(_("Unknown booth type %(type)s (one of %(types)s).", type=type_,
                           types=", ".join(BOOTH_TYPES)), "bad_value")
    try:
        sides = int(open_sides)
    except (TypeError, ValueError):
        sides = 0
    if not 1 <= sides <= 4:
        raise BoothError(_("Open sides must be 1 to 4, not %(value)s.", value=open_sides), "bad_value")
    x, y = _cm(x_m, "x"), _cm(y_m, "y")
    w, d = _cm(width_m, _("Width")), _cm(depth_m, _("Depth"))
    if w <= 0 or d <= 0 or x < 0 or y < 0:
        raise BoothError(_("Booth %(code)s: size must be positive and position not negative.", code=code),
                         "bad_value")
    return dict(code=code, x_cm=x, y_cm=y, width_cm=w, depth_cm=d, type=type_, open_sides=sides)


def add_booth(show: Show, hall_code: str, code: str, x_m, y_m, width_m, depth_m, type_: str = "shell",
              open_sides=1, *, blocked: bool = False, user=None) -> Booth:
    fields = check_booth_fields(code, x_m, y_m, width_m, depth_m, type_, open_sides)
    with transaction():
        hall = get_or_create_hall(show, hall_code)
        _lock_hall(hall.id)
        booth = _insert_booth(show, hall, fields, blocked)
        audit("booth.create", booth, user=user, show_id=show.id, after=fields)
    return booth


def _insert_booth(show: Show, hall: Hall, fields: dict, blocked: bool = False) -> Booth:
    if db.session.scalar(select(Booth.id).where(Booth.show_id == show.id, Booth.code == fields["code"])):
        raise BoothError(_("Booth %(code)s exists already.", code=fields["code"]), "duplicate")
    other = overlapping_booth(hall.id, fields["x_cm"], fields["y_cm"], fields["width_cm"], fields["depth_cm"])
    if other is not None:
        raise BoothError(_("Booth %(code)s overlaps booth %(other)s.", code=fields["code"], other=other.code),
                         "overlap")
    booth = Booth(show_id=show.id, hall_id=hall.id, blocked=blocked, **fields)
    db.session.add(booth)
    _layout_changed(hall.id)
    db.session.flush()
    return booth


def _layout_changed(hall_id: int) -> None:
    # The floor plan's geometry cache is keyed by this stamp (see floorplan.py). Random rather
    # than +1: a database restored or recreated under a running process (ids start again)
    # can then never meet a drawing cached for another one.
    db.session.execute(update(Hall).where(Hall.id == hall_id).values(layout_version=secrets.randbits(31)))


def set_blocked(booth: Booth, blocked: bool, reason: str, user=None) -> Booth:
    """Block a booth (a pillar, a fire exit, kept for the organizer) or unblock it, with a
    reason for the audit log. An unblocked booth goes to the first in its waiting list."""
    reason = (reason or "").strip()
    if not reason:
        raise BoothError(_("Give a reason."), "reason_required")
    with transaction():
        stmt = select(Booth).where(Booth.id == booth.id).execution_options(populate_existing=True)
        booth = db.session.scalar(stmt if is_sqlite() else stmt.with_for_update())
        if booth.blocked == blocked:
            raise BoothError(_("Booth %(code)s is already blocked.", code=booth.code) if blocked else
                             _("Booth %(code)s is not blocked.", code=booth.code), "bad_transition", 409)
        if blocked:
            _announce_expired(_expire_stale_holds(Booking.booth_id == booth.id))
            if _active_booking(booth.id) is not None:
                raise BoothError(_("Booth %(code)s is booked; release it before blocking it.", code=booth.code),
                                 "booth_taken", 409)
        before = {"blocked": booth.blocked, "reason": booth.blocked_reason}
        booth.blocked = blocked
        booth.blocked_reason = reason[:500] if blocked else ""
        db.session.flush()
        if not blocked and _active_booking(booth.id) is None:
            _announce_offers([_offer_to_waitlist(booth)])
        audit("booth.block" if blocked else "booth.unblock", booth, user=user, show_id=booth.show_id,
              before=before, after={"blocked": blocked, "reason": reason})
    return booth


def _check_reshapable(booth: Booth) -> None:
    """Split and merge replace booths by new ones: refuse what would be lost with the old."""
    if _active_booking(booth.id) is not None:
        raise BoothError(_("Booth %(code)s is booked; release it first.", code=booth.code), "booth_taken", 409)
    if booth.blocked:
        raise BoothError(_("Booth %(code)s is blocked; unblock it first.", code=booth.code), "booth_blocked", 409)
    if db.session.scalar(select(Booking.id).where(Booking.booth_id == booth.id, Booking.contract_no.is_not(None))
                         .limit(1)):
        # Deleting the booth would delete its contracts and payments with it.
        raise BoothError(_("Booth %(code)s has contracts on record and cannot be reshaped.", code=booth.code),
                         "has_contracts", 409)
    waiting = db.session.scalar(select(func.count(WaitlistEntry.id)).where(WaitlistEntry.booth_id == booth.id,
                                                                           WaitlistEntry.status == "waiting"))
    if waiting:
        raise BoothError(_("Booth %(code)s has a waiting list (%(n)s waiting); take them off it first.",
                           n=waiting, code=booth.code), "has_waitlist", 409)


def _new_codes(*codes: str) -> list[str]:
    out = [(c or "").strip().upper() for c in codes]
    if any(not c or len(c) > 16 for c in out):
        raise BoothError(_("A booth needs a code of at most 16 characters."), "bad_value")
    if len(set(out)) != len(out):
        raise BoothError(_("The new booths need different codes."), "bad_value")
    return out


def split_booth(booth: Booth, at_m, *, codes: tuple[str, str], user=None) -> tuple[Booth, Booth]:
    """Split raw space across its width at ``at_m`` metres into two booths."""
    left_code, right_code = _new_codes(*codes)
    cut = _cm(at_m, _("Split position"))
    with transaction():
        booth = db.session.get(Booth, booth.id)
        if booth.type != "raw":
            raise BoothError(_("Only raw space can be split."), "not_raw")
        _check_reshapable(booth)
        if not 0 < cut < booth.width_cm:
            raise BoothError(_("The split must fall inside the booth (between 0 and %(w)s m).",
                               w=f"{booth.width_cm / 100:g}"), "bad_value")
        _lock_hall(booth.hall_id)
        hall, show = booth.hall, db.session.get(Show, booth.show_id)
        old = {"code": booth.code, "width_cm": booth.width_cm}
        geometry = (booth.x_cm, booth.y_cm, booth.width_cm, booth.depth_cm)
        db.session.delete(booth)
        db.session.flush()
        x, y, w, d = geometry
        left = _insert_booth(show, hall, dict(code=left_code, x_cm=x, y_cm=y, width_cm=cut,
                                              depth_cm=d, type="raw", open_sides=1))
        right = _insert_booth(show, hall, dict(code=right_code, x_cm=x + cut, y_cm=y,
                                               width_cm=w - cut, depth_cm=d, type="raw", open_sides=1))
        audit("booth.split", left, user=user, show_id=show.id, before=old, after={"codes": [left_code, right_code]})
    return left, right


def merge_booths(a: Booth, b: Booth, *, code: str, user=None) -> Booth:
    """Merge two adjacent raw-space booths of equal depth (side by side) into one."""
    (code,) = _new_codes(code)
    with transaction():
        a, b = db.session.get(Booth, a.id), db.session.get(Booth, b.id)
        if a.id == b.id:
            raise BoothError(_("Choose two different booths to merge."), "bad_value")
        if a.type != "raw" or b.type != "raw":
            raise BoothError(_("Only raw space can be merged."), "not_raw")
        if a.hall_id != b.hall_id:
            raise BoothError(_("Booths in different halls cannot be merged."), "bad_value")
        for booth in (a, b):
            _check_reshapable(booth)
        left, right = sorted((a, b), key=lambda x: x.x_cm)
        if not (left.y_cm == right.y_cm and left.depth_cm == right.depth_cm and
                left.x_cm + left.width_cm == right.x_cm):
            raise BoothError(_("Booths %(a)s and %(b)s are not side by side with equal depth.",
                               a=left.code, b=right.code), "bad_value")
        _lock_hall(a.hall_id)
        show, hall = db.session.get(Show, a.show_id), a.hall
        fields = dict(code=code, x_cm=left.x_cm, y_cm=left.y_cm,
                      width_cm=left.width_cm + right.width_cm, depth_cm=left.depth_cm, type="raw",
                      open_sides=max(left.open_sides, right.open_sides))
        before = {"codes": [left.code, right.code]}
        db.session.delete(left)
        db.session.delete(right)
        db.session.flush()
        merged = _insert_booth(show, hall, fields)
        audit("booth.merge", merged, user=user, show_id=show.id, before=before, after=fields)
    return merged


def booth_rows(show: Show, hall_id: int | None = None) -> list:
    """Every booth with its status and the exhibitor that has it — one query (floor plan, API).
    A hold past its time already counts as available here, before expire_holds() writes it."""
    return db.session.execute(_rows_stmt(show, hall_id, (Booth,))).all()


def booth_row(show: Show, booth_id: int):
    return db.session.execute(_rows_stmt(show, None, (Booth,)).where(Booth.id == booth_id)).first()


def plan_rows(show: Show, hall_id: int) -> list:
    """booth_rows for drawing: plain columns, no ORM objects (2,000 booths in a few ms)."""
    return db.session.execute(_rows_stmt(show, hall_id, (Booth.code, Booth.x_cm, Booth.y_cm, Booth.width_cm,
                                                          Booth.depth_cm))).all()


def plan_live(show: Show, hall_id: int) -> dict:
    """{booth id: (status, name_zh, name_en)} of the hall's taken or blocked booths — one
    query, run through the Core (no ORM rows): the floor plan's only per-render read."""
    stmt = (_rows_stmt(show, hall_id, (Booth.id,)).where(or_(Booth.blocked, Booking.id.is_not(None)))
            .order_by(None))
    return {r[0]: (r[1], r[4], r[5]) for r in db.session.connection().execute(stmt).all()}


def plan_geometry(hall_id: int) -> list:
    """(id, code, x, y, width, depth) of the hall's booths in drawing order (cached by the plan)."""
    return db.session.connection().execute(
        select(Booth.id, Booth.code, Booth.x_cm, Booth.y_cm, Booth.width_cm, Booth.depth_cm)
        .where(Booth.hall_id == hall_id).order_by(Booth.code)).all()


def hall_svg(show: Show, hall: Hall) -> str:
    from ..floorplan import hall_svg as draw
    # The version straight from the database, not from a Hall the session may hold stale.
    version = db.session.scalar(select(Hall.layout_version).where(Hall.id == hall.id))
    return draw(hall, version, plan_live(show, hall.id), lambda: plan_geometry(hall.id))


def _rows_stmt(show: Show, hall_id: int | None, booth_columns: tuple):
    now = utcnow()
    # Joined in the ON clause (not a subquery) so both databases use the booth_id index.
    live = and_(Booking.booth_id == Booth.id, Booking.status.in_(ACTIVE_STATES),
                or_(Booking.status != "held", Booking.held_until >= now))
    status = case((Booth.blocked, "blocked"), (Booking.status == "held", "held"),
                  (Booking.status == "reserved", "reserved"), (Booking.status.is_not(None), "sold"),
                  else_="available")
    stmt = (select(*booth_columns, status.label("status"), Booking.id.label("booking_id"), Booking.exhibitor_id,
                   Organization.name_zh, Organization.name_en)
            .select_from(Booth)
            .outerjoin(Booking, live)
            .outerjoin(Exhibitor, Exhibitor.id == Booking.exhibitor_id)
            .outerjoin(Organization, Organization.id == Exhibitor.organization_id)
            .where(Booth.show_id == show.id).order_by(Booth.code))
    if hall_id is not None:
        stmt = stmt.where(Booth.hall_id == hall_id)
    return stmt


def halls(show: Show) -> list[Hall]:
    return db.session.scalars(select(Hall).where(Hall.show_id == show.id).order_by(Hall.code)).all()


class _DryRun(Exception):
    """Raised to roll back a dry run of an import."""


def import_rows(show: Show, rows: list[tuple[int, dict]], dry_run: bool) -> dict:
    """apply_rows for `crm-expo import booths`: one transaction for the batch. A row whose
    booth overlaps a booth already there or an earlier row is rejected naming both; a
    booth already there with the same geometry counts as unchanged."""
    from crm_expo.imports import RowProblem
    imported = unchanged = 0
    problems = []
    try:
        with transaction():
            for rownum, v in rows:
                try:
                    fields = check_booth_fields(v.get("code", ""), v.get("x"), v.get("y"), v.get("width"), v.get("depth"),
                                                (v.get("type") or "shell"), v.get("open_sides") or 1)
                    existing = booth_by_code(show, fields["code"])
                    if existing is not None:
                        same = all(getattr(existing, k) == fields[k] for k in ("x_cm", "y_cm", "width_cm", "depth_cm",
                                                                                "type", "open_sides"))
                        if same and existing.hall.code == v["hall"].strip().upper():
                            unchanged += 1
                            continue
                        raise BoothError(_("Booth %(code)s exists already with another position or size.",
                                           code=fields["code"]), "duplicate")
                    hall = get_or_create_hall(show, v["hall"])
                    _lock_hall(hall.id)
                    with transaction(savepoint=True):
                        _insert_booth(show, hall, fields)
                    imported += 1
                except BoothError as exc:
                    problems.append(RowProblem(rownum, "", str(exc)))
            if imported:
                audit("booth.import", None, show_id=show.id, object_type="Show", object_id=show.id,
                      after={"imported": imported, "rows": len(rows)})
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass    # rolled back: the report says what would have been imported
    return {"imported": imported, "unchanged": unchanged, "problems": problems}


def generate(show: Show, counts: dict, rng) -> None:
    """counts['booths'] booths on a grid of halls (rows of 3 m × 3 m shell scheme booths, with
    corners and some raw space), a price list if none, and about 60 % of them booked to
    the show's exhibitors in various states. Bulk inserts; deterministic for a seed."""
    n = int(counts.get("booths") or 0)
    if n <= 0:
        return
    with transaction():
        per_hall, per_row = 400, 25
        hall_count = (n + per_hall - 1) // per_hall
        halls_made = []
        for h in range(hall_count):
            code = chr(ord("A") + h % 26) + (str(h // 26) if h >= 26 else "")
            halls_made.append(get_or_create_hall(show, code, width_m=per_row * 4 + 4, depth_m=(per_hall // per_row) * 4 + 4))
        existing = set(db.session.scalars(select(Booth.code).where(Booth.show_id == show.id)).all())
        booths = []
        for i in range(n):
            hall = halls_made[i // per_hall]
            k = i % per_hall
            r, c = divmod(k, per_row)
            code = f"{hall.code}{r + 1:02d}{c + 1:02d}"
            if code in existing:
                continue
            kind = "corner" if c in (0, per_row - 1) else ("raw" if rng.random() < 0.15 else "shell")
            booths.append({"show_id": show.id, "hall_id": hall.id, "code": code, "x_cm": 200 + c * 400,
                           "y_cm": 200 + r * 400, "width_cm": 300, "depth_cm": 300, "type": kind,
                           "open_sides": 2 if kind == "corner" else 1, "blocked": rng.random() < 0.02})
        if booths:
            db.session.execute(Booth.__table__.insert(), booths)
            for hall in halls_made:
                _layout_changed(hall.id)
        if db.session.scalar(select(PriceList.id).where(PriceList.show_id == show.id)) is None:
            db.session.add(PriceList(show_id=show.id, currency=show.currency, published_at=utcnow(), deposit_pct=30,
                                     rates={"shell": 150_000, "raw": 120_000, "corner": 160_000, "peninsula": 170_000,
                                            "island": 180_000}, corner_surcharge_pct=10, open_side_surcharge_pct=5,
                                     balance_due=(show.start or utcnow().date()) - dt.timedelta(days=30)))
        db.session.flush()
        exhibitors = db.session.scalars(select(Exhibitor.id).where(Exhibitor.show_id == show.id,
                                                                   Exhibitor.status.not_in(("rejected", "withdrawn")))
                                        .order_by(Exhibitor.id)).all()
        free = db.session.scalars(select(Booth).where(Booth.show_id == show.id, Booth.blocked.is_(False),
                                                      Booth.id.not_in(select(Booking.booth_id).where(
                                                          Booking.status.in_(ACTIVE_STATES))))
                                  .order_by(Booth.code)).all()
        rng.shuffle(free)
        pl = db.session.scalar(select(PriceList).where(PriceList.show_id == show.id))
        contract = db.session.scalar(select(DocumentCounter).where(DocumentCounter.show_id == show.id,
                                                                   DocumentCounter.kind == "contract"))
        if contract is None:
            contract = DocumentCounter(show_id=show.id, kind="contract", last_no=0)
            db.session.add(contract)
        bookings = []
        now = utcnow()
        for booth in free[: int(len(free) * 0.6)] if exhibitors else []:
            ex = rng.choice(exhibitors)
            q = quote(booth, now.date(), pl)
            status = rng.choices(("held", "reserved", "confirmed", "paid"), (1, 2, 3, 4))[0]
            price = q["total_minor"]
            deposit = price * pl.deposit_pct // 100
            paid = {"held": 0, "reserved": 0, "confirmed": deposit, "paid": price}[status]
            contract_no = None
            if status != "held":
                contract.last_no += 1
                contract_no = f"C-{contract.last_no:05d}"
            bookings.append({"show_id": show.id, "booth_id": booth.id, "exhibitor_id": ex, "status": status,
                             "held_until": now + dt.timedelta(days=3) if status == "held" else None,
                             "currency": q["currency"], "list_price_minor": price, "price_minor": price,
                             "price_breakdown": q, "paid_minor": paid, "deposit_minor": deposit,
                             "balance_due": pl.balance_due, "contract_no": contract_no, "created_at": now,
                             "updated_at": now, "exception_reason": "", "end_reason": ""})
        if bookings:
            db.session.execute(Booking.__table__.insert(), bookings)
