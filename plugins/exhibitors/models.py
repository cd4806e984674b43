"""Tables of the exhibitors plugin (every table name starts with 'exhibitors_')."""
from crm_expo.extensions import db  # noqa: F401
