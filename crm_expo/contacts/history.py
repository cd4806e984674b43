"""The customer history shown on the organization page: what every loaded plugin knows
about an organization (exhibitor applications, booths, orders, complaints …), collected
through the ``customer.history`` hook, so the core needs no plugin."""
from __future__ import annotations

from .. import hooks
from ..models import Organization


def customer_history(organization: Organization) -> list[dict]:
    """Every entry the loaded plugins know about this organization, newest show first. An
    entry: ``show`` (or None), ``kind``, ``label``, ``value`` and optionally ``url``."""
    entries = [entry for piece in hooks.values("customer.history", organization=organization) for entry in piece]
    return sorted(entries, key=lambda e: (-(getattr(e.get("show"), "id", 0) or 0), str(e.get("kind", ""))))
