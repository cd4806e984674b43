"""Tables of the suppliers plugin (every table name starts with 'suppliers_')."""
from crm_expo.extensions import db  # noqa: F401
