"""Domain logic of the booths plugin: plain functions, no request object.

Booking lifecycle:  held ──reserve──▶ reserved ──confirm (deposit in)──▶ confirmed ──paid in full──▶ paid
                     │ (held_until passes) → expired;  held/reserved ──release──▶ released;
                     any active ──cancel──▶ cancelled;  any active ──move──▶ same booking, other booth.
Every change is one transaction, audited, and announced (signals) after the commit. The
database is the last word on "never sold twice" (partial unique index on active bookings);
the checks here only turn refusals into clear messages.

One module per subject; this package re-exports their public names, so other plugins and
tests keep writing ``from plugins.booths import operations as ops; ops.hold_booth(...)``."""
from crm_expo.database import utcnow

from ..models import Booking, Payment
from .bookings import (
    approve_price_exception,
    bookings_for_exhibitor,
    bookings_for_organization,
    cancel,
    confirm,
    exhibitor_of_organization,
    expire_holds,
    get_booking,
    hold_booth,
    is_overdue,
    move,
    next_number,
    offer_previous_booths,
    record_payment,
    release,
    request_price_exception,
    reserve,
)
from .common import DEFAULT_SETTINGS, PAYMENT_METHODS, BoothError, booking_json, booth_by_code
from .figures import customer_history, figures, price_deviations
from .layout import (
    add_booth,
    booth_row,
    booth_rows,
    check_booth_fields,
    generate,
    get_or_create_hall,
    hall_svg,
    halls,
    import_rows,
    merge_booths,
    overlapping_booth,
    plan_geometry,
    plan_live,
    plan_rows,
    set_blocked,
    split_booth,
)
from .pricing import (
    add_discount_rule,
    discount_rules,
    discount_rules_stmt,
    edit_discount_rule,
    price_list,
    publish_price_list,
    quote,
    retire_discount_rule,
    rule_applies,
    rule_bookings,
    rule_json,
)
from .waitlist import (
    OUTCOME_TITLES,
    WAITLIST_TITLES,
    get_waitlist_entry,
    join_waitlist,
    leave_waitlist,
    offer_outcome,
    previous_booth_code,
    priority_points,
    waitlist_history,
    waitlist_json,
    waitlist_queues,
    waitlist_stmt,
)

__all__ = ['Booking', 'BoothError', 'DEFAULT_SETTINGS', 'OUTCOME_TITLES', 'PAYMENT_METHODS', 'Payment', 'WAITLIST_TITLES', 'add_booth', 'add_discount_rule', 'approve_price_exception', 'booking_json', 'bookings_for_exhibitor', 'bookings_for_organization', 'booth_by_code', 'booth_row', 'booth_rows', 'cancel', 'check_booth_fields', 'confirm', 'customer_history', 'discount_rules', 'discount_rules_stmt', 'edit_discount_rule', 'exhibitor_of_organization', 'expire_holds', 'figures', 'generate', 'get_booking', 'get_or_create_hall', 'get_waitlist_entry', 'hall_svg', 'halls', 'hold_booth', 'import_rows', 'is_overdue', 'join_waitlist', 'leave_waitlist', 'merge_booths', 'move', 'next_number', 'offer_outcome', 'offer_previous_booths', 'overlapping_booth', 'plan_geometry', 'plan_live', 'plan_rows', 'previous_booth_code', 'price_deviations', 'price_list', 'priority_points', 'publish_price_list', 'quote', 'record_payment', 'release', 'request_price_exception', 'reserve', 'retire_discount_rule', 'rule_applies', 'rule_bookings', 'rule_json', 'set_blocked', 'split_booth', 'utcnow', 'waitlist_history', 'waitlist_json', 'waitlist_queues', 'waitlist_stmt']
