"""Every signal of crm-expo, documented where it is defined.

Plugins talk to each other through these (and through the public ``operations`` of a plugin
they declare in ``requires``). Senders send *after* their transaction committed, so a
receiver always sees the data in the database: inside ``database.transaction()`` an
operation calls :func:`send_after_commit`, which holds the signal until the outermost commit
(and drops it on a rollback). The sender is the app-independent domain object named below;
keyword arguments are listed for each signal.
"""
from blinker import Namespace, Signal

_signals = Namespace()


def send_after_commit(signal: Signal, sender, **kwargs) -> None:
    """Send ``signal`` once the open ``database.transaction()`` has committed; at once when no
    transaction of the helper is open."""
    from .database import after_commit
    if not after_commit(signal, sender, kwargs):
        signal.send(sender, **kwargs)


# --- core -------------------------------------------------------------------------------
show_created = _signals.signal("show-created")
"""A show (edition) was created. Sender: the ``Show``."""

show_status_changed = _signals.signal("show-status-changed")
"""A show moved draft → open → live → closed. Sender: the ``Show``; kwargs ``old``, ``new``."""

persons_merged = _signals.signal("persons-merged")
"""Two Person records were merged into one. Sender: the surviving ``Person``;
kwargs ``merged_id`` (the id that no longer exists), ``user`` (who merged).
Receivers must move any row of theirs that still points at ``merged_id``."""

organizations_merged = _signals.signal("organizations-merged")
"""Two Organizations were merged. Sender: the surviving ``Organization``; kwargs
``merged_id``, ``user``. Receivers move their rows from ``merged_id`` to the survivor."""

# The organization page's customer history is the page hook ``customer.history``
# (crm_expo/hooks.py), no longer a signal.

mail_queued = _signals.signal("mail-queued")
"""Mails were written to the outbox (crm_expo.mail.queue_mail) and committed. Sender: None;
kwarg ``message_ids``. crm_expo.mail hands them to the job queue."""

# --- exhibitors ---------------------------------------------------------------------------
exhibitor_approved = _signals.signal("exhibitor-approved")
"""An exhibitor application was approved. Sender: the exhibitor record; kwarg ``user``."""

exhibitor_status_changed = _signals.signal("exhibitor-status-changed")
"""Any application transition. Sender: the exhibitor record; kwargs ``old``, ``new``, ``user``."""

# --- visitors -----------------------------------------------------------------------------
visitor_registered = _signals.signal("visitor-registered")
"""A visitor registration was created (self-registration, import, desk walk-in, API).
Sender: the registration; kwarg ``source``."""

badge_code_replaced = _signals.signal("badge-code-replaced")
"""A registration got a new badge code; the old one is revoked. Sender: the registration;
kwargs ``old_code``, ``reason``."""

# --- booths -------------------------------------------------------------------------------
booking_changed = _signals.signal("booking-changed")
"""A booth booking moved in its lifecycle (held, reserved, confirmed, paid, cancelled,
released, moved, expired). Sender: the booking; kwargs ``old``, ``new``, ``user``."""

booth_released = _signals.signal("booth-released")
"""A booth became available again (cancel, release, expiry, move). Sender: the booth."""

payment_recorded = _signals.signal("payment-recorded")
"""A payment was recorded against a booking. Sender: the payment."""

# --- onsite -------------------------------------------------------------------------------
visitor_checked_in = _signals.signal("visitor-checked-in")
"""A badge was admitted at a gate. Sender: the scan record; kwarg ``registration_id``."""

badge_printed = _signals.signal("badge-printed")
"""A badge was printed (first print or reprint). Sender: the print record."""

lead_captured = _signals.signal("lead-captured")
"""An exhibitor scanned a visitor at its booth (new lead or an update). Sender: the lead."""

service_request_opened = _signals.signal("service-request-opened")
"""The service centre logged a request / complaint / suggestion. Sender: the request."""

service_request_resolved = _signals.signal("service-request-resolved")
"""The responsible department or supplier resolved a request. Sender: the request."""

service_request_closed = _signals.signal("service-request-closed")
"""The customer was satisfied and the request closed. Sender: the request."""

service_request_reopened = _signals.signal("service-request-reopened")
"""The customer was not satisfied; the loop runs again. Sender: the request."""

service_order_placed = _signals.signal("service-order-placed")
"""An exhibitor ordered items from a supplier's catalogue. Sender: the order."""

# --- loyalty ------------------------------------------------------------------------------
segment_changed = _signals.signal("segment-changed")
"""A customer moved to another segment when the loyalty models were recomputed for a show.
Sender: the ``Show``; kwargs ``organization_id``, ``changes`` ({model: (old, new)}, old "" the
first time the customer was computed)."""
