"""Tables of the onsite plugin (every table name starts with 'onsite_')."""
from crm_expo.extensions import db  # noqa: F401
