"""Pages of the suppliers plugin: staff pages (``staff``), the supplier's and the exhibitor's
portal pages (``portal``) and one order's page for every role (``orders``). ``bp`` serves
``/shows/<slug>/suppliers/…``, ``site_bp`` the portal homes at ``/suppliers/…``."""
from . import orders, portal, staff  # noqa: F401  (they add their routes to the blueprints)
from .common import bp, site_bp

__all__ = ["bp", "site_bp"]
